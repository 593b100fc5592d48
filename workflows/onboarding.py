"""OnboardingWorkflow: one durable journey per closed deal.

Reads top to bottom like the product: assign one owner, tell the customer the ONE first
action, wait on what they do. Action taken: advance. Not taken: clarify, simplify,
redirect. Stuck, failing or asking for help: escalate to a human, who resolves it.
Decisions live in `decisions.py` (pure); effects are activities.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.escalation import EscalationActivities, EscalationTaskRequest
    from activities.messaging import MessageRequest, MessagingActivities, Recipient
    from activities.owners import AssignOwnerRequest, OwnerActivities
    from activities.playbook import PlaybookActivities, SnapshotRequest
    from playbooks.schema import Action, FollowUp, MessageTemplate, Milestone, Playbook
    from workflows import acknowledgement, business_hours, decisions
    from workflows.acknowledgement import OwnerAcknowledged
    from workflows.details import current_details
    from workflows.models import (
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
        NextAction,
        OnboardingState,
        OwnerAssignment,
        Pause,
        ReassignOwner,
        ResolveEscalation,
        Resume,
        Status,
        TimelineEntry,
    )
    from workflows.search_attributes import journey_search_attributes

# Patches (workflow versions) of this file, newest last; see docs/versioning.md.
PATCH_EXTEND_DURING_HOLD = "extend-deadline-during-hold"

TIMELINE_LENGTH = 50
SEEN_EVENT_IDS = 1000

_QUICK = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
)
_DELIVERY = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
)


class JourneyClosed(Exception):
    """Raised inside the run to end the journey at once (cancel, or an escalation closed)."""


StaffInput = TypeVar("StaffInput", bound=BaseModel)


def parse_input(model: type[StaffInput], name: str, request: Any) -> StaffInput:
    """Staff actions take a plain object and parse it here, so bad input is refused by the
    validator naming each field and the reason, rather than by a decoding error."""
    try:
        return model.model_validate(request)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors()
        )
        raise ValueError(f"invalid {name} input: {problems}") from None


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflow:
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self._input = input
        self._s: JourneyState | None = input.carried
        self._deal: DealClosed | None = input.deal or (input.carried.deal if input.carried else None)
        self._inbox: Inbox = input.carried.inbox if input.carried else Inbox()
        self._crm = input.crm
        self._cancel: Cancel | None = None
        self._resolution: ResolveEscalation | None = None
        self._reassignment: OwnerAssignment | None = None
        self._arrived_by_action = False
        self._rescheduled = False
        self._transitions_this_run = 0
        self._acknowledgements: list[OwnerAcknowledged] = []

    # ------------------------------------------------------------------ the journey

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        try:
            if self._s is None:
                await self._start()
            milestones = self._playbook.milestones
            while (index := self._state.progress.index) < len(milestones):  # type: ignore[union-attr]
                outcome = await self._run_milestone(milestones[index])
                self._finish_milestone(milestones, outcome)
            self._transition(OnboardingState.activated, "every milestone is done")
        except JourneyClosed as closed:
            self._transition(OnboardingState.closed, str(closed))
        # Let a staff update that closed the journey return its answer first.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    async def _start(self) -> None:
        """Deal details, playbook snapshot, one owner."""
        if self._deal is None and self._crm is None:
            # Started by an early product event: wait for the deal, or word that the CRM has it.
            workflow.set_current_details("Waiting for the deal details (`deal_closed` or `deal_in_crm`).")
            await workflow.wait_condition(
                lambda: self._deal is not None or self._crm is not None or self._cancel is not None
            )
            self._raise_if_cancelled()
        if self._deal is None:
            self._deal = await workflow.execute_activity(
                "fetch_hubspot_deal",
                {"deal_id": self._input.deal_id},
                result_type=DealClosed,
                summary=f"read deal {self._input.deal_id} from HubSpot",
                **_DELIVERY,
            )
        deal = self._deal
        snapshot = await workflow.execute_activity_method(
            PlaybookActivities.snapshot_playbook,
            SnapshotRequest(segment=deal.segment, product=deal.product),
            summary=f"snapshot the playbook for {deal.segment}/{deal.product or '*'}",
            **_QUICK,
        )
        self._raise_if_cancelled()
        owners = await workflow.execute_activity_method(
            OwnerActivities.assign_owner,
            AssignOwnerRequest(deal_id=deal.deal_id, segment=deal.segment, as_of=workflow.now().date()),
            summary=f"assign one owner ({deal.segment})",
            **_QUICK,
        )
        first = snapshot.playbook.milestones[0]
        now = workflow.now()
        self._s = JourneyState(
            deal=deal,
            playbook=snapshot,
            owner=owners,
            started_at=now,
            inbox=self._inbox,
            progress=MilestoneProgress(index=0, key=first.key, started_at=now),
        )
        self._transition(OnboardingState.awaiting_action, f"owner {owners.owner.name} assigned")
        # v2: journeys started on v1 have no marker here and keep going straight to the kickoff.
        if workflow.patched(acknowledgement.PATCH):
            await self._await_acknowledgement()

    async def _await_acknowledgement(self) -> None:
        """The owner confirms before the kickoff; silent past the deadline, the next eligible
        owner takes over and the kickoff goes out."""
        s, hours = self._state, self._playbook.owner_acknowledgement_hours
        if not hours:
            return
        first = s.owner.owner
        until = acknowledgement.deadline(workflow.now(), first.timezone, self._playbook.business_hours, hours)
        self._transition(OnboardingState.awaiting_action, acknowledgement.waiting_reason(first, until))
        try:
            await workflow.wait_condition(  # staff may reassign meanwhile: the live owner counts
                lambda: self._cancel is not None
                or acknowledgement.acknowledged(self._acknowledgements, s.owner.owner) is not None,
                timeout=until - workflow.now(),
                timeout_summary=f"wait for {first.name} to acknowledge until {business_hours.describe(until, first.timezone)}",
            )
        except asyncio.TimeoutError:
            silent = s.owner.owner
            try:
                s.owner = await workflow.execute_activity_method(
                    OwnerActivities.assign_owner,
                    AssignOwnerRequest(
                        deal_id=s.deal.deal_id, segment=s.deal.segment, as_of=workflow.now().date(), exclude=[silent.id]
                    ),
                    summary=f"replace {silent.id}: no acknowledgement",
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=3),  # nobody else eligible: keep the owner
                )
                self._transition(OnboardingState.awaiting_action, acknowledgement.replaced_reason(silent, s.owner.owner, hours))
            except ActivityError:
                self._transition(OnboardingState.awaiting_action, acknowledgement.kept_reason(silent, hours))
            return
        self._raise_if_cancelled()
        self._transition(OnboardingState.awaiting_action, f"owner {s.owner.owner.name} acknowledged")

    async def _run_milestone(self, m: Milestone) -> str:
        """direct -> await action -> advance | follow up | escalate. Returns the outcome."""
        p = self._progress
        while True:
            await self._hold_while_paused()
            if decisions.completing_event(m, self._inbox):
                return "completed"
            if p.direction_sent_at is None:
                if p.index == 0 and not self._state.high_risk_checked:
                    self._state.high_risk_checked = True
                    if decisions.is_high_risk(self._playbook.escalation, self._state.deal):
                        outcome = await self._escalate(m, "high-value deal: a human reviews the kickoff")
                        if outcome:
                            return outcome
                        continue
                await self._direct(m)
            self._maybe_continue_as_new()
            trigger = await self._await_customer(m)
            if trigger == "done":
                return "completed"
            if trigger in ("paused", "rescheduled"):
                continue
            if trigger == "failed":
                outcome = await self._on_failure(m)
            elif trigger == "help":
                help_request = self._inbox.pending_help.pop(0)
                outcome = await self._escalate(m, f"customer asked for help: {help_request.message[:200]}")
            else:  # the window or a follow-up's wait ran out
                follow_up = decisions.next_follow_up(m, p)
                if follow_up is not None:
                    await self._follow_up(m, follow_up)
                    continue
                outcome = await self._escalate(m, f"no '{m.action.title}' after every follow-up")
            if outcome:
                return outcome

    def _finish_milestone(self, milestones: list[Milestone], outcome: str) -> None:
        s, p, now = self._state, self._progress, workflow.now()
        s.outcomes.append(
            MilestoneOutcome(
                key=p.key,
                outcome=outcome,  # type: ignore[arg-type]
                started_at=p.started_at,
                finished_at=now,
                duration_seconds=(now - p.started_at).total_seconds(),
            )
        )
        if outcome == "completed" and s.first_action_at is None and p.index == 0:
            s.first_action_at = now
        self._note(f"milestone {outcome}", p.key)
        self._arrived_by_action = outcome == "completed"
        nxt = p.index + 1
        if nxt < len(milestones):
            s.progress = MilestoneProgress(index=nxt, key=milestones[nxt].key, started_at=now)
            self._transition(OnboardingState.awaiting_action, f"'{p.key}' {outcome}; next: {milestones[nxt].title}")
        else:
            s.progress = MilestoneProgress(index=nxt, key=p.key, started_at=now)

    # ------------------------------------------------------------------ steps

    async def _direct(self, m: Milestone) -> None:
        """Tell the customer the ONE next action. Right after their own action it is a reply
        (immediate); otherwise it is proactive (business hours, one per day)."""
        sent_at = await self._send_customer(
            m, "direction", m.direction, m.action, proactive=not self._arrived_by_action
        )
        if sent_at is None:
            return
        p = self._progress
        p.direction_sent_at = sent_at
        p.due_at = sent_at + timedelta(hours=m.window_hours)
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

    async def _hold_while_paused(self) -> None:
        """While staff hold the journey nothing is sent and the window stands still; on
        resume it runs on for the time it had left."""
        s = self._state
        if s.pause is None:
            return
        p = self._progress
        left = p.due_at - workflow.now() if p.due_at is not None else None
        p.due_at = None
        self._transition(s.state, f"paused by {s.pause.by}" + (f": {s.pause.reason}" if s.pause.reason else ""))
        await workflow.wait_condition(lambda: s.pause is None or self._cancel is not None)
        self._raise_if_cancelled()
        if left is not None:
            p.due_at = workflow.now() + max(left, timedelta(0))
        self._transition(s.state, "resumed")

    async def _on_failure(self, m: Milestone) -> str | None:
        """A failed attempt gets contextual help at once; repeated failures escalate."""
        failure = self._inbox.pending_failures.pop(0)
        if not decisions.concerns_milestone(m, failure.action):
            self._note("failure for another step ignored", failure.action)
            return None
        p = self._progress
        p.failures += 1
        await self._send_customer(
            m, "help", m.help, decisions.current_action(m, p), proactive=False, reason=failure.reason or "unknown error"
        )
        if decisions.failures_exhausted(self._playbook.escalation, p.failures):
            return await self._escalate(m, f"{p.failures} failed attempts at '{failure.action}'")
        return None

    async def _await_customer(self, m: Milestone) -> str:
        p = self._progress
        timeout = None
        if p.due_at is not None:
            timeout = p.due_at - workflow.now()
            if timeout <= timedelta(0):
                return "timeout"
        action = decisions.current_action(m, p)
        self._rescheduled = False
        try:
            # Woken by staff too: a pause stops the window, a new deadline replaces the timer.
            await workflow.wait_condition(
                lambda: self._cancel is not None
                or decisions.completing_event(m, self._inbox) is not None
                or bool(self._inbox.pending_failures or self._inbox.pending_help)
                or self._state.pause is not None
                or self._rescheduled,
                timeout=timeout,
                timeout_summary=f"wait for '{action.title}' until {self._describe(p.due_at)}" if p.due_at else None,
            )
        except asyncio.TimeoutError:
            return "timeout"
        self._raise_if_cancelled()
        if decisions.completing_event(m, self._inbox):
            return "done"
        if self._inbox.pending_failures:
            return "failed"
        if self._inbox.pending_help:
            return "help"
        return "paused" if self._state.pause is not None else "rescheduled"

    async def _escalate(self, m: Milestone, reason: str) -> str | None:
        """A human task for the owner; unanswered past the SLA it moves a level up. Returns
        the milestone outcome decided by the human (or the customer), None to carry on."""
        s, policy = self._state, self._playbook.escalation
        s.escalations += 1
        level = 1
        self._transition(OnboardingState.escalated, reason, escalation_level=level)
        await self._create_task(m, level, reason)
        while True:
            sla = timedelta(hours=policy.sla_hours) if decisions.has_next_level(policy, level) else None
            try:
                await workflow.wait_condition(
                    lambda: self._resolution is not None
                    or self._cancel is not None
                    or decisions.completing_event(m, self._inbox) is not None,
                    timeout=sla,
                    timeout_summary=f"escalation level {level}: wait up to {policy.sla_hours:g}h for a decision"
                    if sla
                    else None,
                )
            except asyncio.TimeoutError:
                level += 1
                who, _ = decisions.escalation_assignee(policy, level, s.owner)
                self._transition(
                    OnboardingState.escalated,
                    f"{reason}; unanswered for {policy.sla_hours:g}h, moved to {who}",
                    escalation_level=level,
                )
                await self._create_task(m, level, reason)
                continue
            self._raise_if_cancelled()
            if self._resolution is None:  # the customer acted while a human was deciding
                s.escalation_level = 0
                self._note("escalation ended by the customer's action", m.key)
                return "completed"
            return self._apply_resolution(m)

    def _apply_resolution(self, m: Milestone) -> str | None:
        resolution, self._resolution = self._resolution, None
        assert resolution is not None
        s, p = self._state, self._progress
        s.escalation_level = 0
        self._note(f"escalation resolved: {resolution.decision.value} by {resolution.by}", resolution.note[:200])
        if resolution.decision is Decision.close:
            raise JourneyClosed(f"closed by {resolution.by}: {resolution.note or 'no note'}")
        if resolution.decision is Decision.skip:
            return "skipped"
        if resolution.decision is Decision.reassign and self._reassignment is not None:
            s.owner, self._reassignment = self._reassignment, None
        # retry / reassign: start the milestone's conversation over, from the direction.
        p.direction_sent_at, p.due_at, p.follow_ups_sent, p.failures = None, None, 0, 0
        self._arrived_by_action = False
        self._transition(OnboardingState.awaiting_action, f"{resolution.decision.value} by {resolution.by}")
        return None

    # ------------------------------------------------------------------ effects

    async def _send_customer(
        self,
        m: Milestone,
        step: str,
        template: MessageTemplate,
        action: Action,
        *,
        proactive: bool,
        reason: str = "",
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
                try:
                    await workflow.wait_condition(
                        lambda: self._cancel is not None
                        or decisions.completing_event(m, self._inbox) is not None
                        or bool(self._inbox.pending_failures or self._inbox.pending_help)
                        or s.pause is not None,
                        timeout=send_at - workflow.now(),
                        timeout_summary=f"hold the {step} for business hours: {self._describe(send_at)}",
                    )
                    self._raise_if_cancelled()
                    return None
                except asyncio.TimeoutError:
                    pass
                # Staff moved the due time while this message waited for business hours: the
                # new due time rules. (Journeys from before this patch sent the message.)
                if self._rescheduled and workflow.patched(PATCH_EXTEND_DURING_HOLD):
                    return None
            today = business_hours.local_day(workflow.now(), tz)
            s.proactive_count = s.proactive_count + 1 if s.proactive_day == today else 1
            s.proactive_day = today
        self._raise_if_cancelled()
        if s.pause is not None:
            return None  # held: the journey says it again, if still relevant, after resume
        s.messages += 1
        sent_at = workflow.now()
        customer = s.deal.champion
        due = self._progress.due_at or (sent_at + timedelta(hours=m.window_hours))
        request = MessageRequest(
            key=decisions.message_key(workflow.info().workflow_id, m.key, step, s.messages),
            deal_id=s.deal.deal_id,
            kind=step,
            audience="customer",
            channel=self._playbook.channels.customer,
            to=Recipient(name=customer.name, email=str(customer.email)),
            template=template,
            context={
                "customer_name": customer.name.split(" ")[0] if customer.name else "there",
                "account_name": s.deal.account.name,
                "action_title": action.title,
                "action_instruction": action.instruction,
                "cta_url": str(action.link),
                "owner_name": s.owner.owner.name,
                "owner_email": s.owner.owner.email,
                "due_local": business_hours.describe(due, tz).split(" (")[0],
                "milestone_title": m.title,
                "reason": reason,
            },
        )
        await workflow.execute_activity_method(
            MessagingActivities.send_message,
            request,
            summary=f"{self._playbook.channels.customer} {step} '{action.title}' to the customer",
            **_DELIVERY,
        )
        self._note(f"sent {step}", action.title, at=sent_at)
        return sent_at

    async def _create_task(self, m: Milestone, level: int, reason: str) -> None:
        s = self._state
        level_name, assignee = decisions.escalation_assignee(self._playbook.escalation, level, s.owner)
        await workflow.execute_activity_method(
            EscalationActivities.create_escalation_task,
            EscalationTaskRequest(
                key=decisions.message_key(workflow.info().workflow_id, m.key, f"escalation-{s.escalations}", level),
                workflow_id=workflow.info().workflow_id,
                deal_id=s.deal.deal_id,
                account_name=s.deal.account.name,
                milestone=m.key,
                level=level,
                level_name=level_name,
                assignee=assignee,
                reason=reason,
                channel=self._playbook.channels.owner,
            ),
            summary=f"human task for {assignee.name} ({level_name}, level {level})",
            **_DELIVERY,
        )

    # ------------------------------------------------------------------ signals, update, query

    @workflow.signal
    def deal_closed(self, deal: DealClosed) -> None:
        if self._deal is None:
            self._deal = deal
            self._note("deal details received", deal.deal_id)

    @workflow.signal
    def deal_in_crm(self, notice: DealInCrm) -> None:
        """The CRM has the deal: a journey started by an early event fetches it from there."""
        if self._deal is None and self._crm is None:
            self._crm = notice.crm
            self._note("deal is in the CRM", notice.crm)

    @workflow.signal
    def action_taken(self, event: ActionTaken) -> None:
        if self._fresh(event.event_id):
            self._inbox.taken.setdefault(event.action, workflow.now())
            self._note("action taken", event.action)

    @workflow.signal
    def action_failed(self, event: ActionFailed) -> None:
        if self._fresh(event.event_id):
            self._inbox.pending_failures.append(event)
            self._note("action failed", event.action)

    @workflow.signal
    def help_requested(self, event: HelpRequested) -> None:
        if self._fresh(event.event_id):
            self._inbox.pending_help.append(event)
            self._note("help requested", "")

    @workflow.signal(description='The owner confirms they own the journey: {"by": "<owner id or email>"}.')
    def owner_acknowledged(self, ack: OwnerAcknowledged) -> None:
        self._acknowledgements.append(ack)
        del self._acknowledgements[:-10]
        self._note("owner acknowledged", ack.by)

    @workflow.signal
    def cancel(self, event: Cancel) -> None:
        if self._cancel is None:
            self._cancel = event
            self._note("cancel", event.reason[:200])

    @workflow.update(description="Resolve an escalation: retry, skip, reassign (with owner) or close.")
    async def resolve_escalation(self, request: dict[str, Any]) -> Status:
        resolution = parse_input(ResolveEscalation, "resolve_escalation", request)
        if resolution.decision is Decision.reassign:
            assert resolution.owner and self._s is not None
            self._reassignment = await self._assign_explicit(resolution.owner)
        self._resolution = resolution
        await workflow.wait_condition(lambda: self._resolution is None)
        return self.status()

    async def _assign_explicit(self, owner_id: str) -> OwnerAssignment:
        """A staff member's choice of owner, checked against the roster; a refusal fails
        only the update that asked, with the roster's reason."""
        try:
            return await workflow.execute_activity_method(
                OwnerActivities.assign_owner,
                AssignOwnerRequest(
                    deal_id=self._state.deal.deal_id,
                    segment=self._state.deal.segment,
                    as_of=workflow.now().date(),
                    preferred=owner_id,
                ),
                summary=f"reassign to {owner_id}",
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause)
            raise ApplicationError(f"reassign refused: {cause}", non_retryable=True) from None

    @resolve_escalation.validator
    def _validate_resolution(self, request: dict[str, Any]) -> None:
        parse_input(ResolveEscalation, "resolve_escalation", request)
        if self._s is None or self._s.state is not OnboardingState.escalated:
            state = self._s.state.value if self._s else "starting"
            raise ValueError(f"nothing is escalated: the journey is {state}")
        if self._resolution is not None:
            raise ValueError("another resolution of this escalation is being applied")

    @workflow.update(description="Give the journey to another owner: {owner, by, note}.")
    async def reassign_owner(self, request: dict[str, Any]) -> Status:
        change = parse_input(ReassignOwner, "reassign_owner", request)
        s = self._state
        s.owner = await self._assign_explicit(change.owner)
        self._transition(
            s.state, f"owner reassigned to {s.owner.owner.name} by {change.by}", escalation_level=s.escalation_level
        )
        return self.status()

    @reassign_owner.validator
    def _validate_reassign(self, request: dict[str, Any]) -> None:
        change = parse_input(ReassignOwner, "reassign_owner", request)
        s = self._require_active("reassign_owner")
        if change.owner == s.owner.owner.id:
            raise ValueError(f"owner: {change.owner!r} already owns this journey")

    @workflow.update(description="Move the current due time later: {until (ISO 8601 with offset), by, note}.")
    def extend_deadline(self, request: dict[str, Any]) -> Status:
        change = parse_input(ExtendDeadline, "extend_deadline", request)
        p = self._progress
        p.due_at = change.until
        self._rescheduled = True  # the waiting timer is replaced, not stacked
        s = self._state
        self._transition(s.state, f"due time moved to {self._describe(change.until)} by {change.by}")
        return self.status()

    @extend_deadline.validator
    def _validate_extend(self, request: dict[str, Any]) -> None:
        change = parse_input(ExtendDeadline, "extend_deadline", request)
        s = self._require_active("extend_deadline")
        if s.state not in (OnboardingState.awaiting_action, OnboardingState.clarifying):
            raise ValueError(f"extend_deadline: the journey is {s.state.value}; only a waiting journey has a due time")
        if s.pause is not None:
            raise ValueError("extend_deadline: the journey is paused; resume it first")
        due = s.progress.due_at if s.progress else None
        if due is None:
            raise ValueError("extend_deadline: no due time yet (the direction has not gone out)")
        if change.until <= due:
            raise ValueError(f"until: must be later than the current due time {due.isoformat()}")

    @workflow.update(description="Hold the journey: no messages, windows stop. {by, reason}.")
    def pause(self, request: dict[str, Any]) -> Status:
        change = parse_input(Pause, "pause", request)
        self._state.pause = change
        self._note("pause", change.by)
        return self.status()

    @pause.validator
    def _validate_pause(self, request: dict[str, Any]) -> None:
        parse_input(Pause, "pause", request)
        s = self._require_active("pause")
        if s.pause is not None:
            raise ValueError(f"pause: already paused by {s.pause.by}")
        if s.state is OnboardingState.escalated:
            raise ValueError("pause: the journey is escalated; resolve the escalation instead")

    @workflow.update(description="Let a paused journey go on where it stopped. {by, note}.")
    def resume(self, request: dict[str, Any]) -> Status:
        change = parse_input(Resume, "resume", request)
        self._state.pause = None
        self._note("resume", change.by)
        return self.status()

    @resume.validator
    def _validate_resume(self, request: dict[str, Any]) -> None:
        parse_input(Resume, "resume", request)
        if self._require_active("resume").pause is None:
            raise ValueError("resume: the journey is not paused")

    def _require_active(self, action: str) -> JourneyState:
        s = self._s
        if s is None:
            raise ValueError(f"{action}: the journey is still starting")
        if s.state in (OnboardingState.activated, OnboardingState.closed):
            raise ValueError(f"{action}: the journey is {s.state.value}")
        return s

    @workflow.query
    def status(self) -> Status:
        s = self._s
        if s is None:
            return Status(
                deal_id=self._input.deal_id,
                stage="",
                state=OnboardingState.awaiting_action,
                owner="",
                next_action=None,
                reason="starting: waiting for deal details" if self._deal is None else "starting",
                eligible_touchpoints=[],
                timeline=self._inbox.timeline[-10:],
            )
        m, p = self._milestone, s.progress
        action = decisions.current_action(m, p) if m else None
        return Status(
            deal_id=s.deal.deal_id,
            stage=p.key if p else "",
            state=s.state,
            owner=s.owner.owner.id,
            next_action=NextAction(title=action.title, due_at=p.due_at, events=m.events())
            if action and m and s.state not in (OnboardingState.activated, OnboardingState.closed)
            else None,
            reason=s.reason,
            eligible_touchpoints=decisions.eligible_touchpoints(
                s.state, m, p, self._playbook.escalation, paused=s.pause is not None
            ),
            timeline=self._inbox.timeline[-10:],
            escalation_level=s.escalation_level,
            paused=s.pause is not None,
        )

    # ------------------------------------------------------------------ bookkeeping

    def _transition(self, state: OnboardingState, reason: str, *, escalation_level: int = 0) -> None:
        s = self._s
        if s is None:  # closed before the journey really started
            self._note(state.value, reason)
            return
        s.state, s.reason, s.escalation_level = state, reason, escalation_level
        s.transitions += 1
        self._transitions_this_run += 1
        self._note(state.value, reason)
        workflow.upsert_search_attributes(journey_search_attributes(s, self._milestone))
        workflow.set_current_details(current_details(s, self._milestone, self.status()))
        # The reason may quote the customer (a help request): it goes to the UI, not to logs.
        workflow.logger.info(
            "journey transition",
            extra={"state": state.value, "stage": s.progress.key if s.progress else "", "escalation_level": s.escalation_level},
        )

    def _note(self, event: str, detail: str, *, at: datetime | None = None) -> None:
        self._inbox.timeline.append(TimelineEntry(at=at or workflow.now(), event=event, detail=detail))
        del self._inbox.timeline[:-TIMELINE_LENGTH]

    def _fresh(self, event_id: str) -> bool:
        if event_id in self._inbox.seen_event_ids:
            self._note("duplicate event ignored", event_id)
            return False
        self._inbox.seen_event_ids.append(event_id)
        del self._inbox.seen_event_ids[:-SEEN_EVENT_IDS]
        return True

    def _raise_if_cancelled(self) -> None:
        if self._cancel is not None:
            raise JourneyClosed(f"cancelled: {self._cancel.reason}")

    def _maybe_continue_as_new(self) -> None:
        """Hand the journey to a fresh run between steps, when history grows long."""
        every = self._input.continue_as_new_after
        if not (
            workflow.info().is_continue_as_new_suggested()
            or (every is not None and self._transitions_this_run >= every)
        ):
            return
        if not workflow.all_handlers_finished():
            return  # try again at the next step; never drop an update mid-flight
        s = self._state
        s.runs += 1
        s.inbox = self._inbox
        workflow.continue_as_new(
            JourneyInput(deal_id=s.deal.deal_id, carried=s, continue_as_new_after=every)
        )

    def _result(self) -> JourneyResult:
        s = self._s
        if s is None:
            return JourneyResult(
                deal_id=self._input.deal_id,
                state=OnboardingState.closed,
                reason=self._cancel.reason if self._cancel else "closed",
                owner="",
                time_to_first_action_seconds=None,
                milestones=[],
                escalations=0,
            )
        return JourneyResult(
            deal_id=s.deal.deal_id,
            state=s.state,
            reason=s.reason,
            owner=s.owner.owner.id,
            time_to_first_action_seconds=(s.first_action_at - s.started_at).total_seconds()
            if s.first_action_at
            else None,
            milestones=s.outcomes,
            escalations=s.escalations,
            runs=s.runs,
        )

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
