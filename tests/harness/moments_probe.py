"""A small workflow that records moments the way the journey does (workflows/moments.py):
two before a wait, one after it, then a new run that records one more."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.moments import MomentKind, Touchpoint
    from contracts.playbook import PlaybookSnapshot
    from workflows import moments


class ProbeInput(BaseModel):
    deal: DealClosed
    snapshot: PlaybookSnapshot
    run: int = 1


@workflow.defn(name="MomentsProbe")
class MomentsProbe:
    def __init__(self) -> None:
        self._acted = False

    @workflow.run
    async def run(self, probe: ProbeInput) -> int:
        def moment(kind: MomentKind, **fields):
            return moments.moment(kind, probe.deal, probe.snapshot, journey_version="probe", owner="maya", **fields)

        if probe.run == 1:
            await moments.record(moment(MomentKind.started))
            await moments.record(
                moment(MomentKind.told, milestone="first_action", touchpoint=Touchpoint.direction, occurrence=1)
            )
            await workflow.wait_condition(lambda: self._acted)
            await moments.record(
                moment(MomentKind.first_action, milestone="first_action", touchpoint=Touchpoint.direction)
            )
            workflow.continue_as_new(probe.model_copy(update={"run": 2}))
        await moments.record(moment(MomentKind.activated))
        return probe.run

    @workflow.signal
    def acted(self) -> None:
        self._acted = True
