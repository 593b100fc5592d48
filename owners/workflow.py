"""OwnerRosterWorkflow: the one place where owners' places are allocated and released.

An entity workflow, one per namespace and journeys' task queue, run on a task queue of its
own (`roster_task_queue`): its few workflow tasks never wait behind a burst of journeys'
(10,000 kickoffs on one queue held each allocation past its activity's timeout). Its update handlers are synchronous,
so each allocation runs to completion inside one workflow task: Temporal serializes
them, whichever worker (or how many) runs the workflow, and a burst is counted exactly.
`owners/activities.py` reaches it with update-with-start; docs/owners.md says why this
rather than visibility counts or a database lock.
"""

from __future__ import annotations

from pydantic import Field
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contracts.strict import Carried

with workflow.unsafe.imports_passed_through():
    from contracts.journey import TASK_QUEUE
    from contracts.owners import CARRIED_BYTES, Allocate, Place, Release, Released
    from owners.places import Places

ROSTER_WORKFLOW_ID = "owner-roster"
# Updates handled per run before continuing as new even if the server does not suggest it
# (Temporal caps updates per run at 2,000 by default).
UPDATES_PER_RUN = 1_000


# The type of the refusal a full roster gives (`Places.refusal`): the assignment then goes
# to the manager, unstaffed, rather than failing the journey.
ROSTER_FULL = "RosterFull"

ROSTER_QUEUE_SUFFIX = "-roster"
# Behind this patch a roster started on the journeys' task queue (before it had its own)
# moves to its own at its next continue-as-new.
OWN_QUEUE = "roster-own-queue"


def roster_task_queue(task_queue: str) -> str:
    """The task queue the roster of the journeys on `task_queue` runs on (the worker of
    `task_queue` polls both)."""
    return task_queue if task_queue.endswith(ROSTER_QUEUE_SUFFIX) else task_queue + ROSTER_QUEUE_SUFFIX


def roster_workflow_id(task_queue: str) -> str:
    """`owner-roster` for the production task queue; any other task queue (tests, a
    second deployment in one namespace) gets a roster of its own."""
    return ROSTER_WORKFLOW_ID if task_queue == TASK_QUEUE else f"{ROSTER_WORKFLOW_ID}-{task_queue}"


class RosterInput(Carried):
    places: Places = Field(default_factory=Places)
    continue_as_new_after: int = Field(default=UPDATES_PER_RUN, ge=1)
    runs: int = Field(default=1, ge=1)
    # Bytes of places it may carry: lower only to see a full roster without filling one.
    carried_bytes: int = Field(default=CARRIED_BYTES, ge=1, le=CARRIED_BYTES)


@workflow.defn(name="OwnerRosterWorkflow")
class OwnerRosterWorkflow:
    @workflow.init
    def __init__(self, input: RosterInput) -> None:
        # Handlers may run before `run` starts (update-with-start): the state exists here.
        self._places = input.places
        self._handled = 0
        self._budget = input.carried_bytes

    @workflow.run
    async def run(self, input: RosterInput) -> None:
        workflow.set_current_details(self._places.describe())
        await workflow.wait_condition(
            lambda: self._handled >= input.continue_as_new_after or workflow.info().is_continue_as_new_suggested()
        )
        # Handlers are synchronous, so this holds at once; it keeps holding if one ever awaits.
        await workflow.wait_condition(workflow.all_handlers_finished)
        moving_to: str | None = None  # None: the next run stays on this run's task queue
        queue = workflow.info().task_queue
        if queue != roster_task_queue(queue) and self._patched(OWN_QUEUE):
            moving_to = roster_task_queue(queue)  # a roster from before, off the journeys' queue
        workflow.continue_as_new(
            RosterInput(
                places=self._places,
                continue_as_new_after=input.continue_as_new_after,
                runs=input.runs + 1,
                carried_bytes=self._budget,
            ),
            task_queue=moving_to,
        )

    def _patched(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)  # tests/harness/versions.py answers it as an older roster did

    @workflow.update(description="Give a journey a place with an owner: {journey_id, candidates, preferred?}.")
    def allocate(self, request: Allocate) -> Place:
        self._handled += 1
        place = self._places.allocate(request)
        workflow.set_current_details(self._places.describe())
        return place

    # Each update has a validator, even one with nothing to check: input that does not
    # decode, or comes as no or two arguments, is then refused before the update is
    # accepted (the refusal's cause names the field) instead of failing workflow tasks.
    @allocate.validator
    def _check_allocate(self, request: Allocate) -> None:
        if refusal := self._places.refusal(request, self._budget):
            raise ApplicationError(refusal, type=ROSTER_FULL, non_retryable=True)

    @workflow.update(description="Free a journey's place (it ended or moved on): {journey_id}.")
    def release(self, request: Release) -> Released:
        self._handled += 1
        released = self._places.release(request.journey_id)
        workflow.set_current_details(self._places.describe())
        return released

    @release.validator
    def _check_release(self, request: Release) -> None:
        pass  # decoding is the whole check (see above)

    @workflow.query(description="Places held per owner id.")
    def loads(self) -> dict[str, int]:
        return self._places.loads()

    @workflow.query(description="Everything the roster holds: journeys per owner, and who is over capacity.")
    def places(self) -> Places:
        return self._places
