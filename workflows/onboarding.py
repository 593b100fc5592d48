"""OnboardingWorkflow: one durable journey per closed deal.

Reads top to bottom like the product: assign one owner, tell the customer the ONE first
action, wait on what they do. Action taken: advance. Not taken: clarify, simplify,
redirect. Stuck, failing or asking for help: escalate to a human, who resolves it.

Decisions are pure functions (`decisions`, `waits`, `inbox`), effects are activities
(`effects`), what staff see is the `journal`. All state lives in one `JourneyState`
carried whole into the next run. Around this file: `handlers` (signals record, updates
decide, one at a time), `waiting` (the one wait, continue-as-new, the owner's
acknowledgement), `steps` (direction, follow-ups, failures, pause: what each step does),
`escalation` (human tasks and decisions), `base` (shared bookkeeping).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.journey import (
        AcknowledgementWait,
        Inbox,
        JourneyInput,
        JourneyResult,
        JourneyState,
        MilestoneOutcome,
        MilestoneProgress,
    )
    from contracts.moments import MomentKind
    from contracts.owners import OwnerAssignment
    from contracts.playbook import Milestone
    from contracts.status import OnboardingState, Status
    from workflows import acknowledgement, decisions, effects, inbox, staffing, versions
    from workflows import status as report
    from workflows.base import HandOver, JourneyBase, JourneyClosed, Outcome, StaffDecision
    from workflows.escalation import Escalation
    from workflows.handlers import Handlers
    from workflows.journal import Journal
    from workflows.playbook_hold import PlaybookHoldPart
    from workflows.steps import Steps
    from workflows.waiting import Waiting
    from workflows.waits import Wake


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflow(Handlers, Steps, Escalation, PlaybookHoldPart, Waiting, JourneyBase):
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
        self._fewer_commands = False
        self._held_moments = []
        self._hold = input.held
        self._hold_problem = ""

    # ------------------------------------------------------------------ the journey

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        self._v3 = self._patched(versions.V3)
        self._fewer_commands = self._v3 and self._patched(versions.FEWER_COMMANDS)
        self._journal.upsert_changes_only = self._fewer_commands
        if self._s is not None:  # a continued run: the Web UI shows its details from the start
            self._journal.show(self._s, self._milestone, self._current_status())
        try:
            try:
                if self._s is None:
                    await self._start()
                elif self._owner_before_kickoff() and self._patched(versions.OWNER_WAIT_ACROSS_RUNS):
                    await self._await_owner()  # this run took over while the kickoff waited for the owner
                milestones = self._playbook.milestones
                while (index := self._progress.index) < len(milestones):
                    outcome = await self._run_milestone(milestones[index])
                    await self._finish_milestone(milestones, outcome)
                self._transition(OnboardingState.activated, "every milestone is done")
                await self._moment(MomentKind.activated)
            except HandOver:
                await self._continue_as_new()
        except JourneyClosed as closed:
            self._transition(OnboardingState.closed, str(closed))
            await self._closed_midway(str(closed))
            await self._hold_ended(str(closed))
        self._drop_decision("the journey ended")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._record_held_moments()
        if self._v3 and self._s is not None:
            await effects.release_owner(self._s.deal, self._s.owner.owner.id)
        elif self._hold is not None and self._deal is not None:  # ended while no playbook could run it
            await effects.release_owner(self._deal, self._hold.owner.owner.id)
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
        held: OwnerAssignment | None = None  # the owner a journey without a playbook took (v3.3)
        try:
            snapshot = await effects.snapshot(deal) if self._hold is None else None
        except ActivityError as err:
            self._hold_on(err)  # no playbook can run it: a human decides (v3.3); else it fails as before
            snapshot = None
        if snapshot is None:
            snapshot, held = await self._await_playbook(deal)
        self._raise_if_cancelled()
        owners = held or await effects.assign_owner(deal, workflow.now().date())
        now = workflow.now()
        self._s = JourneyState(
            deal=deal,
            playbook=snapshot,
            owner=owners,
            started_at=now,
            inbox=self._inbox,
            progress=MilestoneProgress(index=0, key=snapshot.playbook.milestones[0].key, started_at=now),
        )
        if self._hold is not None:  # the human tasks it had count: the next escalation is a new one
            self._s.escalations, self._hold = self._hold.escalations, None
            self._drop_decision("a playbook can run the journey now")
        if snapshot.notice:  # the fallback, or the last good version of a broken file
            self._journal.note("playbook", snapshot.notice)
        self._transition(OnboardingState.awaiting_action, staffing.assigned_reason(owners))
        await self._moment(MomentKind.started, held=True)  # written with the kickoff's `told`
        await self._owner_assigned(previous=None, held=True)
        if self._v3:
            await self._after_assignment()
        elif self._patched(versions.OWNER_ACKNOWLEDGEMENT):
            await self._acknowledgement_before_kickoff_v2()

    async def _after_assignment(self) -> None:
        """Over capacity: the manager is told. Then the owner's acknowledgement: beside the
        kickoff by default, before it when the playbook says so."""
        s = self._state
        await self._tell_manager_if_short()
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
        return (
            self._v3
            and s.acknowledgement is not None
            and s.acknowledgement.before_kickoff
            and self._progress.direction_sent_at is None
        )

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
                        if outcome := await self._escalate(
                            m, "high-value deal: a human reviews the kickoff", "high_value"
                        ):
                            return outcome
                        continue
                await self._direct(m)
                if self._v3 and s.owner.unstaffed and not s.unstaffed_escalated and p.direction_sent_at:
                    s.unstaffed_escalated = True
                    if outcome := await self._escalate(
                        m, f"nobody can own this journey: {s.owner.unstaffed}", "unstaffed"
                    ):
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
                outcome = await self._escalate(m, f"customer asked for help{more}: {message[:200]}", "help")
            elif wake is Wake.unsubscribed:
                s.unsubscribe_escalated = True
                outcome = await self._escalate(
                    m, "customer unsubscribed from onboarding emails: reach them directly", "unsubscribed"
                )
            elif wake is Wake.due:
                if (follow_up := decisions.next_follow_up(m, p)) is not None:
                    await self._follow_up(m, follow_up)
                    continue
                outcome = await self._escalate(m, f"no '{m.action.title}' after every follow-up", "follow_ups")
            else:  # paused or rescheduled: look again
                continue
            if outcome:
                return outcome

    async def _finish_milestone(self, milestones: list[Milestone], outcome: Outcome) -> None:
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
        first_action = outcome is Outcome.completed and s.first_action_at is None and p.index == 0
        if first_action:
            s.first_action_at = now
        self._journal.note(f"milestone {outcome.value}", p.key)
        s.arrived_by_action = outcome is Outcome.completed
        nxt = p.index + 1
        key = milestones[nxt].key if nxt < len(milestones) else p.key
        s.progress = MilestoneProgress(index=nxt, key=key, started_at=now)
        if nxt < len(milestones):
            self._transition(
                OnboardingState.awaiting_action, f"'{p.key}' {outcome.value}; next: {milestones[nxt].title}"
            )
        # the moments after the state moved on: a staff update waiting on this step sees the new
        # stage. Held (v3.2): written with the next milestone's `told`, or before the next wait.
        if first_action:
            await self._moment(MomentKind.first_action, milestone=p.key, held=True)
        kind = MomentKind.milestone_completed if outcome is Outcome.completed else MomentKind.milestone_skipped
        await self._moment(kind, milestone=p.key, touchpoint=p.last_touchpoint or None, held=True)

    # ------------------------------------------------------------------ query

    @workflow.query
    def status(self) -> Status:
        return self._current_status()

    def _result(self) -> JourneyResult:
        return report.result(self._s, self._input.deal_id, self._inbox, self._hold)
