"""Waiting, the one way the journey waits: for what the caller listens to, until a time,
always hearing the cancel and (v3) the server's suggestion to continue as new; an owner's
acknowledgement deadline falling inside any wait is dealt with on the way."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import JourneyInput
    from contracts.status import OnboardingState
    from workflows import acknowledgement, business_hours, effects
    from workflows.base import HandOver, JourneyBase
    from workflows.waits import Wake, pending


class Waiting(JourneyBase):
    async def _wait(
        self, listen: set[Wake] | frozenset[Wake], until: datetime | None = None, summary: str | None = None
    ) -> Wake:
        """Wait for what `listen` names until `until`. The cancel always ends the journey;
        on v3 the server's suggestion to continue as new hands over to a new run, and an
        owner's acknowledgement deadline falling inside the wait is dealt with on the way."""
        listen = frozenset(listen)
        await self._record_held_moments()  # nothing held across a wait that may last days
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
                    return Wake.due
                continue  # the owner acknowledged meanwhile: wait on for the rest
            self._raise_if_cancelled()
            wake = self._woken(listen)
            if wake is Wake.hand_over:
                raise HandOver()
            assert wake is not None
            return wake

    def _woken(self, listen: frozenset[Wake]) -> Wake | None:
        if self._inbox.cancel is not None:
            return Wake.cancelled
        wake = pending(
            listen,
            self._inbox,
            self._s,
            self._milestone,
            rescheduled=self._rescheduled,
            decided=self._decision is not None,
            deal_known=self._deal is not None or self._crm is not None,
        )
        if (
            wake is None
            and self._v3
            and workflow.info().is_continue_as_new_suggested()
            and workflow.all_handlers_finished()
        ):
            return Wake.hand_over
        return wake

    def _acknowledgement_due(self) -> datetime | None:
        s = self._s
        return s.acknowledgement.until if self._v3 and s is not None and s.acknowledgement is not None else None

    async def _owner_silent(self) -> None:
        """The owner did not acknowledge in time: the next eligible owner takes over, and the
        customer is not told again (the kickoff named the team's contact)."""
        s = self._state
        silent, hours = s.owner.owner, self._playbook.acknowledgement().hours
        s.acknowledgement = None
        replacement = await effects.replace_owner(s.deal, workflow.now().date(), silent.id)
        if replacement is None:
            self._transition(s.state, acknowledgement.kept_reason(silent, hours), escalation_level=s.escalation_level)
            return
        s.owner = replacement
        s.assignments += 1
        await self._tell_manager_if_short()
        await self._owner_assigned(silent.id)
        reason = acknowledgement.replaced_reason(silent, replacement.owner, hours)
        self._transition(s.state, reason, escalation_level=s.escalation_level)

    async def _acknowledgement_before_kickoff_v2(self) -> None:
        """v2: the owner confirms before the kickoff; silent past the deadline, the next
        eligible owner takes over and the kickoff goes out."""
        s, hours = self._state, self._playbook.owner_acknowledgement_hours
        if not hours:
            return
        first = s.owner.owner
        until = acknowledgement.deadline(workflow.now(), first.timezone, self._playbook.business_hours, hours)
        self._transition(OnboardingState.awaiting_action, acknowledgement.waiting_reason(first, until))
        try:
            await workflow.wait_condition(
                lambda: (
                    self._inbox.cancel is not None
                    or acknowledgement.acknowledged(self._inbox.acknowledged_by, s.owner.owner)
                ),
                timeout=until - workflow.now(),
                timeout_summary=f"wait for {first.name} to acknowledge until {business_hours.describe(until, first.timezone)}",
            )
        except TimeoutError:
            replacement = await effects.replace_owner(s.deal, workflow.now().date(), first.id)
            if replacement is None:
                self._transition(OnboardingState.awaiting_action, acknowledgement.kept_reason(first, hours))
            else:
                s.owner = replacement
                self._transition(
                    OnboardingState.awaiting_action, acknowledgement.replaced_reason(first, s.owner.owner, hours)
                )
            return
        self._raise_if_cancelled()
        self._transition(OnboardingState.awaiting_action, f"owner {s.owner.owner.name} acknowledged")

    def _maybe_continue_as_new(self) -> None:
        """Between steps, hand the journey to a fresh run when history grows long."""
        every = self._input.continue_as_new_after
        if not (
            workflow.info().is_continue_as_new_suggested()
            or (every is not None and self._journal.transitions_this_run >= every)
        ):
            return
        if workflow.all_handlers_finished():  # else try again at the next step
            self._raise_if_cancelled()
            raise HandOver()

    async def _continue_as_new(self) -> NoReturn:
        """Staff updates in flight finish first (new ones are refused meanwhile); a cancel
        that arrived by then ends the journey instead."""
        self._handing_over = True
        await self._record_held_moments()
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._raise_if_cancelled()
        s, every = self._s, self._input.continue_as_new_after
        if s is None and self._hold is not None:  # no playbook yet: the deal and the hold go along
            workflow.continue_as_new(
                JourneyInput(
                    deal_id=self._input.deal_id,
                    deal=self._deal,
                    inbox=self._inbox,
                    held=self._hold,
                    continue_as_new_after=every,
                )
            )
        if s is None:
            workflow.continue_as_new(
                JourneyInput(deal_id=self._input.deal_id, crm=self._crm, inbox=self._inbox, continue_as_new_after=every)
            )
        s.runs += 1
        s.inbox = self._inbox
        workflow.continue_as_new(JourneyInput(deal_id=s.deal.deal_id, carried=s, continue_as_new_after=every))
