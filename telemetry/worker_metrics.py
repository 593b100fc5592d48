"""The worker's Prometheus endpoint: the SDK's runtime telemetry, which serves the SDK's own
metrics (task slots, schedule-to-start latency, workflow task failures, the sticky cache)
and every counter the journeys and activities add through their metric meters.

ONBOARDING_METRICS_ADDRESS (`host:port`, e.g. `0.0.0.0:9464`) turns it on; unset, the
worker serves no metrics. Prometheus scrapes `http://<address>/metrics`."""

from __future__ import annotations

import os
from collections.abc import Mapping

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

ADDRESS_VARIABLE = "ONBOARDING_METRICS_ADDRESS"


def metrics_address(env: Mapping[str, str] = os.environ) -> str | None:
    """The `host:port` the worker serves its metrics on, or None (not configured)."""
    value = env.get(ADDRESS_VARIABLE, "").strip()
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{ADDRESS_VARIABLE} must be host:port (e.g. 0.0.0.0:9464), got {value!r}")
    return value


def prometheus_runtime(address: str) -> Runtime:
    """A runtime serving Prometheus on `address`: counters end in `_total`, durations are in
    seconds (the names the alert rules and the dashboard use, deploy/prometheus/)."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, counters_total_suffix=True, durations_as_seconds=True)
        )
    )


def worker_runtime(env: Mapping[str, str] = os.environ) -> Runtime | None:
    """The worker's runtime when ONBOARDING_METRICS_ADDRESS is set, else None (the SDK's default)."""
    address = metrics_address(env)
    return prometheus_runtime(address) if address else None
