"""Waiting, the one way the journey waits: for what the caller listens to, until a time,
always hearing the cancel and the server's suggestion to continue as new; an owner's
acknowledgement deadline falling inside any wait is dealt with on the way. And the
hand-over itself: continue-as-new with the state whole."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import JourneyInput
    from workflows import acknowledgement, effects
    from workflows.bookkeeping import Bookkeeping
    from workflows.run import HandOver, JourneyRun
    from workflows.waits import Wake, pending


class Waiting:
    def __init__(self, run: JourneyRun, books: Bookkeeping) -> None:
        self.run, self.books = run, books

    async def wait(
        self, listen: set[Wake] | frozenset[Wake], until: datetime | None = None, summary: str | None = None
    ) -> Wake:
        """Wait for what `listen` names until `until`. The cancel always ends the journey;
        the server's suggestion to continue as new hands over to a new run, and an owner's
        acknowledgement deadline falling inside the wait is dealt with on the way."""
        listen = frozenset(listen)
        await self.books.record_held_moments()  # nothing held across a wait that may last days
        self.books.refresh()  # staff see whom it waits on, by when, for as long as it waits
        while True:
            deadline, ack = until, self._acknowledgement_due()
            if ack is not None and (deadline is None or ack < deadline):
                deadline = ack
            try:
                await workflow.wait_condition(
                    lambda: self._woken(listen) is not None,
                    timeout=deadline - workflow.now() if deadline is not None else None,
                    timeout_summary=summary if deadline == until else "owner acknowledgement due",
                )
            except TimeoutError:
                if (due := self._acknowledgement_due()) is not None and due <= workflow.now():
                    await self._owner_silent()
                    continue
                if deadline == until:
                    self.run.woken_otherwise_at = workflow.now()
                    return Wake.due
                continue  # the owner acknowledged meanwhile: wait on for the rest
            self.run.raise_if_cancelled()
            wake = self._woken(listen)
            if wake is Wake.hand_over:
                raise HandOver()
            assert wake is not None
            if wake is not Wake.acted:
                self.run.woken_otherwise_at = workflow.now()
            return wake

    def _woken(self, listen: frozenset[Wake]) -> Wake | None:
        run = self.run
        if run.cancelled():
            return Wake.cancelled
        wake = pending(
            listen,
            run.inbox,
            run.state if run.started else None,
            run.milestone,
            rescheduled=run.rescheduled,
            decided=run.decision is not None,
            deal_known=run.deal is not None or run.crm is not None,
        )
        if wake is None and workflow.info().is_continue_as_new_suggested() and workflow.all_handlers_finished():
            return Wake.hand_over
        return wake

    def _acknowledgement_due(self) -> datetime | None:
        run = self.run
        if not run.started or run.state.acknowledgement is None:
            return None
        return run.state.acknowledgement.until

    async def _owner_silent(self) -> None:
        """The owner did not acknowledge in time: the next eligible owner takes over, and the
        customer is not told again (the kickoff named the team's contact)."""
        s, books = self.run.state, self.books
        silent, hours = s.owner.owner, self.run.playbook.acknowledgement().hours
        s.acknowledgement = None
        replacement = await effects.replace_owner(s.deal, workflow.now().date(), silent.id)
        if replacement is None:
            books.transition(s.state, acknowledgement.kept_reason(silent, hours), escalation_level=s.escalation_level)
            return
        s.owner = replacement
        s.assignments += 1
        await books.tell_manager_if_short()
        await books.owner_assigned(silent.id)
        reason = acknowledgement.replaced_reason(silent, replacement.owner, hours)
        books.transition(s.state, reason, escalation_level=s.escalation_level)

    def maybe_continue_as_new(self) -> None:
        """Between steps, hand the journey to a fresh run when history grows long."""
        every = self.run.input.continue_as_new_after
        if not (
            workflow.info().is_continue_as_new_suggested()
            or (every is not None and self.run.journal.transitions_this_run >= every)
        ):
            return
        if workflow.all_handlers_finished():  # else try again at the next step
            self.run.raise_if_cancelled()
            raise HandOver()

    async def continue_as_new(self) -> NoReturn:
        """Staff updates in flight finish first (new ones are refused meanwhile); a cancel
        that arrived by then ends the journey instead."""
        run = self.run
        run.handing_over = True
        await self.books.record_held_moments()
        await workflow.wait_condition(workflow.all_handlers_finished)
        run.raise_if_cancelled()
        every = run.input.continue_as_new_after
        if not run.started and run.hold is not None:  # no playbook yet: the deal and the hold go along
            workflow.continue_as_new(
                JourneyInput(
                    deal_id=run.input.deal_id,
                    deal=run.deal,
                    inbox=run.inbox,
                    held=run.hold,
                    continue_as_new_after=every,
                )
            )
        if not run.started:
            workflow.continue_as_new(
                JourneyInput(deal_id=run.input.deal_id, crm=run.crm, inbox=run.inbox, continue_as_new_after=every)
            )
        s = run.state
        s.runs += 1
        s.inbox = run.inbox
        workflow.continue_as_new(JourneyInput(deal_id=s.deal.deal_id, carried=s, continue_as_new_after=every))
