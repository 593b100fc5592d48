"""The one client connection of the worker and the command-line tools.

Where: the SDK's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles),
`localhost:7233` when nothing says otherwise, and what a command line gives (`--address`,
`--namespace`) over both. Every payload goes through the deployment's converter: pydantic
JSON and the encryption codec (privacy.keys: ONBOARDING_CODEC_KEYS), checked before connecting."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Interceptor
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from privacy.converter import data_converter
from runtime.arguments import DEFAULT_ADDRESS


async def connect(
    address: str | None = None,
    namespace: str | None = None,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """`runtime`: the worker's, serving its metrics (telemetry/worker_metrics.py); `interceptors`:
    its tracing (telemetry/tracing.py). A worker built on the client uses both."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return await Client.connect(**config, data_converter=data_converter(), runtime=runtime, interceptors=interceptors)
