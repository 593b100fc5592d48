"""What every part of the journey shares: its state, the words for how a step ends, and
the bookkeeping (transitions, versions, the cancel). The journey is one workflow class
assembled from small parts (`waiting`, `escalation`, `handlers`, `onboarding`), each a
mixin over this base, so each concept reads on its own."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.journey import Inbox, JourneyInput, JourneyState, MilestoneProgress, PlaybookHold
    from contracts.moments import MOMENTS_PER_CALL, MomentKind, MomentRequest, Touchpoint
    from contracts.owners import OwnerAssignment
    from contracts.playbook import Milestone, Playbook
    from contracts.staff import ResolveEscalation
    from contracts.status import OnboardingState, Status
    from workflows import business_hours, effects, moments, staffing
    from workflows import status as report
    from workflows.details import hold_details
    from workflows.journal import Journal
    from workflows.search_attributes import changed, hold_search_attributes


class Outcome(str, Enum):
    """How a milestone ends."""

    completed = "completed"
    skipped = "skipped"


class JourneyClosed(Exception):
    """Ends the journey at once (cancel, or an escalation closed by staff)."""


class HandOver(Exception):
    """Continue as new: the state is whole, the next run picks up where this one waits."""


class StaffDecision:
    """A resolution accepted by `resolve_escalation`, waiting for the journey to apply it."""

    def __init__(self, resolution: ResolveEscalation, owner: OwnerAssignment | None) -> None:
        self.resolution, self.owner = resolution, owner
        self.applied = self.settled = False


ENDED = (OnboardingState.activated, OnboardingState.closed)
JOURNEY_VERSION = "v3"


class JourneyBase:
    _input: JourneyInput
    _s: JourneyState | None
    _deal: DealClosed | None
    _crm: str | None
    _inbox: Inbox
    _journal: Journal
    _v3: bool
    _decision: StaffDecision | None
    _staff_busy: str  # the staff update being applied; the next one is refused meanwhile
    _handing_over: bool
    _rescheduled: bool
    _fewer_commands: bool  # v3.2: moments held and written per step, upserts only of changes
    _held_moments: list[MomentRequest]
    _hold: PlaybookHold | None  # v3.3: no playbook can run the journey yet (workflows/playbook_hold.py)
    _hold_problem: str

    async def _moment(
        self,
        kind: MomentKind,
        *,
        milestone: str | None = None,
        touchpoint: str | None = None,
        occurrence: int | str | None = None,
        detail: dict[str, Any] | None = None,
        held: bool = False,
    ) -> None:
        """Record a business moment (docs/records.md) for the friction report; v3 journeys only.
        On v3.2 a `held` moment waits for the step's next one (or its next wait, or the run's
        end) and they are written by one local activity."""
        s = self._s
        if not self._v3 or s is None:
            return
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
        if not self._fewer_commands:
            await moments.record(request)
            return
        self._held_moments.append(request)
        # A full batch goes at once: one call takes at most MOMENTS_PER_CALL (a batch of up to
        # that many is written exactly as before, so recorded histories replay unchanged).
        if not held or len(self._held_moments) >= MOMENTS_PER_CALL:
            await self._record_held_moments()

    async def _record_held_moments(self) -> None:
        """Write the moments held so far (before any wait, hand-over or end: none is lost)."""
        if self._held_moments:
            batch, self._held_moments = self._held_moments, []
            await moments.record_all(batch)

    async def _tell_manager_if_short(self) -> None:
        """An owner who took the journey over capacity: the manager gets a task to rebalance
        (keyed by the owner, so a retry or replay never tells twice)."""
        s = self._state
        if not s.owner.over_capacity:
            return
        milestone = s.progress.key if s.progress else ""
        task = staffing.manager_task(
            workflow.info().workflow_id, s.deal, milestone, s.owner, self._playbook.channels.owner
        )
        if task is not None:
            await effects.create_task(task)

    async def _owner_assigned(self, previous: str | None, *, held: bool = False) -> None:
        s = self._state
        detail = {"over_capacity": s.owner.over_capacity, "unstaffed": bool(s.owner.unstaffed), "previous": previous}
        await self._moment(MomentKind.owner_assigned, occurrence=s.assignments, detail=detail, held=held)

    def _current_status(self) -> Status:
        s = self._s
        if s is None and self._hold is not None:
            return report.held_status(self._input.deal_id, self._hold, self._inbox)
        if s is None:
            return report.starting_status(self._input.deal_id, self._deal is not None, self._inbox)
        return report.status(s, self._milestone, self._inbox)

    def _transition(self, state: OnboardingState, reason: str, *, escalation_level: int = 0) -> None:
        if self._s is None and self._hold is not None:
            self._hold_transition(self._hold, state, reason)
            return
        if self._s is None:  # closed before the journey really started
            self._journal.note(state.value, reason)
            return
        self._journal.transition(
            self._s, self._milestone, self._current_status, state, reason, escalation_level=escalation_level
        )

    def _hold_transition(self, hold: PlaybookHold, state: OnboardingState, reason: str) -> None:
        """A transition (timeline, search attributes, current details, log line) of a journey
        no playbook can run yet, so without a JourneyState (workflows/playbook_hold.py)."""
        deal = self._deal
        assert deal is not None
        hold.state, hold.reason = state, reason
        self._journal.note(state.value, reason)
        status = self._current_status()
        updates = hold_search_attributes(deal, hold, status)
        if self._journal.upsert_changes_only:
            updates = changed(updates, workflow.info().typed_search_attributes)
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(hold_details(deal, hold, status))
        workflow.logger.info(
            "journey transition",
            extra={"state": state.value, "stage": "", "escalation_level": status.escalation_level, "playbook": "none"},
        )

    def _patched(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)

    def _raise_if_cancelled(self) -> None:
        if self._inbox.cancel is not None:
            raise JourneyClosed(f"cancelled: {self._inbox.cancel.reason}")

    def _describe(self, moment: datetime) -> str:
        return business_hours.describe(moment, self._state.deal.account.timezone)

    @property
    def _state(self) -> JourneyState:
        assert self._s is not None
        return self._s

    @property
    def _progress(self) -> MilestoneProgress:
        assert self._state.progress is not None
        return self._state.progress

    @property
    def _playbook(self) -> Playbook:
        return self._state.playbook.playbook

    @property
    def _milestone(self) -> Milestone | None:
        s = self._s
        if s is None or s.progress is None or s.progress.index >= len(self._playbook.milestones):
            return None
        return self._playbook.milestones[s.progress.index]
