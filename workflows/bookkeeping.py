"""The run's bookkeeping: transitions (the journal: timeline, search attributes, current
details, log line), the status staff query, the business moments, and what an owner
assignment tells the records and the manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import PlaybookHold
    from contracts.moments import MOMENTS_PER_CALL, MomentKind, MomentRequest, Touchpoint
    from contracts.status import OnboardingState, Status
    from workflows import awaiting, cancellation, effects, moments, staffing
    from workflows import metrics as journey_metrics
    from workflows import status as report
    from workflows.details import hold_details
    from workflows.run import JourneyRun
    from workflows.search_attributes import changed, hold_search_attributes, journey_search_attributes

JOURNEY_VERSION = "v3"


class Bookkeeping:
    def __init__(self, run: JourneyRun) -> None:
        self.run = run
        self._held_moments: list[MomentRequest] = []

    def status(self) -> Status:
        run = self.run
        if not run.started and run.hold is not None:
            return report.held_status(run.input.deal_id, run.hold, run.inbox)
        if not run.started:
            return report.starting_status(
                run.input.deal_id, run.deal is not None, run.inbox, workflow.now(), run.closed_before_start
            )
        return report.status(run.state, run.milestone, run.inbox, workflow.now())

    def due_shown(self) -> datetime | None:
        """The `NextActionDue` a started journey upserts: the due time of whom it waits on
        (workflows/awaiting.py). A run of a journey recorded before v3.5 keeps upserting
        what it did then; the patch is asked only where the two differ."""
        run = self.run
        s, m = run.state, run.milestone
        due, before = awaiting.awaiting(s, m, workflow.now()).due, awaiting.due_before_v3_5(s, m)
        return due if due == before or run.versions.due_while_held() else before

    def assignee_shown(self) -> str | None:
        """The `OnboardingAssignee` a started journey upserts (v3.8, workflows/awaiting.py;
        "" once it has ended); None on a run before v3.8."""
        run = self.run
        if not run.versions.upserts_assignee:
            return None
        return awaiting.assignee(run.state, run.milestone) or ""

    def refresh(self) -> None:
        """Before every wait, what the journey waits on now, wherever staff look: the
        current details, and (v3.5) the search attributes when they have moved without a
        transition (a message held for business hours or the cap, an escalation just
        opened or moved up)."""
        run = self.run
        if not run.started:
            if run.hold is not None and run.deal is not None:  # a continued run shows its hold from the start
                workflow.set_current_details(hold_details(run.deal, run.hold, self.status()))
            return
        s, m = run.state, run.milestone
        current = workflow.info().typed_search_attributes
        updates = changed(journey_search_attributes(s, m, self.due_shown(), self.assignee_shown()), current)
        if updates and run.versions.due_while_held():
            workflow.upsert_search_attributes(updates)
        run.journal.show(s, m, self.status())

    def transition(self, state: OnboardingState, reason: str, *, escalation_level: int = 0) -> None:
        run = self.run
        if not run.started and run.hold is not None:
            self._hold_transition(run.hold, state, reason)
            return
        if not run.started:  # closed before the journey really started
            run.journal.note(state.value, reason)
            return
        run.journal.transition(
            run.state,
            run.milestone,
            self.status,
            self.due_shown,
            state,
            reason,
            escalation_level=escalation_level,
            assignee=self.assignee_shown,
        )

    def show(self) -> None:
        """The current details again (after a refused input: staff see it where they look)."""
        if self.run.started:
            self.run.journal.show(self.run.state, self.run.milestone, self.status())

    def _hold_transition(self, hold: PlaybookHold, state: OnboardingState, reason: str) -> None:
        """A transition (timeline, search attributes, current details, log line) of a journey
        no playbook can run yet, so without a JourneyState (workflows/playbook_hold.py)."""
        deal, journal = self.run.deal, self.run.journal
        assert deal is not None
        hold.state, hold.reason = state, reason
        journal.note(state.value, reason)
        status = self.status()
        assignee = (awaiting.hold_assignee_id(hold) or "") if self.run.versions.upserts_assignee else None
        updates = hold_search_attributes(deal, hold, status, assignee)
        if journal.upsert_changes_only:
            updates = changed(updates, workflow.info().typed_search_attributes)
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(hold_details(deal, hold, status))
        workflow.logger.info(
            "journey transition",
            extra={"state": state.value, "stage": "", "escalation_level": status.escalation_level, "playbook": "none"},
        )

    async def moment(
        self,
        kind: MomentKind,
        *,
        milestone: str | None = None,
        touchpoint: str | None = None,
        occurrence: int | str | None = None,
        detail: dict[str, Any] | None = None,
        held: bool = False,
    ) -> None:
        """Record a business moment (docs/records.md) for the friction report. On v3.2 a
        `held` moment waits for the step's next one (or its next wait, or the run's end) and
        they are written by one activity (local before v3.9)."""
        if not self.run.started:
            return
        s = self.run.state
        request = moments.moment(
            kind,
            s.deal,
            s.playbook,
            journey_version=JOURNEY_VERSION,
            owner=s.owner.owner.id,
            milestone=milestone,
            touchpoint=Touchpoint(touchpoint) if touchpoint else None,
            occurrence=occurrence,
            variant=s.playbook.variant,
            detail=detail,
        )
        journey_metrics.moment(request)
        if not self.run.versions.fewer_commands:
            await moments.record(request)
            return
        self._held_moments.append(request)
        # A full batch goes at once: one call takes at most MOMENTS_PER_CALL (a batch of up to
        # that many is written exactly as before, so recorded histories replay unchanged).
        if not held or len(self._held_moments) >= MOMENTS_PER_CALL:
            await self.record_held_moments()

    async def record_held_moments(self) -> None:
        """Write the moments held so far (before any wait, hand-over or end: none is lost)."""
        if self._held_moments:
            batch, self._held_moments = self._held_moments, []
            by_activity = self.run.versions.moments_by_activity
            if self.run.versions.closes_on_cancel_request:  # v3.8: a cancellation request loses none
                await cancellation.shielded(moments.record_all(batch, by_activity=by_activity))
            else:
                await moments.record_all(batch, by_activity=by_activity)

    async def tell_manager_if_short(self) -> None:
        """An owner who took the journey over capacity: the manager gets a task to rebalance
        (keyed by the owner, so a retry or replay never tells twice)."""
        s = self.run.state
        if not s.owner.over_capacity:
            return
        journey_metrics.owner_over_capacity(s.deal.segment, self.run.playbook.name)
        milestone = s.progress.key if s.progress else ""
        task = staffing.manager_task(
            workflow.info().workflow_id, s.deal, milestone, s.owner, self.run.playbook.channels.owner
        )
        if task is not None:
            await effects.create_task(task)

    async def owner_assigned(self, previous: str | None, *, held: bool = False) -> None:
        s = self.run.state
        detail = {"over_capacity": s.owner.over_capacity, "unstaffed": bool(s.owner.unstaffed), "previous": previous}
        await self.moment(MomentKind.owner_assigned, occurrence=s.assignments, detail=detail, held=held)
