"""OnboardingWorkflow: one durable journey per closed deal.

Reads top to bottom like the product: assign one owner, tell the customer the ONE first
action, wait on what they do. Action taken: advance. Not taken: clarify, simplify,
redirect. Stuck, failing or asking for help: escalate to a human, who resolves it.

Decisions are pure functions (`decisions`, `waits`, `inbox`), effects are activities
(`effects`), what staff see is the `journal`. All state lives in one `JourneyState`
carried whole into the next run; handlers only record what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import NoReturn

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from playbooks.schema import Action, FollowUp, MessageTemplate, Milestone, Playbook
    from workflows import acknowledgement, business_hours, decisions, effects, inbox, messages, versions
    from workflows import status as report
    from workflows.inputs import Refused, parse
    from workflows.journal import Journal
    from workflows.models import (
        AcknowledgementWait,
        ActionFailed,
        ActionTaken,
        Cancel,
        DealClosed,
        DealInCrm,
        Decision,
        ExtendDeadline,
        HelpRequested,
        Inbox,
        JourneyInput,
        JourneyResult,
        JourneyState,
        MilestoneOutcome,
        MilestoneProgress,
        OnboardingState,
        OpenEscalation,
        OwnerAcknowledged,
        OwnerAssignment,
        Pause,
        ReassignOwner,
        ResolveEscalation,
        Resume,
        Status,
    )
    from workflows.waits import CUSTOMER, Wake, pending


class Outcome(str, Enum):
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


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflow:
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self._input = input
        self._s: JourneyState | None = input.carried
        self._deal: DealClosed | None = input.deal or (input.carried.deal if input.carried else None)
        self._crm = input.crm
        self._inbox = inbox.upgrade(input.carried.inbox if input.carried else input.inbox or Inbox(), workflow.now())
        self._journal = Journal(lambda: self._inbox)
        self._v3 = False
        self._decision: StaffDecision | None = None
        self._staff_busy = ""  # the staff update being applied; the next one is refused meanwhile
        self._handing_over = False
        self._rescheduled = False

    # ------------------------------------------------------------------ the journey

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        self._v3 = self._patched(versions.V3)
        try:
            try:
                if self._s is None:
                    await self._start()
                elif self._owner_before_kickoff():  # this run took over while the kickoff waited for the owner
                    await self._await_owner()
                milestones = self._playbook.milestones
                while (index := self._progress.index) < len(milestones):
                    outcome = await self._run_milestone(milestones[index])
                    self._finish_milestone(milestones, outcome)
                self._transition(OnboardingState.activated, "every milestone is done")
            except HandOver:
                await self._continue_as_new()
        except JourneyClosed as closed:
            self._transition(OnboardingState.closed, str(closed))
        self._drop_decision("the journey ended")
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._v3 and self._s is not None:
            await effects.release_owner(self._s.deal, self._s.owner.owner.id)
        return self._result()

    async def _start(self) -> None:
        """Deal details, playbook snapshot, one owner."""
        if self._deal is None and self._crm is None:
            # Started by an early product event: wait for the deal, or word that the CRM has it.
            workflow.set_current_details("Waiting for the deal details (`deal_closed` or `deal_in_crm`).")
            await self._wait({Wake.deal})
        if self._deal is None:
            assert self._crm is not None
            self._deal = await effects.fetch_deal(self._crm, self._input.deal_id)
        deal = self._deal
        snapshot = await effects.snapshot(deal)
        self._raise_if_cancelled()
        owners = await effects.assign_owner(deal, workflow.now().date())
        now = workflow.now()
        self._s = JourneyState(
            deal=deal,
            playbook=snapshot,
            owner=owners,
            started_at=now,
            inbox=self._inbox,
            progress=MilestoneProgress(index=0, key=snapshot.playbook.milestones[0].key, started_at=now),
        )
        self._transition(OnboardingState.awaiting_action, decisions.assigned_reason(owners))
        if self._v3:
            await self._after_assignment()
        elif self._patched(versions.OWNER_ACKNOWLEDGEMENT):
            await self._acknowledgement_before_kickoff_v2()

    async def _after_assignment(self) -> None:
        """Over capacity: the manager is told. Then the owner's acknowledgement: beside the
        kickoff by default, before it when the playbook says so."""
        s = self._state
        if s.owner.over_capacity and s.owner.manager:
            notice = messages.owner_notice(s, self._playbook, s.owner.manager, "over-capacity")
            await effects.send(notice, "tell the manager: owner over capacity")
        policy = self._playbook.acknowledgement()
        if not policy.hours or s.owner.unstaffed:
            return
        owner = s.owner.owner
        until = acknowledgement.deadline(workflow.now(), owner.timezone, self._playbook.business_hours, policy.hours)
        s.acknowledgement = AcknowledgementWait(owner_id=owner.id, until=until, before_kickoff=policy.before_kickoff)
        if policy.before_kickoff:
            self._transition(OnboardingState.awaiting_action, acknowledgement.waiting_reason(owner, until))
            await self._await_owner()

    def _owner_before_kickoff(self) -> bool:
        s = self._state
        return s.acknowledgement is not None and s.acknowledgement.before_kickoff and self._progress.direction_sent_at is None

    async def _await_owner(self) -> None:
        """The kickoff waits for the owner's acknowledgement (or the customer acting first)."""
        s = self._state
        await self._wait({Wake.acknowledged, Wake.acted})
        if acknowledgement.acknowledged(self._inbox.acknowledged_by, s.owner.owner):
            self._transition(OnboardingState.awaiting_action, f"owner {s.owner.owner.name} acknowledged")

    async def _run_milestone(self, m: Milestone) -> Outcome:
        """direct -> await action -> advance | follow up | escalate."""
        s, p = self._state, self._progress
        while True:
            await self._hold_while_paused()
            if s.escalation is not None:  # an escalation carried over from the previous run
                if outcome := await self._await_decision(m):
                    return outcome
                continue
            if decisions.completing_event(m, self._inbox):
                return Outcome.completed
            if p.direction_sent_at is None:
                if p.index == 0 and not s.high_risk_checked:
                    s.high_risk_checked = True
                    if decisions.is_high_risk(self._playbook.escalation, s.deal):
                        if outcome := await self._escalate(m, "high-value deal: a human reviews the kickoff"):
                            return outcome
                        continue
                await self._direct(m)
                if self._v3 and s.owner.unstaffed and not s.unstaffed_escalated and p.direction_sent_at:
                    s.unstaffed_escalated = True
                    if outcome := await self._escalate(m, f"nobody can own this journey: {s.owner.unstaffed}"):
                        return outcome
                    continue
            self._maybe_continue_as_new()
            wake = await self._await_customer(m)
            if wake is Wake.acted:
                return Outcome.completed
            if wake is Wake.failed:
                outcome = await self._on_failure(m)
            elif wake is Wake.help:
                count, message = inbox.take_help(self._inbox)
                more = f" ({count} requests)" if count > 1 else ""
                outcome = await self._escalate(m, f"customer asked for help{more}: {message[:200]}")
            elif wake is Wake.due:
                if (follow_up := decisions.next_follow_up(m, p)) is not None:
                    await self._follow_up(m, follow_up)
                    continue
                outcome = await self._escalate(m, f"no '{m.action.title}' after every follow-up")
            else:  # paused or rescheduled: look again
                continue
            if outcome:
                return outcome

    def _finish_milestone(self, milestones: list[Milestone], outcome: Outcome) -> None:
        s, p, now = self._state, self._progress, workflow.now()
        s.outcomes.append(
            MilestoneOutcome(
                key=p.key,
                outcome=outcome.value,
                started_at=p.started_at,
                finished_at=now,
                duration_seconds=(now - p.started_at).total_seconds(),
            )
        )
        if outcome is Outcome.completed and s.first_action_at is None and p.index == 0:
            s.first_action_at = now
        self._journal.note(f"milestone {outcome.value}", p.key)
        s.arrived_by_action = outcome is Outcome.completed
        nxt = p.index + 1
        key = milestones[nxt].key if nxt < len(milestones) else p.key
        s.progress = MilestoneProgress(index=nxt, key=key, started_at=now)
        if nxt < len(milestones):
            self._transition(OnboardingState.awaiting_action, f"'{p.key}' {outcome.value}; next: {milestones[nxt].title}")

    # ------------------------------------------------------------------ steps

    async def _direct(self, m: Milestone) -> None:
        """Tell the customer the ONE next action. Right after their own action it is a reply
        (immediate); otherwise it is proactive (business hours, one per day)."""
        sent_at = await self._send_customer(m, "direction", m.direction, m.action, proactive=not self._state.arrived_by_action)
        if sent_at is None:
            return
        p = self._progress
        p.direction_sent_at, p.due_at = sent_at, sent_at + timedelta(hours=m.window_hours)
        self._transition(OnboardingState.awaiting_action, f"told to '{m.action.title}'")

    async def _follow_up(self, m: Milestone, follow_up: FollowUp) -> None:
        action = follow_up.alternate or decisions.current_action(m, self._progress)
        sent_at = await self._send_customer(m, follow_up.kind.value, follow_up.message, action, proactive=True)
        if sent_at is None:
            return
        p = self._progress
        p.follow_ups_sent += 1
        p.due_at = sent_at + timedelta(hours=follow_up.wait_hours)
        self._transition(
            OnboardingState.clarifying,
            f"no '{m.action.title}' by its due time: sent {follow_up.kind.value} ({p.follow_ups_sent}/{len(m.follow_ups)})",
        )

    async def _await_customer(self, m: Milestone) -> Wake:
        p = self._progress
        if p.due_at is not None and p.due_at <= workflow.now():
            return Wake.due
        self._rescheduled = False
        title = decisions.current_action(m, p).title
        return await self._wait(
            CUSTOMER | {Wake.paused, Wake.rescheduled},
            until=p.due_at,
            summary=f"wait for '{title}' until {self._describe(p.due_at)}" if p.due_at else None,
        )

    async def _hold_while_paused(self) -> None:
        """While staff hold the journey nothing is sent and the window stands still; on
        resume it runs on for the time it had left (kept in the state: a paused journey
        may continue as new)."""
        s, p = self._state, self._progress
        if s.pause is None:
            return
        if p.due_at is not None:
            s.paused_left_seconds = max((p.due_at - workflow.now()).total_seconds(), 0.0)
            p.due_at = None
        self._transition(s.state, f"paused by {s.pause.by}" + (f": {s.pause.reason}" if s.pause.reason else ""))
        await self._wait({Wake.resumed})
        if s.paused_left_seconds is not None:
            p.due_at, s.paused_left_seconds = workflow.now() + timedelta(seconds=s.paused_left_seconds), None
        self._transition(s.state, "resumed")

    async def _on_failure(self, m: Milestone) -> Outcome | None:
        """A failed attempt gets contextual help at once; repeated failures escalate. A
        burst of failures is answered once."""
        taken = inbox.take_failures(self._inbox, m.events())
        if taken is None:
            self._journal.note("failure for another step ignored")
            return None
        count, action, reason = taken
        p = self._progress
        p.failures += count
        await self._send_customer(
            m, "help", m.help, decisions.current_action(m, p), proactive=False, reason=reason or "unknown error"
        )
        if decisions.failures_exhausted(self._playbook.escalation, p.failures):
            return await self._escalate(m, f"{p.failures} failed attempts at '{action}'")
        return None

    # ------------------------------------------------------------------ escalation

    async def _escalate(self, m: Milestone, reason: str) -> Outcome | None:
        """A human task for the owner; unanswered past the SLA it moves a level up. Returns
        the milestone outcome decided by the human (or the customer), None to carry on."""
        s = self._state
        s.escalations += 1
        self._transition(OnboardingState.escalated, reason, escalation_level=1)
        await self._create_task(m, 1, reason)
        s.escalation = OpenEscalation(number=s.escalations, level=1, reason=reason, since=workflow.now())
        return await self._await_decision(m)

    async def _await_decision(self, m: Milestone) -> Outcome | None:
        s, policy = self._state, self._playbook.escalation
        while (open_ := s.escalation) is not None:
            sla = timedelta(hours=policy.sla_hours)
            until = open_.since + sla if decisions.has_next_level(policy, open_.level) else None
            wake = await self._wait(
                {Wake.decided, Wake.acted},
                until=until,
                summary=f"escalation level {open_.level}: wait up to {policy.sla_hours:g}h for a decision" if until else None,
            )
            if wake is Wake.due:
                open_.level += 1
                who, _ = decisions.escalation_assignee(policy, open_.level, s.owner)
                self._transition(
                    OnboardingState.escalated,
                    f"{open_.reason}; unanswered for {policy.sla_hours:g}h, moved to {who}",
                    escalation_level=open_.level,
                )
                await self._create_task(m, open_.level, open_.reason)
                open_.since = workflow.now()
                continue
            s.escalation, s.escalation_level = None, 0
            if wake is Wake.acted:
                self._drop_decision("the customer acted first")
                self._journal.note("escalation ended by the customer's action", m.key)
                return Outcome.completed
            if handled := inbox.settle(self._inbox):  # what came in meanwhile was the person's to decide on
                self._journal.note("handled with the escalation", handled)
            return await self._apply_decision()
        return None

    async def _apply_decision(self) -> Outcome | None:
        decision = self._decision
        assert decision is not None
        try:
            decision.applied = True
            return await self._apply(decision)
        finally:  # the staff member's update answers once the journey shows the decision
            decision.settled, self._decision = True, None

    async def _apply(self, decision: StaffDecision) -> Outcome | None:
        resolution, s, p = decision.resolution, self._state, self._progress
        self._journal.note(f"escalation resolved: {resolution.decision.value} by {resolution.by}", resolution.note)
        if resolution.decision is Decision.close:
            raise JourneyClosed(f"closed by {resolution.by}: {resolution.note or 'no note'}")
        if resolution.decision is Decision.skip:
            return Outcome.skipped
        if decision.owner is not None:
            previous, s.owner = s.owner.owner.id, decision.owner
            if self._v3:
                await effects.release_owner(s.deal, previous)
        # retry / reassign: start the milestone's conversation over, from the direction.
        p.direction_sent_at, p.due_at, p.follow_ups_sent, p.failures = None, None, 0, 0
        s.arrived_by_action = False
        self._transition(OnboardingState.awaiting_action, f"{resolution.decision.value} by {resolution.by}")
        return None

    def _drop_decision(self, why: str) -> None:
        if self._decision is not None:
            self._journal.note("staff decision not applied", why)
            self._decision.settled, self._decision = True, None

    async def _create_task(self, m: Milestone, level: int, reason: str) -> None:
        s = self._state
        await effects.create_task(messages.task_request(s, self._playbook, m, level, reason))

    # ------------------------------------------------------------------ effects

    async def _send_customer(
        self, m: Milestone, step: str, template: MessageTemplate, action: Action, *, proactive: bool, reason: str = ""
    ) -> datetime | None:
        """Send one customer message; returns when it was sent. A proactive one waits for
        business hours and the daily cap, and is dropped (None) if the customer acts or
        fails meanwhile: the journey reconsiders what to say."""
        s = self._state
        tz, hours = s.deal.account.timezone, self._playbook.business_hours
        if proactive:
            full = s.proactive_day if s.proactive_count >= hours.proactive_per_day else None
            send_at = business_hours.next_send_time(workflow.now(), tz, hours, full)
            if send_at > workflow.now():
                wake = await self._wait(
                    CUSTOMER | {Wake.paused}, until=send_at, summary=f"hold the {step} for business hours: {self._describe(send_at)}"
                )
                if wake is not Wake.due:
                    return None
                # Staff moved the due time while this message waited: the new due time rules.
                if self._rescheduled and (self._v3 or self._patched(versions.EXTEND_DURING_HOLD)):
                    return None
            today = business_hours.local_day(workflow.now(), tz)
            s.proactive_count = s.proactive_count + 1 if s.proactive_day == today else 1
            s.proactive_day = today
        self._raise_if_cancelled()
        if s.pause is not None:
            return None  # held: the journey says it again, if still relevant, after resume
        s.messages += 1
        sent_at = workflow.now()
        due = self._progress.due_at or (sent_at + timedelta(hours=m.window_hours))
        request = messages.customer_message(s, self._playbook, m, step, template, action, due, reason)
        await effects.send(request, f"{self._playbook.channels.customer} {step} '{action.title}' to the customer")
        self._journal.note(f"sent {step}", action.title, at=sent_at)
        return sent_at

    # ------------------------------------------------------------------ waiting

    async def _wait(self, listen: set[Wake] | frozenset[Wake], until: datetime | None = None, summary: str | None = None) -> Wake:
        """Wait for what `listen` names until `until`. The cancel always ends the journey;
        on v3 the server's suggestion to continue as new hands over to a new run, and an
        owner's acknowledgement deadline falling inside the wait is dealt with on the way."""
        listen = frozenset(listen)
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
        if wake is None and self._v3 and workflow.info().is_continue_as_new_suggested() and workflow.all_handlers_finished():
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
        await effects.release_owner(s.deal, silent.id)
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
                lambda: self._inbox.cancel is not None
                or acknowledgement.acknowledged(self._inbox.acknowledged_by, s.owner.owner),
                timeout=until - workflow.now(),
                timeout_summary=f"wait for {first.name} to acknowledge until {business_hours.describe(until, first.timezone)}",
            )
        except TimeoutError:
            replacement = await effects.replace_owner(s.deal, workflow.now().date(), first.id)
            if replacement is None:
                self._transition(OnboardingState.awaiting_action, acknowledgement.kept_reason(first, hours))
            else:
                s.owner = replacement
                self._transition(OnboardingState.awaiting_action, acknowledgement.replaced_reason(first, s.owner.owner, hours))
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
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._raise_if_cancelled()
        s, every = self._s, self._input.continue_as_new_after
        if s is None:
            workflow.continue_as_new(
                JourneyInput(deal_id=self._input.deal_id, crm=self._crm, inbox=self._inbox, continue_as_new_after=every)
            )
        s.runs += 1
        s.inbox = self._inbox
        workflow.continue_as_new(JourneyInput(deal_id=s.deal.deal_id, carried=s, continue_as_new_after=every))

    # ------------------------------------------------------------------ signals: record, never fail

    def _accept(self, model: type, name: str, request: object, extra: tuple[object, ...]):  # type: ignore[no-untyped-def]
        try:
            return parse(model, name, request, extra)
        except Refused as refusal:
            self._journal.refused(str(refusal))
            if self._s is not None:
                self._journal.show(self._s, self._milestone, self.status())
            return None

    def _first_time(self, event_id: str) -> bool:
        if inbox.first_time(self._inbox, event_id, workflow.now()):
            return True
        self._journal.note("duplicate event ignored", event_id)
        return False

    @workflow.signal
    def deal_closed(self, deal: DealClosed | JsonValue = None, *extra: JsonValue) -> None:
        if (event := self._accept(DealClosed, "deal_closed", deal, extra)) and self._deal is None:
            self._deal = event
            self._journal.note("deal details received", event.deal_id)

    @workflow.signal
    def deal_in_crm(self, notice: DealInCrm | JsonValue = None, *extra: JsonValue) -> None:
        """The CRM has the deal: a journey started by an early event fetches it from there."""
        if (event := self._accept(DealInCrm, "deal_in_crm", notice, extra)) and self._deal is None and self._crm is None:
            self._crm = event.crm
            self._journal.note("deal is in the CRM", event.crm)

    @workflow.signal
    def action_taken(self, event: ActionTaken | JsonValue = None, *extra: JsonValue) -> None:
        if (taken := self._accept(ActionTaken, "action_taken", event, extra)) and self._first_time(taken.event_id):
            if inbox.record_taken(self._inbox, taken, workflow.now()):
                self._journal.note("action taken", taken.action)

    @workflow.signal
    def action_failed(self, event: ActionFailed | JsonValue = None, *extra: JsonValue) -> None:
        if (failed := self._accept(ActionFailed, "action_failed", event, extra)) and self._first_time(failed.event_id):
            if inbox.record_failure(self._inbox, failed):
                self._journal.note("action failed", failed.action)

    @workflow.signal
    def help_requested(self, event: HelpRequested | JsonValue = None, *extra: JsonValue) -> None:
        if (request := self._accept(HelpRequested, "help_requested", event, extra)) and self._first_time(request.event_id):
            inbox.record_help(self._inbox, request)
            self._journal.note("help requested")

    @workflow.signal(description='The owner confirms they own the journey: {"by": "<owner id or email>"}.')
    def owner_acknowledged(self, ack: OwnerAcknowledged | JsonValue = None, *extra: JsonValue) -> None:
        if not (event := self._accept(OwnerAcknowledged, "owner_acknowledged", ack, extra)):
            return
        self._inbox.acknowledged_by = [*self._inbox.acknowledged_by, event.by][-10:]
        self._journal.note("owner acknowledged", event.by)
        s = self._s
        if s is not None and s.acknowledgement is not None and acknowledgement.acknowledges(event.by, s.owner.owner):
            s.acknowledgement = None

    @workflow.signal
    def cancel(self, event: Cancel | JsonValue = None, *extra: JsonValue) -> None:
        if (cancel := self._accept(Cancel, "cancel", event, extra)) and self._inbox.cancel is None:
            self._inbox.cancel = cancel
            self._journal.note("cancel", cancel.reason)

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self._journal.refused(f"{name[:60]}: no such signal (see the journey's signal list)")
        if self._s is not None:  # staff see it where they look, as for any refused input
            self._journal.show(self._s, self._milestone, self.status())

    # ------------------------------------------------------------------ updates: staff decisions, one at a time

    @workflow.update(description="Resolve an escalation: retry, skip, reassign (with owner) or close.")
    async def resolve_escalation(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> Status:
        resolution = parse(ResolveEscalation, "resolve_escalation", request, extra)
        self._staff_busy = "resolve_escalation"
        escalation = self._state.escalations  # the escalation this decision is about
        try:
            owner = None
            if resolution.decision is Decision.reassign:
                assert resolution.owner
                owner = await effects.choose_owner(self._state.deal, workflow.now().date(), resolution.owner)
                # The escalation may have ended while the roster answered (the customer acted, a cancel).
                if self._state.escalations != escalation or self._state.state is not OnboardingState.escalated:
                    raise ApplicationError("not applied: the escalation ended before the decision (see the timeline)", non_retryable=True)
            decision = self._decision = StaffDecision(resolution, owner)
            await workflow.wait_condition(lambda: decision.settled)
        finally:
            self._staff_busy = ""
        if not decision.applied:
            raise ApplicationError("not applied: the escalation ended before the decision (see the timeline)", non_retryable=True)
        return self.status()

    @resolve_escalation.validator
    def _validate_resolution(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> None:
        parse(ResolveEscalation, "resolve_escalation", request, extra)
        s = self._require_active("resolve_escalation")
        if s.state is not OnboardingState.escalated:
            raise ValueError(f"nothing is escalated: the journey is {s.state.value}")

    @workflow.update(description="Give the journey to another owner: {owner, by, note}.")
    async def reassign_owner(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(ReassignOwner, "reassign_owner", request, extra)
        self._staff_busy = "reassign_owner"
        try:
            s = self._state
            previous, s.owner = s.owner.owner.id, await effects.choose_owner(s.deal, workflow.now().date(), change.owner)
            if self._v3:
                s.acknowledgement = None
                await effects.release_owner(s.deal, previous)
            self._transition(s.state, f"owner reassigned to {s.owner.owner.name} by {change.by}", escalation_level=s.escalation_level)
        finally:
            self._staff_busy = ""
        return self.status()

    @reassign_owner.validator
    def _validate_reassign(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> None:
        change = parse(ReassignOwner, "reassign_owner", request, extra)
        if change.owner == self._require_active("reassign_owner").owner.owner.id:
            raise ValueError(f"owner: {change.owner!r} already owns this journey")

    @workflow.update(description="Move the current due time later: {until (ISO 8601 with offset), by, note}.")
    def extend_deadline(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(ExtendDeadline, "extend_deadline", request, extra)
        s = self._state
        self._progress.due_at = change.until
        self._rescheduled = True  # the waiting timer is replaced, not stacked
        self._transition(s.state, f"due time moved to {self._describe(change.until)} by {change.by}")
        return self.status()

    @extend_deadline.validator
    def _validate_extend(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> None:
        change = parse(ExtendDeadline, "extend_deadline", request, extra)
        s = self._require_active("extend_deadline")
        if problem := decisions.extension_problem(s, change.until, workflow.now()):
            raise ValueError(problem)

    @workflow.update(description="Hold the journey: no messages, windows stop. {by, reason}.")
    def pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> Status:
        self._state.pause = change = parse(Pause, "pause", request, extra)
        self._journal.note("pause", change.by)
        return self.status()

    @pause.validator
    def _validate_pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> None:
        parse(Pause, "pause", request, extra)
        s = self._require_active("pause")
        if s.pause is not None:
            raise ValueError(f"pause: already paused by {s.pause.by}")
        if s.state is OnboardingState.escalated:
            raise ValueError("pause: the journey is escalated; resolve the escalation instead")

    @workflow.update(description="Let a paused journey go on where it stopped. {by, note}.")
    def resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(Resume, "resume", request, extra)
        self._state.pause = None
        self._journal.note("resume", change.by)
        return self.status()

    @resume.validator
    def _validate_resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> None:
        parse(Resume, "resume", request, extra)
        if self._require_active("resume").pause is None:
            raise ValueError("resume: the journey is not paused")

    def _require_active(self, action: str) -> JourneyState:
        """What every staff action needs: a journey under way, and no other staff action
        in flight (decisions are applied one at a time)."""
        s = self._s
        if s is None:
            raise ValueError(f"{action}: the journey is still starting")
        if s.state in ENDED or self._inbox.cancel is not None:
            raise ValueError(f"{action}: the journey is {'closing' if s.state not in ENDED else s.state.value}")
        if self._staff_busy or self._decision is not None:
            raise ValueError(f"{action}: another staff action ({self._staff_busy or 'resolve_escalation'}) is being applied; try again")
        if self._handing_over:
            raise ValueError(f"{action}: the journey is moving to a new run; try again in a moment")
        return s

    # ------------------------------------------------------------------ query

    @workflow.query
    def status(self) -> Status:
        s = self._s
        if s is None:
            return report.starting_status(self._input.deal_id, self._deal is not None, self._inbox)
        return report.status(s, self._milestone, self._inbox)

    # ------------------------------------------------------------------ bookkeeping

    def _transition(self, state: OnboardingState, reason: str, *, escalation_level: int = 0) -> None:
        if self._s is None:  # closed before the journey really started
            self._journal.note(state.value, reason)
            return
        self._journal.transition(self._s, self._milestone, self.status, state, reason, escalation_level=escalation_level)

    def _patched(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)

    def _raise_if_cancelled(self) -> None:
        if self._inbox.cancel is not None:
            raise JourneyClosed(f"cancelled: {self._inbox.cancel.reason}")

    def _result(self) -> JourneyResult:
        return report.result(self._s, self._input.deal_id, self._inbox)

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
