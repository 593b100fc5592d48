"""The activities' counters, through the SDK's activity meter (so they are served with the
worker's metrics, docs/operations.md "Metrics"): send latency and failures by channel,
the exactly-once ledger's outcomes. Called outside an activity (a script, a test calling a
method directly), they count nothing."""

from __future__ import annotations

from temporalio import activity
from temporalio.common import MetricMeter

from contracts import metrics


def _meter() -> MetricMeter:
    return activity.metric_meter() if activity.in_activity() else MetricMeter.noop


def ledger_outcome(outcome: str, channel: str) -> None:
    """`outcome`: claimed, resent_after_unknown, already_sent, busy, suppressed, sent,
    failed, outcome_unknown (docs/records.md for what each means)."""
    m = metrics.LEDGER_OUTCOMES
    _meter().create_counter(m.name, m.description).add(1, {"outcome": outcome, "channel": channel})


def send_latency(channel: str, seconds: float) -> None:
    m = metrics.SEND_LATENCY
    _meter().create_histogram_float(m.name, m.description, m.unit).record(seconds, {"channel": channel})


def send_failed(channel: str, outcome: str) -> None:
    """`outcome`: failed (the channel refused it) or outcome_unknown (it may have gone out)."""
    m = metrics.SEND_FAILURES
    _meter().create_counter(m.name, m.description).add(1, {"channel": channel, "outcome": outcome})
