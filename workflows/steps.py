"""The steps of a milestone: tell the customer the one action (direction), follow up
(clarify, simplify, redirect), wait for them, answer a failed attempt, hold while staff
pause; and how a journey closed midway ends its task and milestone. Each step is effects
(activities via `effects`) around decisions made by pure functions (`decisions`, `inbox`,
`business_hours`); the order of steps is `OnboardingWorkflow._run_milestone`."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.messages import MessageTemplate
    from contracts.moments import MomentKind
    from contracts.playbook import Action, FollowUp, Milestone
    from contracts.status import OnboardingState
    from workflows import business_hours, decisions, effects, inbox, messages, versions, waits
    from workflows.base import JourneyBase, Outcome
    from workflows.escalation import Escalation
    from workflows.waiting import Waiting
    from workflows.waits import CUSTOMER, Wake


class Steps(Escalation, Waiting, JourneyBase):
    async def _direct(self, m: Milestone) -> None:
        """Tell the customer the ONE next action. Right after their own action it is a reply
        (immediate); otherwise it is proactive (business hours, one per day)."""
        sent_at = await self._send_customer(
            m, "direction", m.direction, m.action, proactive=not self._state.arrived_by_action
        )
        if sent_at is None:
            return
        # Recorded first: what staff (and tests) see, the due time with its "told" reason, is
        # set in one go after the record, never half of it while the record is written.
        await self._moment(MomentKind.told, milestone=m.key, touchpoint="direction", occurrence=self._state.messages)
        p = self._progress
        p.direction_sent_at, p.due_at = sent_at, sent_at + timedelta(hours=m.window_hours)
        p.last_touchpoint = "direction"
        told = f"told to '{m.action.title}'"
        if self._inbox.unsubscribed_at is not None:
            told = f"customer unsubscribed: the owner brings up '{m.action.title}'"
        self._transition(OnboardingState.awaiting_action, told)

    async def _follow_up(self, m: Milestone, follow_up: FollowUp) -> None:
        action = follow_up.alternate or decisions.current_action(m, self._progress)
        sent_at = await self._send_customer(m, follow_up.kind.value, follow_up.message, action, proactive=True)
        if sent_at is None:
            return
        p = self._progress
        p.follow_ups_sent += 1
        p.last_touchpoint = follow_up.kind.value
        p.due_at = sent_at + timedelta(hours=follow_up.wait_hours)
        self._transition(
            OnboardingState.clarifying,
            f"no '{m.action.title}' by its due time: sent {follow_up.kind.value} ({p.follow_ups_sent}/{len(m.follow_ups)})",
        )

    async def _await_customer(self, m: Milestone) -> Wake:
        p = self._progress
        if p.due_at is not None and p.due_at <= workflow.now():
            return self._overdue(m)
        self._rescheduled = False
        title = decisions.current_action(m, p).title
        return await self._wait(
            CUSTOMER | {Wake.paused, Wake.rescheduled},
            until=p.due_at,
            summary=f"wait for '{title}' until {self._describe(p.due_at)}" if p.due_at else None,
        )

    def _overdue(self, m: Milestone) -> Wake:
        """The due time has passed: the customer's input waiting in the inbox (their action, a
        failed attempt, a help request, an unsubscribe) is answered first, then the follow-up
        (v3.4, `waits.overdue`). Each answer takes its input out of the inbox, so the journey
        comes back here to the follow-up, which may then wait for business hours or the cap."""
        s, p, box = self._state, self._progress, self._inbox
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
        return waits.overdue(waiting, inbox_first=self._patched(versions.INBOX_BEFORE_DUE), spins_otherwise=spins)

    def _proactive_send_time(self) -> datetime:
        """The earliest moment a proactive message may go out: business hours, daily cap."""
        s, hours = self._state, self._playbook.business_hours
        full = s.proactive_day if s.proactive_count >= hours.proactive_per_day else None
        return business_hours.next_send_time(workflow.now(), s.deal.account.timezone, hours, full)

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
            return await self._escalate(m, f"{p.failures} failed attempts at '{action}'", "failures")
        return None

    async def _send_customer(
        self, m: Milestone, step: str, template: MessageTemplate, action: Action, *, proactive: bool, reason: str = ""
    ) -> datetime | None:
        """Send one customer message; returns when it was sent. A proactive one waits for
        business hours and the daily cap, and is dropped (None) if the customer acts, fails,
        asks for help or unsubscribes meanwhile: the journey answers that first (`_overdue`)
        and then comes back to this message."""
        s = self._state
        if self._inbox.unsubscribed_at is not None:  # no email; the owner is the touchpoint
            self._journal.note(f"{step} not emailed: the customer unsubscribed", action.title)
            return workflow.now()
        if proactive:
            send_at = self._proactive_send_time()
            if send_at > workflow.now():
                wake = await self._wait(
                    CUSTOMER | {Wake.paused},
                    until=send_at,
                    summary=f"hold the {step} for business hours: {self._describe(send_at)}",
                )
                if wake is not Wake.due:
                    return None
                # Staff moved the due time while this message waited: the new due time rules.
                if self._rescheduled and (self._v3 or self._patched(versions.EXTEND_DURING_HOLD)):
                    return None
            today = business_hours.local_day(workflow.now(), s.deal.account.timezone)
            s.proactive_count = s.proactive_count + 1 if s.proactive_day == today else 1
            s.proactive_day = today
        self._raise_if_cancelled()
        if s.pause is not None:
            return None  # held: the journey says it again, if still relevant, after resume
        s.messages += 1
        sent_at = workflow.now()
        due = self._progress.due_at or (sent_at + timedelta(hours=m.window_hours))
        request = messages.customer_message(s, self._playbook, m, step, template, action, due, reason)
        receipt = await effects.send(
            request, f"{self._playbook.channels.customer} {step} '{action.title}' to the customer"
        )
        if receipt.suppressed:  # unsubscribed earlier (another journey's link): as if signalled
            self._inbox.unsubscribed_at = self._inbox.unsubscribed_at or workflow.now()
            self._journal.note(f"{step} not emailed: the customer unsubscribed", action.title)
            return sent_at
        self._journal.note(f"sent {step}", action.title, at=sent_at)
        return sent_at

    async def _closed_midway(self, why: str) -> None:
        """A journey closed before activation: its open task and its milestone end with it."""
        s = self._s
        if s is None:
            return
        if s.escalation is not None:
            await self._close_task("cancelled", note=why)
        if self._milestone is not None:
            await self._moment(MomentKind.milestone_closed, milestone=self._milestone.key)
        await self._moment(MomentKind.closed)
