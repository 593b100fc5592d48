"""Staff actions: decisions applied one at a time. Each update's validator refuses bad input
naming the field, or says why the action does not apply now; the handlers themselves
(`OnboardingWorkflow`) parse the request and hand it here."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.journey import JourneyState
    from contracts.staff import Decision, ExtendDeadline, Pause, ReassignOwner, ResolveEscalation, Resume
    from contracts.status import OnboardingState, Status
    from workflows import decisions, effects
    from workflows.bookkeeping import Bookkeeping
    from workflows.run import ENDED, JourneyRun, StaffDecision

NOT_APPLIED = "not applied: the escalation ended before the decision (see the timeline)"


class Staff:
    def __init__(self, run: JourneyRun, books: Bookkeeping) -> None:
        self.run, self.books = run, books

    async def resolve(self, resolution: ResolveEscalation) -> Status:
        """Handed to the journey (`run.decision`), which applies it where it waits; answers
        once the journey shows it. Before the start no playbook can run it (retry or close)."""
        run = self.run
        run.staff_busy = "resolve_escalation"
        try:
            owner = None
            if run.started and resolution.decision is Decision.reassign:
                escalation = run.state.escalations  # the escalation this decision is about
                assert resolution.owner
                owner = await effects.choose_owner(run.state.deal, workflow.now().date(), resolution.owner)
                # The escalation may have ended while the roster answered (the customer acted, a cancel).
                if run.state.escalations != escalation or run.state.state is not OnboardingState.escalated:
                    raise ApplicationError(NOT_APPLIED, non_retryable=True)
            decision = run.decision = StaffDecision(resolution, owner)
            await workflow.wait_condition(lambda: decision.settled)
        finally:
            run.staff_busy = ""
        if not decision.applied:
            raise ApplicationError(NOT_APPLIED, non_retryable=True)
        return self.books.status()

    def validate_resolution(self, resolution: ResolveEscalation) -> None:
        run = self.run
        if not run.started and (hold := run.hold) is not None:
            self._require_free("resolve_escalation")
            if hold.state is not OnboardingState.escalated:
                raise ValueError(f"nothing is escalated: the journey is {hold.state.value}")
            if resolution.decision not in (Decision.retry, Decision.close):
                raise ValueError(
                    f"decision: {resolution.decision.value!r} does not apply: no playbook can run this journey "
                    f"yet ({hold.problem}); fix the playbooks and decide 'retry', or 'close'"
                )
            return
        s = self.require_active("resolve_escalation")
        if s.state is not OnboardingState.escalated:
            raise ValueError(f"nothing is escalated: the journey is {s.state.value}")

    async def reassign(self, change: ReassignOwner) -> Status:
        run, books = self.run, self.books
        run.staff_busy = "reassign_owner"
        try:
            s = run.state
            previous, s.owner = (
                s.owner.owner.id,
                await effects.choose_owner(s.deal, workflow.now().date(), change.owner),
            )
            s.assignments += 1
            s.acknowledgement = None
            await books.tell_manager_if_short()
            await books.owner_assigned(previous)
            books.transition(
                s.state, f"owner reassigned to {s.owner.owner.name} by {change.by}", escalation_level=s.escalation_level
            )
        finally:
            run.staff_busy = ""
        return books.status()

    def validate_reassign(self, change: ReassignOwner) -> None:
        if change.owner == self.require_active("reassign_owner").owner.owner.id:
            raise ValueError(f"owner: {change.owner!r} already owns this journey")

    def extend(self, change: ExtendDeadline) -> Status:
        run = self.run
        run.progress.due_at = change.until
        run.rescheduled = True  # the waiting timer is replaced, not stacked
        self.books.transition(run.state.state, f"due time moved to {run.describe(change.until)} by {change.by}")
        return self.books.status()

    def validate_extend(self, change: ExtendDeadline) -> None:
        s = self.require_active("extend_deadline")
        if problem := decisions.extension_problem(s, change.until, workflow.now()):
            raise ValueError(problem)

    def pause(self, change: Pause) -> Status:
        self.run.state.pause, self.run.state.paused_at = change, workflow.now()
        self.run.journal.note("pause", f"paused by {change.by}" + (f": {change.reason}" if change.reason else ""))
        return self.books.status()

    def validate_pause(self) -> None:
        s = self.require_active("pause")
        if s.pause is not None:
            raise ValueError(f"pause: already paused by {s.pause.by}")
        if s.state is OnboardingState.escalated:
            raise ValueError("pause: the journey is escalated; resolve the escalation instead")

    def resume(self, change: Resume) -> Status:
        self.run.state.pause, self.run.state.paused_at = None, None
        self.run.journal.note("resume", f"resumed by {change.by}" + (f": {change.note}" if change.note else ""))
        return self.books.status()

    def validate_resume(self) -> None:
        if self.require_active("resume").pause is None:
            raise ValueError("resume: the journey is not paused")

    def require_active(self, action: str) -> JourneyState:
        """What every staff action needs: a journey under way, and no other staff action
        in flight (decisions are applied one at a time)."""
        run = self.run
        if not run.started and run.hold is not None and run.hold.state is OnboardingState.escalated:
            raise ValueError(
                f"{action}: no playbook can run this journey yet ({run.hold.problem}); "
                "resolve_escalation: 'retry' once one can, or 'close'"
            )
        if not run.started:
            raise ValueError(f"{action}: the journey is still starting")
        s = run.state
        if s.state in ENDED or run.cancelled():
            raise ValueError(f"{action}: the journey is {'closing' if s.state not in ENDED else s.state.value}")
        self._require_free(action)
        return s

    def _require_free(self, action: str) -> None:
        """No other staff action in flight, no cancel, no hand-over under way."""
        run = self.run
        if run.cancelled():
            raise ValueError(f"{action}: the journey is closing")
        if run.staff_busy or run.decision is not None:
            raise ValueError(
                f"{action}: another staff action ({run.staff_busy or 'resolve_escalation'}) is being applied; try again"
            )
        if run.handing_over:
            raise ValueError(f"{action}: the journey is moving to a new run; try again in a moment")
