"""Escalation: a human task for the owner; unanswered past the SLA it moves a level up
(owner, backup, manager). It ends with a staff decision (retry, skip, reassign, close),
the customer's own action, or the cancel; an open escalation survives continue-as-new."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.escalations import CloseEscalationTask
    from contracts.journey import OpenEscalation
    from contracts.moments import MomentKind
    from contracts.playbook import Milestone
    from contracts.staff import Decision
    from contracts.status import OnboardingState
    from workflows import decisions, effects, inbox, messages
    from workflows.base import JourneyBase, JourneyClosed, Outcome, StaffDecision
    from workflows.waiting import Waiting
    from workflows.waits import Wake


class Escalation(Waiting, JourneyBase):
    async def _escalate(self, m: Milestone, reason: str, trigger: str) -> Outcome | None:
        """A human task for the owner; unanswered past the SLA it moves a level up. Returns
        the milestone outcome decided by the human (or the customer), None to carry on."""
        s = self._state
        s.escalations += 1
        self._transition(OnboardingState.escalated, reason, escalation_level=1)
        await self._create_task(m, 1, reason)
        s.escalation = OpenEscalation(number=s.escalations, level=1, reason=reason, since=workflow.now())
        # the trigger, never the reason: a reason may quote the customer
        await self._moment(MomentKind.escalated, milestone=m.key, occurrence=s.escalations, detail={"trigger": trigger})
        return await self._await_decision(m)

    async def _await_decision(self, m: Milestone) -> Outcome | None:
        s, policy = self._state, self._playbook.escalation
        while (open_ := s.escalation) is not None:
            sla = timedelta(hours=policy.sla_hours)
            until = open_.since + sla if decisions.has_next_level(policy, open_.level) else None
            wake = await self._wait(
                {Wake.decided, Wake.acted},
                until=until,
                summary=f"escalation level {open_.level}: wait up to {policy.sla_hours:g}h for a decision"
                if until
                else None,
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
            if wake is Wake.acted:
                await self._close_task("ended_by_customer")
                s.escalation, s.escalation_level = None, 0
                self._drop_decision("the customer acted first")
                self._journal.note("escalation ended by the customer's action", m.key)
                return Outcome.completed
            # v3: what came in meanwhile was the person's to decide on (v1/v2 queued it)
            if self._v3 and (handled := inbox.settle(self._inbox)):
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
        await self._close_task("resolved", resolution.decision.value, resolution.by, resolution.note)
        s.escalation, s.escalation_level = None, 0
        p.last_touchpoint = "human"
        self._journal.note(f"escalation resolved: {resolution.decision.value} by {resolution.by}", resolution.note)
        if resolution.decision is Decision.close:
            raise JourneyClosed(f"closed by {resolution.by}: {resolution.note or 'no note'}")
        if resolution.decision is Decision.skip:
            return Outcome.skipped
        if decision.owner is not None:
            previous, s.owner = s.owner.owner.id, decision.owner
            s.assignments += 1
            if self._v3:
                await self._tell_manager_if_short()
            await self._owner_assigned(previous)
        # retry / reassign: start the milestone's conversation over, from the direction.
        p.direction_sent_at, p.due_at, p.follow_ups_sent, p.failures = None, None, 0, 0
        s.arrived_by_action = False
        self._transition(OnboardingState.awaiting_action, f"{resolution.decision.value} by {resolution.by}")
        return None

    def _drop_decision(self, why: str) -> None:
        if self._decision is not None:
            self._journal.note("staff decision not applied", why)
            self._decision.settled, self._decision = True, None

    async def _close_task(
        self, outcome: str, decision: str | None = None, by: str | None = None, note: str = ""
    ) -> None:
        """The open escalation's task in the records ends with it (v3; older journeys' tasks
        stay as they were written)."""
        s = self._state
        if not self._v3 or s.escalation is None:
            return
        await effects.close_task(
            CloseEscalationTask(
                workflow_id=workflow.info().workflow_id,
                escalation=s.escalation.number,
                outcome=outcome,  # type: ignore[arg-type]
                decision=decision,
                by=by,
                note=note[:2000],
                at=workflow.now(),
            )
        )
        await self._moment(
            MomentKind.resolved,
            milestone=self._progress.key,
            touchpoint="human",
            occurrence=s.escalation.number,
            detail={"outcome": outcome, "decision": decision},
        )

    async def _create_task(self, m: Milestone, level: int, reason: str) -> None:
        s = self._state
        await effects.create_task(messages.task_request(s, self._playbook, m, level, reason))
