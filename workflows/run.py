"""What every part of a journey's run shares: one `JourneyRun` (its input, the state, the
inbox, the journal, the deal, the versions, the staff decision in flight), and the words
for how a step ends. The parts (`waiting`, `steps`, `escalations`, `playbook_hold`,
`staff`, `bookkeeping`) each get the run, and each other only as they need them."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.journey import Inbox, JourneyInput, JourneyState, MilestoneProgress, PlaybookHold
    from contracts.owners import OwnerAssignment
    from contracts.playbook import Milestone, Playbook
    from contracts.staff import ResolveEscalation
    from contracts.status import OnboardingState
    from workflows import business_hours, cancellation, inbox
    from workflows.journal import Journal
    from workflows.versions import Versions


T = TypeVar("T")


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


class JourneyRun:
    """One run of a journey: what it was given and what it knows so far. `state` is the
    journey's `JourneyState` once it has started (a continued run: from the start), carried
    whole into the next run; before that, `started` is False."""

    def __init__(self, input: JourneyInput, versions: Versions) -> None:
        self.input = input
        self.versions = versions  # read again at the start of the run (`Versions.read`)
        self._state: JourneyState | None = input.carried
        self.deal: DealClosed | None = input.deal or (input.carried.deal if input.carried else None)
        self.crm = input.crm
        self.inbox = inbox.upgrade(input.carried.inbox if input.carried else input.inbox or Inbox(), workflow.now())
        self.journal = Journal(lambda: self.inbox)
        self.decision: StaffDecision | None = None  # a staff decision waiting to be applied
        self.staff_busy = ""  # the staff update being applied; the next one is refused meanwhile
        self.handing_over = False
        self.rescheduled = False  # staff moved the due time: the waiting timer is replaced
        self.hold: PlaybookHold | None = input.held  # v3.3: no playbook can run the journey yet
        self.hold_problem = ""
        # v3.6: this run waits for the owner's acknowledgement in the first milestone's loop,
        # answering the customer meanwhile (asked where the wait begins, in each run)
        self.owner_wait_in_loop = False
        # v3.7: when something other than the customer's action (a staff decision, a resume,
        # a due time, the owner...) last woke the journey: an action that arrived before it is
        # remembered, not one to reply to at once (`Waiting.wait` sets it)
        self.woken_otherwise_at: datetime | None = None
        # v3.8: why a journey closed before it really started (no state to hold the reason)
        self.closed_before_start: str | None = None

    @property
    def started(self) -> bool:
        return self._state is not None

    @property
    def state(self) -> JourneyState:
        assert self._state is not None, "the journey has not started"
        return self._state

    @state.setter
    def state(self, state: JourneyState) -> None:
        self._state = state

    @property
    def progress(self) -> MilestoneProgress:
        assert self.state.progress is not None
        return self.state.progress

    @property
    def playbook(self) -> Playbook:
        return self.state.playbook.playbook

    @property
    def milestone(self) -> Milestone | None:
        """The milestone under way (None before the start and after the last one)."""
        s = self._state
        if s is None or s.progress is None or s.progress.index >= len(s.playbook.playbook.milestones):
            return None
        return s.playbook.playbook.milestones[s.progress.index]

    def cancelled(self) -> bool:
        """The `cancel` signal arrived, or (v3.8) a cancellation request."""
        return self.inbox.cancel is not None or self.cancel_requested()

    def cancel_requested(self) -> bool:
        """v3.8: a cancellation request (workflows/cancellation.py) reached this run."""
        return self.versions.closes_on_cancel_request and cancellation.requested()

    async def whole(self, work: Awaitable[T]) -> T:
        """v3.8: `work` (taking an owner's place) runs to its end even when a cancellation
        request arrives meanwhile, so the place it takes is known and released when the
        journey closes; the journey hears the request at its next step. Before, the request
        stopped it midway."""
        if not self.versions.closes_on_cancel_request:
            return await work
        return await cancellation.shielded(work, then_raise=False)

    def raise_if_cancelled(self) -> None:
        if self.inbox.cancel is not None:
            raise JourneyClosed(f"cancelled: {self.inbox.cancel.reason}")
        if self.cancel_requested():
            raise JourneyClosed(cancellation.reason())

    def describe(self, moment: datetime) -> str:
        return business_hours.describe(moment, self.state.deal.account.timezone)
