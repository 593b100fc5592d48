"""No playbook can run the journey (patch `playbook-unavailable`, v3.3).

The snapshot activity fails at once with a `NoPlaybook` error when no playbook claims the
deal and none is declared the fallback, or when the file that would run it is broken (and
has no last good version in the worker). Before, it retried forever, unseen. Now the journey
is escalated before it starts, the way an unstaffed one goes to the manager: it takes its
owner (a place on the roster), opens a human task for the roster's manager (the owner
when the roster names none) with the reason, says nothing to the customer, and shows the
reason in its status, current details and search attributes (`OnboardingState=escalated`).

It then waits for the human: `resolve_escalation` with `retry` looks for the playbook
again (found: the journey starts as any other, with the owner it holds; still none: a new
task with the reason), `close` ends it. It also looks again by itself every day
(`status.PLAYBOOK_RECHECK`), so journeys start on their own once the playbooks are fixed.
A cancel ends it at any time; the state is carried across continue-as-new (`JourneyInput.held`).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.escalations import CloseEscalationTask, EscalationTaskRequest
    from contracts.journey import PlaybookHold
    from contracts.owners import OwnerAssignment
    from contracts.playbook import PlaybookSnapshot
    from contracts.staff import Decision
    from contracts.status import OnboardingState
    from workflows import effects
    from workflows import status as report
    from workflows.bookkeeping import Bookkeeping
    from workflows.run import JourneyClosed, JourneyRun
    from workflows.waiting import Waiting
    from workflows.waits import Wake


class PlaybookWait:
    """The journey's wait for a playbook that can run it (nothing else runs meanwhile)."""

    def __init__(self, run: JourneyRun, books: Bookkeeping, waiting: Waiting) -> None:
        self.run, self.books, self.waiting = run, books, waiting

    def hold_on(self, err: ActivityError) -> None:
        """The snapshot failed: `NoPlaybook` on v3.3 holds the journey for a human (the
        reason kept for `wait_for_playbook`); anything else fails the journey as before."""
        problem = effects.no_playbook(err)
        if problem is None or not self.run.versions.playbook_unavailable():
            raise err
        self.run.hold_problem = problem

    async def wait_for_playbook(self, deal: DealClosed) -> tuple[PlaybookSnapshot, OwnerAssignment]:
        """Escalated until a playbook can run the journey; returns it with the owner the
        journey holds. A `close` from the human raises JourneyClosed."""
        if self.run.hold is None:
            self.run.raise_if_cancelled()
            owners = await self.run.whole(effects.assign_owner(deal, workflow.now().date()))
            self.run.hold = PlaybookHold(problem=self.run.hold_problem, owner=owners, since=workflow.now())
            await self._open_hold_task(deal)
        hold = self.run.hold
        while True:
            wake = await self.waiting.wait(
                {Wake.decided},
                until=hold.since + report.PLAYBOOK_RECHECK,
                summary="no playbook: look again (or on a staff decision)",
            )
            decision = self.run.decision if wake is Wake.decided else None
            try:
                if decision is not None:
                    decision.applied = True
                    resolution = decision.resolution
                    await self._close_hold_task(deal, resolution.decision.value, resolution.by, resolution.note)
                    self.run.journal.note(
                        f"escalation resolved: {resolution.decision.value} by {resolution.by}", resolution.note
                    )
                    if resolution.decision is Decision.close:
                        raise JourneyClosed(f"closed by {resolution.by}: {resolution.note or 'no note'}")
                snapshot = await self._snapshot_again(deal, hold)
                if snapshot is not None:
                    if hold.task_open:
                        await self._close_hold_task(deal, "retry", "onboarding", "a playbook can run the journey now")
                    self.run.journal.note("playbook found", f"{snapshot.playbook.name} ({snapshot.source})")
                    return snapshot, hold.owner
                if decision is not None:  # the human's retry found none: a new task, with the reason now
                    await self._open_hold_task(deal)
                else:
                    hold.since = workflow.now()
                    self.books.transition(OnboardingState.escalated, hold.problem)
            finally:
                if decision is not None:  # the staff member's update answers once this is shown
                    decision.settled, self.run.decision = True, None

    async def _snapshot_again(self, deal: DealClosed, hold: PlaybookHold) -> PlaybookSnapshot | None:
        try:
            return await effects.snapshot(deal)
        except ActivityError as err:
            if (problem := effects.no_playbook(err)) is None:
                raise
            hold.problem = problem
            return None

    async def _open_hold_task(self, deal: DealClosed) -> None:
        hold = self.run.hold
        assert hold is not None
        hold.escalations += 1
        hold.since = workflow.now()
        assignee = hold.owner.manager or hold.owner.owner
        hold.level = 3 if hold.owner.manager is not None else 1
        level_name, _ = report.hold_assignee(hold)
        self.books.transition(OnboardingState.escalated, hold.problem)
        workflow_id = workflow.info().workflow_id
        hours = report.PLAYBOOK_RECHECK.total_seconds() / 3600
        task = effects.create_task(
            EscalationTaskRequest(
                key=f"{workflow_id}:playbook:escalation-{hold.escalations}:{hold.level}",
                workflow_id=workflow_id,
                deal_id=deal.deal_id,
                account_name=deal.account.name,
                milestone="playbook",
                level=hold.level,
                level_name=level_name,
                assignee=assignee,
                reason=(
                    f"No playbook can run this journey: {hold.problem}. Nothing has gone to the customer. "
                    "Fix the playbook files (`onboarding playbooks` lists each with its problem), then "
                    f"resolve the escalation with retry, or close it; the journey also looks again every {hours:g} hours."
                ),
                escalation=hold.escalations,
                at=workflow.now(),
            )
        )
        await self.run.whole(task)  # v3.8: not cut short by a cancellation request (the journey closes it)
        hold.task_open = True

    async def _close_hold_task(
        self, deal: DealClosed, decision: str | None, by: str | None, note: str = "", outcome: str = "resolved"
    ) -> None:
        hold = self.run.hold
        if hold is None or not hold.task_open:
            return
        hold.task_open = False
        await effects.close_task(
            CloseEscalationTask(
                workflow_id=workflow.info().workflow_id,
                escalation=hold.escalations,
                outcome=outcome,
                decision=decision,
                by=by,
                note=note[:2000],
                at=workflow.now(),
            )
        )

    async def ended(self, why: str) -> None:
        """Cancelled or closed while no playbook could run it: its open task ends with it."""
        if self.run.hold is not None and self.run.deal is not None:
            await self._close_hold_task(self.run.deal, None, None, note=why, outcome="cancelled")
