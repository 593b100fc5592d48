"""Earlier journey versions, for tests of journeys in flight across a deploy.

Each is the current workflow with the later patches read as absent, exactly as a worker of
that version ran it: `workflow.patched()` is the only switch between versions, so a subclass
that answers it differently is that version (the SDK's own patch tests work the same way).
The replay corpus (tests/histories/v1, v2) proves the old paths still match what the old
code recorded."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import JourneyInput, JourneyResult
    from owners.workflow import OwnerRosterWorkflow, RosterInput
    from workflows import versions
    from workflows.onboarding import OnboardingWorkflow


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV1(OnboardingWorkflow):
    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return False


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV2(OnboardingWorkflow):
    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return patch_id not in (versions.V3, versions.PLAYBOOK_UNAVAILABLE) and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV31(OnboardingWorkflow):
    """v3.1: one `record_moment` per moment, every search attribute upserted at each transition."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return patch_id not in (versions.FEWER_COMMANDS, versions.PLAYBOOK_UNAVAILABLE) and workflow.patched(patch_id)


@workflow.defn(name="OwnerRosterWorkflow")
class OwnerRosterWorkflowSharedQueue(OwnerRosterWorkflow):
    """The roster before it had a task queue of its own: it stays on the journeys' queue."""

    @workflow.run
    async def run(self, input: RosterInput) -> None:
        await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return False
