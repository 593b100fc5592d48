"""Earlier journey versions, for tests of journeys in flight across a deploy.

Each is the current workflow with the later patches read as absent, exactly as a worker of
that version ran it: `workflow.patched()` is the only switch between versions, so a subclass
that answers it differently is that version (the SDK's own patch tests work the same way).
The replay corpus (tests/histories/v3, v3.2, v3.5, v3.6, v3.7, v3.8, v3.9, v3.10) proves the old paths still match what the old
code recorded. v1 and v2 are retired (docs/versioning.md): no stand-in starts a journey on them."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import JourneyInput, JourneyResult
    from contracts.playbook import Milestone
    from owners.workflow import OwnerRosterWorkflow, RosterInput
    from workflows import versions
    from workflows.onboarding import OnboardingWorkflow
    from workflows.steps import Steps
    from workflows.waits import Wake


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV31(OnboardingWorkflow):
    """v3.1: one `record_moment` per moment, every search attribute upserted at each transition."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (
            versions.FEWER_COMMANDS,
            versions.PLAYBOOK_UNAVAILABLE,
            versions.DUE_WHILE_HELD,
            versions.INPUT_BEFORE_KICKOFF,
            versions.ASSIGNEE_AND_CANCEL_REQUEST,
            versions.MOMENTS_BY_ACTIVITY,
            versions.COALESCE_IDENTICAL_HELP,
        )
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV32(OnboardingWorkflow):
    """v3.2: once a due time has passed, the follow-up that fell due comes before the
    customer's input waiting in the inbox. (Where that follow-up had to wait, the v3.2 worker
    spun without end: no history holds that path, and every worker now answers the input
    there first; see `Steps.overdue`.)"""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (
            versions.INBOX_BEFORE_DUE,
            versions.DUE_WHILE_HELD,
            versions.INPUT_BEFORE_KICKOFF,
            versions.ASSIGNEE_AND_CANCEL_REQUEST,
            versions.MOMENTS_BY_ACTIVITY,
            versions.COALESCE_IDENTICAL_HELP,
        )
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV34(OnboardingWorkflow):
    """v3.4: `NextActionDue` only moves at a transition, and says nothing new while a message
    waits for business hours or the cap, while paused, or as an escalation opens or moves up."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (
            versions.DUE_WHILE_HELD,
            versions.INPUT_BEFORE_KICKOFF,
            versions.ASSIGNEE_AND_CANCEL_REQUEST,
            versions.MOMENTS_BY_ACTIVITY,
            versions.COALESCE_IDENTICAL_HELP,
        )
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV35(OnboardingWorkflow):
    """v3.5: while the kickoff waits for the owner (`before_kickoff: true`) the journey hears
    only the owner and the customer's action; a failed attempt, a help request or an
    unsubscribe is answered after the kickoff."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (
            versions.INPUT_BEFORE_KICKOFF,
            versions.ASSIGNEE_AND_CANCEL_REQUEST,
            versions.MOMENTS_BY_ACTIVITY,
            versions.COALESCE_IDENTICAL_HELP,
        )
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV37(OnboardingWorkflow):
    """v3.7: a cancellation request (Temporal's own cancel) stops the workflow as Canceled,
    skipping the journey's close and its cleanup; no `OnboardingAssignee` is upserted."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (versions.ASSIGNEE_AND_CANCEL_REQUEST, versions.MOMENTS_BY_ACTIVITY, versions.COALESCE_IDENTICAL_HELP)
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV38(OnboardingWorkflow):
    """v3.8: a step's moments are written by a local activity (a marker in the history)."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        later = (versions.MOMENTS_BY_ACTIVITY, versions.COALESCE_IDENTICAL_HELP)
        return patch_id not in later and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV39(OnboardingWorkflow):
    """v3.9: every failed attempt gets its help email, the same one again included."""

    # what the v3.9 build knew (replay/corpus.py `known_patches`: a v3.10 marker is a rollback)
    known_patches = tuple(p for p in versions.ALL if p != versions.COALESCE_IDENTICAL_HELP)

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        return await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return patch_id != versions.COALESCE_IDENTICAL_HELP and workflow.patched(patch_id)


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflowV32Spinning(OnboardingWorkflowV32):
    """The v3.2 worker exactly, its spin included: an overdue follow-up always comes first,
    even where its wait gives way at once to the input waiting (a journey stuck on v3.2)."""

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        self.steps = SpinningSteps(self.journey, self.books, self.waiting)
        return await super().run(input)


class SpinningSteps(Steps):
    def overdue(self, m: Milestone) -> Wake:
        return Wake.due


@workflow.defn(name="OwnerRosterWorkflow")
class OwnerRosterWorkflowSharedQueue(OwnerRosterWorkflow):
    """The roster before it had a task queue of its own: it stays on the journeys' queue."""

    @workflow.run
    async def run(self, input: RosterInput) -> None:
        await super().run(input)

    def _patched(self, patch_id: str) -> bool:
        return False
