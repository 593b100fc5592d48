"""OnboardingWorkflow: one durable journey per closed deal.

Reads top to bottom like the product: assign one owner, tell the customer the ONE first
action, wait on what they do. Action taken: advance. Not taken: clarify, simplify,
redirect. Stuck, failing or asking for help: escalate to a human, who resolves it.

This class is the table of contents: the run, the milestone loop and every signal, update
and query. Its parts are plain objects, each in its own module, sharing one `JourneyRun`
(`run.py`: input, state, inbox, journal, deal, versions): `books` (bookkeeping.py:
transitions, status, moments), `waiting` (waiting.py: the one wait, continue-as-new),
`steps` (steps.py: direction, follow-ups, failures, pause), `escalations` (escalations.py:
human tasks and decisions), `playbook_hold` (playbook_hold.py: no playbook can run it yet),
`staff` (staff.py: the staff actions). Decisions are pure functions (`decisions`, `waits`,
`inbox`, `status`), effects are activities (`effects`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.journey import (
        AcknowledgementWait,
        JourneyInput,
        JourneyResult,
        JourneyState,
        MilestoneOutcome,
        MilestoneProgress,
    )
    from contracts.moments import MomentKind
    from contracts.owners import OwnerAssignment
    from contracts.playbook import Milestone
    from contracts.signals import (
        ActionFailed,
        ActionTaken,
        Cancel,
        DealInCrm,
        HelpRequested,
        OwnerAcknowledged,
        Unsubscribed,
    )
    from contracts.staff import ExtendDeadline, Pause, ReassignOwner, ResolveEscalation, Resume
    from contracts.status import OnboardingState, Status
    from workflows import acknowledgement, cancellation, decisions, effects, inbox, staffing
    from workflows import status as report
    from workflows.bookkeeping import Bookkeeping
    from workflows.details import starting_details
    from workflows.escalations import Escalations
    from workflows.inputs import Refused, parse
    from workflows.playbook_hold import PlaybookWait
    from workflows.run import ENDED, HandOver, JourneyClosed, JourneyRun, Outcome
    from workflows.staff import Staff
    from workflows.steps import Steps
    from workflows.versions import Versions
    from workflows.waiting import Waiting
    from workflows.waits import CUSTOMER, Wake


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflow:
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self.journey = run = JourneyRun(input, Versions(self._patched))
        self.books = Bookkeeping(run)
        self.waiting = Waiting(run, self.books)
        self.escalations = Escalations(run, self.books, self.waiting)
        self.steps = Steps(run, self.books, self.waiting)
        self.playbook_hold = PlaybookWait(run, self.books, self.waiting)
        self.staff = Staff(run, self.books)

    def _patched(self, patch_id: str) -> bool:
        """The one seam between versions: tests stand in for an older worker by answering
        it differently (tests/harness/versions.py)."""
        return workflow.patched(patch_id)

    # ------------------------------------------------------------------ the journey

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        run = self.journey
        run.versions = Versions.read(self._patched)
        run.journal.upsert_changes_only = run.versions.fewer_commands
        self.books.show()  # a continued run: the Web UI shows its details from the start
        if not run.versions.closes_on_cancel_request:  # before v3.8: a cancellation request stops the run
            try:
                await self._journey()
            except JourneyClosed as closed:
                await self._close(str(closed))
            return await self._last_steps()
        why: str | None = None
        try:
            await self._journey()
        except JourneyClosed as closed:
            why = str(closed)
        except cancellation.CAUGHT as err:
            if not cancellation.interrupted(err):  # the request reached the journey where it waited or worked
                raise
            why = cancellation.reason()
        # a request arriving during the end comes too late to change it, and cuts none of it short
        return await cancellation.shielded(self._end(why), then_raise=False)

    async def _journey(self) -> None:
        """From the start (or where the previous run stopped) to activation, or the hand-over
        to the next run. Raises JourneyClosed when the journey closes on the way."""
        run = self.journey
        try:
            if not run.started:
                await self._start()
            elif (
                self._owner_before_kickoff()
                and run.versions.owner_wait_across_runs()
                and not self._answers_before_kickoff()  # v3.6: the milestone's loop waits for the owner
            ):
                await self._await_owner()  # this run took over while the kickoff waited for the owner
            milestones = run.playbook.milestones
            while (index := run.progress.index) < len(milestones):
                outcome = await self._run_milestone(milestones[index])
                await self._finish_milestone(milestones, outcome)
            self.books.transition(OnboardingState.activated, "every milestone is done")
            await self.books.moment(MomentKind.activated)
        except HandOver:
            await self.waiting.continue_as_new()

    async def _close(self, why: str) -> None:
        """The journey closes before activation (the cancel, a staff `close`, or v3.8 a
        cancellation request): state, open task, milestone and moments end with it."""
        self.books.transition(OnboardingState.closed, why)
        await self._closed_midway(why)
        await self.playbook_hold.ended(why)

    async def _end(self, closed: str | None) -> JourneyResult:
        """v3.8: the journey's end, closed (`closed`: why) or not, then its last steps."""
        run = self.journey
        if run.started and run.state.state in ENDED:  # activated: a request arriving now comes too late
            closed = None
        if closed is not None:
            if closed == cancellation.reason():  # the request's sender is in the history only
                closed = cancellation.reason(await effects.requester())
            if not run.started and run.hold is None:  # closed before the journey really started
                run.closed_before_start = closed
            await self._close(closed)
        return await self._last_steps()

    async def _last_steps(self) -> JourneyResult:
        """Whatever ended the journey: the staff decision waiting dropped, the updates in
        flight answered, the moments written, the owner's place released, the result."""
        run = self.journey
        self.escalations.drop_decision("the journey ended")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.books.record_held_moments()
        if run.started:
            await effects.release_owner(run.state.deal, run.state.owner.owner.id)
        elif run.hold is not None and run.deal is not None:  # ended while no playbook could run it
            await effects.release_owner(run.deal, run.hold.owner.owner.id)
        return report.result(
            run.state if run.started else None, run.input.deal_id, run.inbox, run.hold, closed=run.closed_before_start
        )

    async def _start(self) -> None:
        """Deal details, playbook snapshot, one owner."""
        run = self.journey
        if run.deal is None and run.crm is None:
            # Started by an early product event: wait for the deal, or word that the CRM has it.
            workflow.set_current_details(starting_details(run.input.deal_id, self.books.status()))
            await self.waiting.wait({Wake.deal})
        if run.deal is None:
            assert run.crm is not None
            run.deal = await effects.fetch_deal(run.crm, run.input.deal_id)
        deal = run.deal
        held: OwnerAssignment | None = None  # the owner a journey without a playbook took (v3.3)
        try:
            snapshot = await effects.snapshot(deal) if run.hold is None else None
        except ActivityError as err:
            self.playbook_hold.hold_on(err)  # no playbook can run it: a human decides (v3.3); else it fails as before
            snapshot = None
        if snapshot is None:
            snapshot, held = await self.playbook_hold.wait_for_playbook(deal)
        run.raise_if_cancelled()
        owners = held or await self._assign_owner(deal)
        now = workflow.now()
        run.state = s = JourneyState(
            deal=deal,
            playbook=snapshot,
            owner=owners,
            started_at=now,
            inbox=run.inbox,
            progress=MilestoneProgress(index=0, key=snapshot.playbook.milestones[0].key, started_at=now),
        )
        if run.hold is not None:  # the human tasks it had count: the next escalation is a new one
            s.escalations, run.hold = run.hold.escalations, None
            self.escalations.drop_decision("a playbook can run the journey now")
        if snapshot.notice:  # the fallback, or the last good version of a broken file
            run.journal.note("playbook", snapshot.notice)
        self.books.transition(OnboardingState.awaiting_action, staffing.assigned_reason(owners))
        await self.books.moment(MomentKind.started, held=True)  # written with the kickoff's `told`
        await self.books.owner_assigned(previous=None, held=True)
        await self._after_assignment()

    async def _assign_owner(self, deal: DealClosed) -> OwnerAssignment:
        return await self.journey.whole(effects.assign_owner(deal, workflow.now().date()))

    async def _after_assignment(self) -> None:
        """Over capacity: the manager is told. Then the owner's acknowledgement: beside the
        kickoff by default, before it when the playbook says so."""
        run = self.journey
        s = run.state
        await self.books.tell_manager_if_short()
        policy = run.playbook.acknowledgement()
        if not policy.hours.amount or s.owner.unstaffed:
            return
        owner = s.owner.owner
        hours, closed = run.playbook.business_hours, s.playbook.closed_days
        until = acknowledgement.deadline(workflow.now(), owner.timezone, hours, policy.hours, closed)
        s.acknowledgement = AcknowledgementWait(owner_id=owner.id, until=until, before_kickoff=policy.before_kickoff)
        if policy.before_kickoff:
            self.books.transition(OnboardingState.awaiting_action, acknowledgement.waiting_reason(owner, until))
            if not self._answers_before_kickoff():
                await self._await_owner()  # before v3.6: the customer's input waits for the kickoff

    def _owner_before_kickoff(self) -> bool:
        run = self.journey
        ack = run.state.acknowledgement
        return ack is not None and ack.before_kickoff and run.progress.direction_sent_at is None

    def _answers_before_kickoff(self) -> bool:
        """v3.6: whether this run answers the customer while the kickoff waits for the owner
        (asked where that wait begins; `run.owner_wait_in_loop` keeps the answer)."""
        run = self.journey
        run.owner_wait_in_loop = run.versions.input_before_kickoff()
        return run.owner_wait_in_loop

    def _kickoff_waits_for_owner(self) -> bool:
        """v3.6: the first milestone's kickoff waits for the owner here, in the milestone's
        loop, so the customer's input meanwhile is answered as after the kickoff."""
        return self.journey.owner_wait_in_loop and self.journey.progress.index == 0 and self._owner_before_kickoff()

    async def _await_owner(self, listen: frozenset[Wake] = frozenset({Wake.acknowledged, Wake.acted})) -> Wake:
        """The kickoff waits for the owner's acknowledgement, or the customer acting first
        (from v3.6 also for their failed attempt, help request or unsubscribe: `listen`)."""
        run = self.journey
        s = run.state
        if run.owner_wait_in_loop and s.acknowledgement is not None:
            # back to the owner's wait after answering the customer (or an escalation's retry)
            waiting = acknowledgement.waiting_reason(s.owner.owner, s.acknowledgement.until)
            if s.reason != waiting:
                self.books.transition(OnboardingState.awaiting_action, waiting)
        wake = await self.waiting.wait(listen)
        if acknowledgement.acknowledged(run.inbox.acknowledged_by, s.owner.owner):
            self.books.transition(OnboardingState.awaiting_action, f"owner {s.owner.owner.name} acknowledged")
        return wake

    async def _run_milestone(self, m: Milestone) -> Outcome:
        """direct -> await action -> advance | follow up | escalate."""
        run = self.journey
        s, p, steps, escalations = run.state, run.progress, self.steps, self.escalations
        while True:
            await steps.hold_while_paused()
            if s.escalation is not None:  # an escalation carried over from the previous run
                if outcome := await escalations.await_decision(m):
                    return outcome
                continue
            if decisions.completing_event(m, run.inbox):
                return Outcome.completed
            if p.direction_sent_at is None:
                if self._kickoff_waits_for_owner():  # v3.6: the customer is answered meanwhile
                    self.waiting.maybe_continue_as_new()
                    wake = await self._await_owner(CUSTOMER | {Wake.acknowledged})
                    if wake is Wake.acted:
                        return Outcome.completed
                    if outcome := await self._answer(m, wake):
                        return outcome
                    continue  # the owner acknowledged (or did not in time), or the input is answered
                if p.index == 0 and not s.high_risk_checked:
                    s.high_risk_checked = True
                    if review := decisions.high_value_review(run.playbook.escalation, s.deal):
                        if outcome := await escalations.escalate(m, review, "high_value"):
                            return outcome
                        continue
                await steps.direct(m)
                if s.owner.unstaffed and not s.unstaffed_escalated and p.direction_sent_at:
                    s.unstaffed_escalated = True
                    if outcome := await escalations.escalate(
                        m, f"nobody can own this journey: {s.owner.unstaffed}", "unstaffed"
                    ):
                        return outcome
                    continue
            self.waiting.maybe_continue_as_new()
            wake = await steps.await_customer(m)
            if wake is Wake.acted:
                return Outcome.completed
            if outcome := await self._answer(m, wake):
                return outcome

    async def _answer(self, m: Milestone, wake: Wake) -> Outcome | None:
        """Answer what woke the journey: a failed attempt gets help (escalated when too many),
        a help request or an unsubscribe escalates, a due time sends the next follow-up
        (escalated after the last). Returns the outcome a human decided, None to look again."""
        run = self.journey
        s, p, steps, escalations = run.state, run.progress, self.steps, self.escalations
        if wake is Wake.failed:
            too_many = await steps.answer_failure(m)
            return await escalations.escalate(m, too_many, "failures") if too_many else None
        if wake is Wake.help:
            count, message = inbox.take_help(run.inbox)
            more = f" ({count} requests)" if count > 1 else ""
            return await escalations.escalate(m, f"customer asked for help{more}: {message[:200]}", "help")
        if wake is Wake.unsubscribed:
            s.unsubscribe_escalated = True
            return await escalations.escalate(
                m, "customer unsubscribed from onboarding emails: reach them directly", "unsubscribed"
            )
        if wake is Wake.due:
            if (follow_up := decisions.next_follow_up(m, p)) is not None:
                await steps.follow_up(m, follow_up)
                return None
            return await escalations.escalate(m, f"no '{m.action.title}' after every follow-up", "follow_ups")
        return None  # paused, rescheduled, the owner acknowledged: look again

    async def _finish_milestone(self, milestones: list[Milestone], outcome: Outcome) -> None:
        run = self.journey
        s, p, now = run.state, run.progress, workflow.now()
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
        run.journal.note(f"milestone {outcome.value}", p.key)
        s.arrived_by_action = outcome is Outcome.completed and self._replies_at_once(milestones[p.index])
        nxt = p.index + 1
        key = milestones[nxt].key if nxt < len(milestones) else p.key
        s.progress = MilestoneProgress(index=nxt, key=key, started_at=now)
        if nxt < len(milestones):
            self.books.transition(
                OnboardingState.awaiting_action, f"'{p.key}' {outcome.value}; next: {milestones[nxt].title}"
            )
        # the moments after the state moved on: a staff update waiting on this step sees the new
        # stage. Held (v3.2): written with the next milestone's `told`, or before the next wait.
        if first_action:
            await self.books.moment(MomentKind.first_action, milestone=p.key, held=True)
        kind = MomentKind.milestone_completed if outcome is Outcome.completed else MomentKind.milestone_skipped
        await self.books.moment(kind, milestone=p.key, touchpoint=p.last_touchpoint or None, held=True)

    def _replies_at_once(self, m: Milestone) -> bool:
        """Whether the next direction answers the customer's action at once: the action that
        completed `m` just arrived (since the milestone began and since anything else, a staff
        decision, a resume, a due time, last woke the journey). One remembered from earlier
        (done ahead, before a skip or during a pause) leaves a proactive direction: business
        hours and the daily cap (v3.7). Before, every completion was replied to at once."""
        run = self.journey
        p = run.progress
        since = max(p.started_at, run.woken_otherwise_at or p.started_at)
        if decisions.acted_since(m, run.inbox, since):
            return True
        return not run.versions.proactive_after_remembered()  # asked only where the answer differs

    async def _closed_midway(self, why: str) -> None:
        """A journey closed before activation: its open task and its milestone end with it."""
        run = self.journey
        if not run.started:
            return
        if run.state.escalation is not None:
            await self.escalations.close_task("cancelled", note=why)
        if run.milestone is not None:
            await self.books.moment(MomentKind.milestone_closed, milestone=run.milestone.key)
        await self.books.moment(MomentKind.closed)

    # ------------------------------------------------------------------ signals: they only record
    # Input that cannot be used is refused visibly on the journey (timeline "ignored ...",
    # `status.refused_inputs`), never by failing a workflow task. See `workflows/inputs.py`
    # for why the handlers take `Model | JsonValue`.

    def _accept(self, model: type[Any], name: str, request: object, extra: tuple[object, ...]) -> Any:
        try:
            return parse(model, name, request, extra)
        except Refused as refusal:
            self.journey.journal.refused(str(refusal))
            self.books.show()
            return None

    def _first_time(self, event_id: str) -> bool:
        if inbox.first_time(self.journey.inbox, event_id, workflow.now()):
            return True
        self.journey.journal.note("duplicate event ignored", event_id)
        self.books.show()  # a no-op staff can see: it is in Recent, not only in `status`
        return False

    @workflow.signal
    def deal_closed(self, deal: DealClosed | JsonValue = None, *extra: JsonValue) -> None:
        run = self.journey
        if (event := self._accept(DealClosed, "deal_closed", deal, extra)) and run.deal is None:
            run.deal = event
            run.journal.note("deal details received", event.deal_id)

    @workflow.signal
    def deal_in_crm(self, notice: DealInCrm | JsonValue = None, *extra: JsonValue) -> None:
        """The CRM has the deal: a journey started by an early event fetches it from there."""
        run = self.journey
        if (event := self._accept(DealInCrm, "deal_in_crm", notice, extra)) and run.deal is None and run.crm is None:
            run.crm = event.crm
            run.journal.note("deal is in the CRM", event.crm)

    @workflow.signal
    def action_taken(self, event: ActionTaken | JsonValue = None, *extra: JsonValue) -> None:
        taken = self._accept(ActionTaken, "action_taken", event, extra)
        if taken and self._first_time(taken.event_id) and inbox.record_taken(self.journey.inbox, taken, workflow.now()):
            self.journey.journal.note("action taken", taken.action)
            self.books.show()  # an action no milestone listens for (misspelled?) is marked there

    @workflow.signal
    def action_failed(self, event: ActionFailed | JsonValue = None, *extra: JsonValue) -> None:
        failed = self._accept(ActionFailed, "action_failed", event, extra)
        if failed and self._first_time(failed.event_id) and inbox.record_failure(self.journey.inbox, failed):
            # the customer's own failure text, for signed-in staff (current details are encrypted)
            self.journey.journal.note("action failed", f"{failed.action}: {failed.reason}")
            self.books.show()

    @workflow.signal
    def help_requested(self, event: HelpRequested | JsonValue = None, *extra: JsonValue) -> None:
        if (request := self._accept(HelpRequested, "help_requested", event, extra)) and self._first_time(
            request.event_id
        ):
            inbox.record_help(self.journey.inbox, request)
            self.journey.journal.note("help requested", request.message)
            self.books.show()

    @workflow.signal(description='The owner confirms they own the journey: {"by": "<owner id or email>"}.')
    def owner_acknowledged(self, ack: OwnerAcknowledged | JsonValue = None, *extra: JsonValue) -> None:
        if not (event := self._accept(OwnerAcknowledged, "owner_acknowledged", ack, extra)):
            return
        run = self.journey
        run.inbox.acknowledged_by = [*run.inbox.acknowledged_by, event.by][-10:]
        s = run.state if run.started else None
        if s is not None and not acknowledgement.acknowledges(event.by, s.owner.owner):
            run.journal.note("acknowledgement ignored", f"{event.by}: not the owner (`{s.owner.owner.id}`)")
        else:
            run.journal.note("owner acknowledged", event.by)
        if s is not None and s.acknowledgement is not None and acknowledgement.acknowledges(event.by, s.owner.owner):
            s.acknowledgement = None
        self.books.show()

    @workflow.signal
    def cancel(self, event: Cancel | JsonValue = None, *extra: JsonValue) -> None:
        run = self.journey
        if (cancel := self._accept(Cancel, "cancel", event, extra)) and run.inbox.cancel is None:
            run.inbox.cancel = cancel
            run.journal.note("cancel", cancel.reason)

    @workflow.signal(description="The contact used the one-click unsubscribe link: no more customer email.")
    def unsubscribed(self, event: Unsubscribed | JsonValue = None, *extra: JsonValue) -> None:
        run = self.journey
        if (notice := self._accept(Unsubscribed, "unsubscribed", event, extra)) and run.inbox.unsubscribed_at is None:
            run.inbox.unsubscribed_at = notice.at
            run.journal.note("unsubscribed", "no more customer email; the owner takes over")

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self.journey.journal.refused(f"{name[:60]}: no such signal (see the journey's signal list)")
        self.books.show()  # staff see it where they look, as for any refused input

    # ------------------------------------------------------------------ staff updates: decisions (staff.py)

    @workflow.update(description="Resolve an escalation: retry, skip, reassign (with owner) or close.")
    async def resolve_escalation(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> Status:
        return await self.staff.resolve(parse(ResolveEscalation, "resolve_escalation", request, extra))

    @resolve_escalation.validator
    def _validate_resolution(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> None:
        self.staff.validate_resolution(parse(ResolveEscalation, "resolve_escalation", request, extra))

    @workflow.update(description="Give the journey to another owner: {owner, by, note}.")
    async def reassign_owner(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> Status:
        return await self.staff.reassign(parse(ReassignOwner, "reassign_owner", request, extra))

    @reassign_owner.validator
    def _validate_reassign(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> None:
        self.staff.validate_reassign(parse(ReassignOwner, "reassign_owner", request, extra))

    @workflow.update(description="Move the current due time later: {until (ISO 8601 with offset), by, note}.")
    def extend_deadline(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> Status:
        return self.staff.extend(parse(ExtendDeadline, "extend_deadline", request, extra))

    @extend_deadline.validator
    def _validate_extend(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> None:
        self.staff.validate_extend(parse(ExtendDeadline, "extend_deadline", request, extra))

    @workflow.update(description="Hold the journey: no messages, windows stop. {by, reason}.")
    def pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> Status:
        return self.staff.pause(parse(Pause, "pause", request, extra))

    @pause.validator
    def _validate_pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> None:
        parse(Pause, "pause", request, extra)
        self.staff.validate_pause()

    @workflow.update(description="Let a paused journey go on where it stopped. {by, note}.")
    def resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> Status:
        return self.staff.resume(parse(Resume, "resume", request, extra))

    @resume.validator
    def _validate_resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> None:
        parse(Resume, "resume", request, extra)
        self.staff.validate_resume()

    # ------------------------------------------------------------------ query

    @workflow.query
    def status(self) -> Status:
        return self.books.status()
