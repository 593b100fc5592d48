"""The steps of a milestone: tell the customer the one action (direction), follow up
(clarify, simplify, redirect), wait for them, answer a failed attempt, hold while staff
pause. Each step is effects (activities via `effects`) around decisions made by pure
functions (`decisions`, `inbox`, `waits`, `business_hours`); the order of steps is
`OnboardingWorkflow._run_milestone`."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.journey import ScheduledSend, SentHelp
    from contracts.messages import MessageTemplate
    from contracts.moments import MomentKind
    from contracts.playbook import Action, FollowUp, Milestone
    from contracts.status import OnboardingState
    from workflows import business_hours, decisions, effects, inbox, messages, waits
    from workflows.bookkeeping import Bookkeeping
    from workflows.run import JourneyRun
    from workflows.waiting import Waiting
    from workflows.waits import CUSTOMER, Wake


class Steps:
    def __init__(self, run: JourneyRun, books: Bookkeeping, waiting: Waiting) -> None:
        self.run, self.books, self.waiting = run, books, waiting

    async def direct(self, m: Milestone) -> None:
        """Tell the customer the ONE next action. Right after their own action it is a reply
        (immediate); otherwise it is proactive (business hours, one per day)."""
        run = self.run
        # after a staff retry the playbook's retry message, when it has one, not the same words again
        template = m.retry if run.progress.retried and m.retry is not None else m.direction
        sent_at = await self._send_customer(
            m, "direction", template, m.action, proactive=not run.state.arrived_by_action
        )
        if sent_at is None:
            return
        run.progress.retried = False
        # Recorded first: what staff (and tests) see, the due time with its "told" reason, is
        # set in one go after the record, never half of it while the record is written.
        await self.books.moment(MomentKind.told, milestone=m.key, touchpoint="direction", occurrence=run.state.messages)
        p = run.progress
        p.direction_sent_at, p.due_at = sent_at, decisions.customer_due(run.state, sent_at, m.window_hours)
        p.last_touchpoint = "direction"
        told = f"told to '{m.action.title}'"
        if run.inbox.unsubscribed_at is not None:
            told = f"customer unsubscribed: the owner brings up '{m.action.title}'"
        self.books.transition(OnboardingState.awaiting_action, told)

    async def follow_up(self, m: Milestone, follow_up: FollowUp) -> None:
        action = follow_up.alternate or decisions.current_action(m, self.run.progress)
        sent_at = await self._send_customer(m, follow_up.kind.value, follow_up.message, action, proactive=True)
        if sent_at is None:
            return
        p = self.run.progress
        p.follow_ups_sent += 1
        p.last_touchpoint = follow_up.kind.value
        p.due_at = decisions.customer_due(self.run.state, sent_at, follow_up.wait_hours)
        self.books.transition(
            OnboardingState.clarifying,
            f"no '{m.action.title}' by its due time: sent {follow_up.kind.value} ({p.follow_ups_sent}/{len(m.follow_ups)})",
        )

    async def await_customer(self, m: Milestone) -> Wake:
        run = self.run
        p = run.progress
        if p.due_at is not None and p.due_at <= workflow.now():
            return self.overdue(m)
        run.rescheduled = False
        title = decisions.current_action(m, p).title
        return await self.waiting.wait(
            CUSTOMER | {Wake.paused, Wake.rescheduled},
            until=p.due_at,
            summary=f"wait for '{title}' until {run.describe(p.due_at)}" if p.due_at else None,
        )

    def overdue(self, m: Milestone) -> Wake:
        """The due time has passed: the customer's input waiting in the inbox (their action, a
        failed attempt, a help request, an unsubscribe) is answered first, then the follow-up
        (v3.4, `waits.overdue`). Each answer takes its input out of the inbox, so the journey
        comes back here to the follow-up, which may then wait for business hours or the cap."""
        run = self.run
        s, p, box = run.state, run.progress, run.inbox
        waiting = waits.pending(CUSTOMER, box, s, m)
        if waiting is None:
            return Wake.due  # no marker: the patch is asked only where the order can differ
        spins = waits.spins_before_v3_4(
            waiting,
            follow_up_left=decisions.next_follow_up(m, p) is not None,
            held=self._proactive_send_time() > workflow.now(),
            unsubscribed=box.unsubscribed_at is not None,
            paused=s.pause is not None,
            cancelled=box.cancel is not None,
        )
        return waits.overdue(waiting, inbox_first=run.versions.inbox_before_due(), spins_otherwise=spins)

    def _proactive_send_time(self) -> datetime:
        """The earliest moment a proactive message may go out: business hours, daily cap."""
        return decisions.proactive_send_time(self.run.state, workflow.now())

    async def hold_while_paused(self) -> None:
        """While staff hold the journey nothing is sent and the window stands still; on
        resume it runs on for the time it had left (kept in the state: a paused journey
        may continue as new)."""
        s, p = self.run.state, self.run.progress
        if s.pause is None:
            return
        if p.due_at is not None:
            s.paused_left_seconds = max((p.due_at - workflow.now()).total_seconds(), 0.0)
            p.due_at = None
        self.books.transition(s.state, f"paused by {s.pause.by}" + (f": {s.pause.reason}" if s.pause.reason else ""))
        await self.waiting.wait({Wake.resumed})
        if s.paused_left_seconds is not None:
            p.due_at, s.paused_left_seconds = workflow.now() + timedelta(seconds=s.paused_left_seconds), None
        self.books.transition(s.state, "resumed")

    async def answer_failure(self, m: Milestone) -> str | None:
        """A failed attempt gets contextual help at once; a burst of failures is answered
        once. Returns why to escalate when the failures are too many, else None."""
        taken = inbox.take_failures(self.run.inbox, m.events())
        if taken is None:
            self.run.journal.note("failure for another step ignored")
            return None
        count, action, reason = taken
        p = self.run.progress
        p.failures += count
        reason = reason or "unknown error"
        if p.last_help is not None and self._repeats_help(m, action, reason):
            self.run.journal.note(
                "help not sent again",
                f"'{action}' failed again for the same reason as the help sent at {p.last_help.at:%H:%M} UTC "
                f"(counted, not emailed twice): {reason}",
            )
        else:
            template = m.help_again if p.helped and m.help_again is not None else m.help
            sent_at = await self._send_customer(
                m, "help", template, decisions.current_action(m, p), proactive=False, reason=reason
            )
            if sent_at is not None:
                p.helped += 1
                p.last_help = SentHelp(action=action, reason=reason, at=sent_at)
        if decisions.failures_exhausted(self.run.playbook.escalation, p.failures):
            return f"{p.failures} failed attempts at '{action}'"
        return None

    def _repeats_help(self, m: Milestone, action: str, reason: str) -> bool:
        """Whether this failure would repeat the help just sent, word for word (v3.10): the
        patch is asked only then, so a journey that never repeats itself carries no marker."""
        if not decisions.repeats_help(m, self.run.progress.last_help, action, reason, workflow.now()):
            return False
        return self.run.versions.coalesces_identical_help()

    async def _send_customer(
        self, m: Milestone, step: str, template: MessageTemplate, action: Action, *, proactive: bool, reason: str = ""
    ) -> datetime | None:
        """Send one customer message; returns when it was sent. A proactive one waits for
        business hours and the daily cap, and is dropped (None) if the customer acts, fails,
        asks for help or unsubscribes meanwhile: the journey answers that first (`overdue`)
        and then comes back to this message."""
        run = self.run
        s, box = run.state, run.inbox
        if box.unsubscribed_at is not None:  # no email; the owner is the touchpoint
            run.journal.note(f"{step} not emailed: the customer unsubscribed", action.title)
            return workflow.now()
        if proactive:
            send_at = self._proactive_send_time()
            if send_at > workflow.now():
                s.next_send = ScheduledSend(step=step, at=send_at)  # the journey waits on itself
                wake = await self.waiting.wait(
                    CUSTOMER | {Wake.paused},
                    until=send_at,
                    summary=f"hold the {step} for business hours: {run.describe(send_at)}",
                )
                s.next_send = None
                if wake is not Wake.due:
                    return None
                if run.rescheduled:  # staff moved the due time while this waited: the new one rules
                    return None
            today = business_hours.local_day(workflow.now(), s.deal.account.timezone)
            s.proactive_count = s.proactive_count + 1 if s.proactive_day == today else 1
            s.proactive_day = today
        run.raise_if_cancelled()
        if s.pause is not None:
            return None  # held: the journey says it again, if still relevant, after resume
        s.messages += 1
        sent_at = workflow.now()
        due = run.progress.due_at or decisions.customer_due(s, sent_at, m.window_hours)
        request = messages.customer_message(s, run.playbook, m, step, template, action, due, reason)
        receipt = await effects.send(
            request, f"{run.playbook.channels.customer} {step} '{action.title}' to the customer"
        )
        if receipt.suppressed:  # unsubscribed earlier (another journey's link): as if signalled
            box.unsubscribed_at = box.unsubscribed_at or workflow.now()
            run.journal.note(f"{step} not emailed: the customer unsubscribed", action.title)
            return sent_at
        run.journal.note(f"sent {step}", action.title, at=sent_at)
        return sent_at
