"""Escalation: a human task for the owner; unanswered past the SLA it moves a level up
(owner, backup, manager). It ends with a staff decision (retry, skip, reassign, close),
the customer's own action, or the cancel; an open escalation survives continue-as-new."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.escalations import CloseEscalationTask
    from contracts.journey import OpenEscalation
    from contracts.moments import MomentKind
    from contracts.playbook import Milestone
    from contracts.staff import Decision
    from contracts.status import OnboardingState
    from workflows import decisions, effects, inbox, messages
    from workflows import metrics as journey_metrics
    from workflows.bookkeeping import Bookkeeping
    from workflows.run import JourneyClosed, JourneyRun, Outcome, StaffDecision
    from workflows.waiting import Waiting
    from workflows.waits import Wake


class Escalations:
    def __init__(self, run: JourneyRun, books: Bookkeeping, waiting: Waiting) -> None:
        self.run, self.books, self.waiting = run, books, waiting

    async def escalate(self, m: Milestone, reason: str, trigger: str) -> Outcome | None:
        """A human task for the owner; unanswered past the SLA it moves a level up. Returns
        the milestone outcome decided by the human (or the customer), None to carry on."""
        s = self.run.state
        s.escalations += 1
        opened = OpenEscalation(number=s.escalations, level=1, reason=reason, since=workflow.now())
        if self.run.versions.due_while_held():  # v3.5: the transition shows the human and the SLA already
            s.escalation = opened
        self.books.transition(OnboardingState.escalated, reason, escalation_level=1)
        await self._create_task(m, 1, reason)
        s.escalation = opened
        # the trigger, never the reason: a reason may quote the customer
        await self.books.moment(
            MomentKind.escalated, milestone=m.key, occurrence=s.escalations, detail={"trigger": trigger}
        )
        return await self.await_decision(m)

    async def await_decision(self, m: Milestone) -> Outcome | None:
        run = self.run
        s, policy = run.state, run.playbook.escalation
        while (open_ := s.escalation) is not None:
            has_next = decisions.has_next_level(policy, open_.level)
            until = decisions.sla_due(s, open_.level, open_.since) if has_next else None
            wake = await self.waiting.wait(
                {Wake.decided, Wake.acted},
                until=until,
                summary=f"escalation level {open_.level}: wait up to {policy.sla_hours} for a decision"
                if until
                else None,
            )
            if wake is Wake.due:
                open_.level += 1
                if run.versions.due_while_held():  # v3.5: the transition shows the new level's SLA
                    open_.since = workflow.now()
                who, _ = decisions.escalation_assignee(policy, open_.level, s.owner)
                journey_metrics.escalation_moved_up(s.deal.segment, run.playbook.name, open_.level)
                self.books.transition(
                    OnboardingState.escalated,
                    f"{open_.reason}; unanswered for {policy.sla_hours}, moved to {who}",
                    escalation_level=open_.level,
                )
                await self._create_task(m, open_.level, open_.reason)
                open_.since = workflow.now()
                continue
            if wake is Wake.acted:
                await self.close_task("ended_by_customer")
                s.escalation, s.escalation_level = None, 0
                self.drop_decision("the customer acted first")
                run.journal.note("escalation ended by the customer's action", m.key)
                return Outcome.completed
            # what came in meanwhile was the person's to decide on
            if handled := inbox.settle(run.inbox):
                run.journal.note("handled with the escalation", handled)
            return await self._apply_decision()
        return None

    async def _apply_decision(self) -> Outcome | None:
        decision = self.run.decision
        assert decision is not None
        try:
            decision.applied = True
            return await self._apply(decision)
        finally:  # the staff member's update answers once the journey shows the decision
            decision.settled, self.run.decision = True, None

    async def _apply(self, decision: StaffDecision) -> Outcome | None:
        resolution, s, p = decision.resolution, self.run.state, self.run.progress
        await self.close_task("resolved", resolution.decision.value, resolution.by, resolution.note)
        s.escalation, s.escalation_level = None, 0
        p.last_touchpoint = "human"
        self.run.journal.note(f"escalation resolved: {resolution.decision.value} by {resolution.by}", resolution.note)
        if resolution.decision is Decision.close:
            raise JourneyClosed(f"closed by {resolution.by}: {resolution.note or 'no note'}")
        if resolution.decision is Decision.skip:
            return Outcome.skipped
        if decision.owner is not None:
            previous, s.owner = s.owner.owner.id, decision.owner
            s.assignments += 1
            await self.books.tell_manager_if_short()
            await self.books.owner_assigned(previous)
        # retry / reassign: start the milestone's conversation over, from the direction; a
        # retry after a direction went out says so (the milestone's `retry` message, if any).
        p.retried = resolution.decision is Decision.retry and p.direction_sent_at is not None
        p.direction_sent_at, p.due_at, p.follow_ups_sent, p.failures = None, None, 0, 0
        p.last_help = None  # a failure after the fresh start gets its help, even for the same reason
        s.arrived_by_action = False
        self.books.transition(OnboardingState.awaiting_action, f"{resolution.decision.value} by {resolution.by}")
        return None

    def drop_decision(self, why: str) -> None:
        if self.run.decision is not None:
            self.run.journal.note("staff decision not applied", why)
            self.run.decision.settled, self.run.decision = True, None

    async def close_task(
        self, outcome: str, decision: str | None = None, by: str | None = None, note: str = ""
    ) -> None:
        """The open escalation's task in the records ends with it."""
        s = self.run.state
        if s.escalation is None:
            return
        await effects.close_task(
            CloseEscalationTask(
                workflow_id=workflow.info().workflow_id,
                escalation=s.escalation.number,
                outcome=outcome,
                decision=decision,
                by=by,
                note=note[:2000],
                at=workflow.now(),
            )
        )
        await self.books.moment(
            MomentKind.resolved,
            milestone=self.run.progress.key,
            touchpoint="human",
            occurrence=s.escalation.number,
            detail={"outcome": outcome, "decision": decision},
        )

    async def _create_task(self, m: Milestone, level: int, reason: str) -> None:
        s = self.run.state
        # v3.8: not cut short by a cancellation request, so the task the journey closes exists
        await self.run.whole(effects.create_task(messages.task_request(s, self.run.playbook, m, level, reason)))
