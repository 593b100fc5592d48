"""The activities the code under test schedules while it replays a history, in order, with
their summaries: the replayer's own error names the first event it cannot match, which for
an activity inserted before one of the same type is a later, unrelated event. Compared
with the history's scheduled activities, the first that differs is the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)


@dataclass(frozen=True)
class Scheduled:
    activity: str
    summary: str
    local: bool = False  # a local activity: a marker in the history, not a scheduled activity

    def __str__(self) -> str:
        return f"activity '{self.activity}'" + (f" ({self.summary})" if self.summary else "")


class CommandLog(Interceptor):
    """Collects what the replayed code schedules into `scheduled` (one history at a time)."""

    def __init__(self) -> None:
        self.scheduled: list[Scheduled] = []

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        sink = self.scheduled

        class _Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
                sink.append(Scheduled(str(input.activity), input.summary or ""))
                return super().start_activity(input)

            def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
                sink.append(Scheduled(str(input.activity), input.summary or "", local=True))
                return super().start_local_activity(input)

        class _Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_Outbound(outbound))

        return _Inbound
