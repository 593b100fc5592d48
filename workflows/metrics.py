"""The journey's domain counters, counted from workflow code through the SDK's workflow
meter (docs/operations.md "Metrics").

The workflow meter counts nothing while a journey replays its history (a worker restart,
an evicted journey coming back, a query on an uncached one), so a step is counted once,
when it happens. Counting adds no command: a journey's history is the same with or without
it. Labels are bounded sets: segment, playbook, kind, channel, trigger."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import metrics
    from contracts.messages import MessageRequest, SendReceipt
    from contracts.moments import MomentKind, MomentRequest

# the moments that are counted, and the counter each goes to
_BY_MOMENT = {
    MomentKind.started: metrics.JOURNEYS_STARTED,
    MomentKind.activated: metrics.JOURNEYS_ACTIVATED,
    MomentKind.closed: metrics.JOURNEYS_CLOSED,
    MomentKind.escalated: metrics.ESCALATIONS_OPENED,
}


def _add(metric: metrics.Metric, labels: dict[str, str]) -> None:
    workflow.metric_meter().create_counter(metric.name, metric.description, metric.unit).add(1, labels)


def moment(request: MomentRequest) -> None:
    """A started, activated or closed journey, an escalation opened: by segment and playbook."""
    metric = _BY_MOMENT.get(request.kind)
    if metric is None:
        return
    labels = {"segment": request.segment or "", "playbook": request.playbook or ""}
    if request.kind is MomentKind.escalated:
        labels["trigger"] = str(request.detail.get("trigger", ""))
    _add(metric, labels)


def message(request: MessageRequest, receipt: SendReceipt) -> None:
    outcome = "suppressed" if receipt.suppressed else "duplicate" if receipt.duplicate else "sent"
    _add(metrics.MESSAGES, {"kind": request.kind, "channel": receipt.channel, "outcome": outcome})


def escalation_moved_up(segment: str, playbook: str, level: int) -> None:
    _add(metrics.ESCALATIONS_MOVED_UP, {"segment": segment, "playbook": playbook, "level": str(level)})


def refused_input() -> None:
    _add(metrics.REFUSED_INPUTS, {})


def owner_over_capacity(segment: str, playbook: str) -> None:
    _add(metrics.OWNERS_OVER_CAPACITY, {"segment": segment, "playbook": playbook})
