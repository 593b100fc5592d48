"""Walk a batch of generated journeys side by side in one lab, exactly as `onboarding
simulate` plans them (lab/simulate.py `plan`), asking the journey's `status` after every
step; read back each journey's record, history facts, and whether its history replays on
the current worker. A journey that fails its workflow tasks, or stops the shared clock, is
ended and named (promise 1) while the rest of the batch walks on."""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from lab.errors import LabError
from lab.explore.history import Facts, facts
from lab.explore.scenario import SHIPPED_PLAYBOOK, Scenario, playbook_path
from lab.histories import journey_runs
from lab.persona_run import PersonaRun, persona_workflow_id
from lab.personas import PersonaFile
from lab.record import JourneyRecord, read_journey
from lab.runtime import Lab, find_test_server, quiet_runtime
from lab.script import Note
from lab.simulate import Plan, plan
from lab.world import JourneySetup
from owners.roster import Roster
from runtime.replayer import replayer
from workflows.onboarding import OnboardingWorkflow

# How often a walking batch is looked at for a journey whose workflow task fails (a spin
# is stopped by the SDK's deadlock detector after 2 s, and then holds the clock).
LOOK_SECONDS = 3.0
# A batch in which no walk has finished for this long has stopped the shared clock.
BATCH_SECONDS = 6.0
ALONE_TRIES = 2
STOPPED = "the clock stopped"


class Walk(BaseModel):
    """What one generated journey did: everything the promises are checked against."""

    model_config = {"arbitrary_types_allowed": True}

    scenario: Scenario
    plan: Plan
    notes: list[Note] = Field(default_factory=list)
    final_status: dict[str, Any] | None = None
    record: JourneyRecord | None = None
    facts: Facts = Field(default_factory=Facts)
    stuck: str = ""  # why the walk was ended before its horizon
    replay: str = ""  # why its history does not replay on the current worker
    histories: list[Any] = Field(default_factory=list, exclude=True)

    @property
    def workflow_id(self) -> str:
        return self.plan.script.workflow_id


def plan_scenario(scenario: Scenario, base: Path = SHIPPED_PLAYBOOK, status: bool = True) -> Plan:
    """The scenario planned exactly as `onboarding simulate <persona> --playbook <file>
    [--variant <arm>]` plans it."""
    pf = PersonaFile(path=Path(f"{scenario.persona.name}.yaml"), persona=scenario.persona)
    (walked,) = plan(
        [pf],
        playbook=playbook_path(scenario, base),
        variant=[scenario.variant] if scenario.variant else None,
        all_personas=False,
    )
    # `status` after every step, except where the journey is forced to continue as new: the
    # time-skipping server never answers a query that meets a run's hand-over, and the clock
    # of the whole lab stops with it (docs/lab.md, the explorer's contract).
    walked.script.status_after_steps = status and scenario.persona.continue_as_new_after is None
    return walked


async def walk_isolated(
    roster: Roster, scenarios: list[Scenario], *, base: Path = SHIPPED_PLAYBOOK, bound: float = BATCH_SECONDS
) -> list[Walk]:
    """A batch in a lab of its own (a test server each: a pinned close date must lie ahead of
    its clock). A journey the shared clock stopped with is walked again alone, in another lab
    and without asking `status` after each step, before it is called stuck: the test server
    now and then keeps the clock locked after a journey ended mid-activity or a query met a
    continue-as-new, which says nothing of that journey (`onboarding simulate` meets it too,
    on a loaded machine). Stuck is a journey the clock stops with every time."""
    with _collected_between():
        async with _lab(roster) as lab:
            walks = await walk_batch(lab, scenarios, base=base, bound=bound)
        for i, w in enumerate(walks):
            for _ in range(ALONE_TRIES):
                if not walks[i].stuck.startswith(STOPPED):
                    break
                async with _lab(roster) as alone:
                    (walks[i],) = await walk_batch(alone, [w.scenario], base=base, bound=bound, status=False)
    return walks


@contextmanager
def _collected_between() -> Iterator[None]:
    """No garbage collection while a batch walks; one after it. The explorer's process holds
    much (hypothesis, every walk's histories), so a full collection can take seconds on a
    loaded machine, and one that lands inside a journey's workflow task makes the SDK fail
    that task as deadlocked (it allows 2 s): a failure of the lab, not of the journey. A
    batch is bounded, so what it leaves for the collector is too."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        gc.collect()


_RUNTIME: Runtime | None = None


@asynccontextmanager
async def _lab(roster: Roster) -> AsyncIterator[Lab]:
    """A lab on a test server of its own; every lab shares one SDK runtime (its threads)."""
    global _RUNTIME
    _RUNTIME = _RUNTIME or quiet_runtime()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_test_server()), data_converter=pydantic_data_converter, runtime=_RUNTIME
    )
    try:
        async with Lab.open(roster, env) as lab:
            yield lab
    finally:
        await env.shutdown()


async def walk_batch(
    lab: Lab,
    scenarios: list[Scenario],
    *,
    base: Path = SHIPPED_PLAYBOOK,
    bound: float = BATCH_SECONDS,
    status: bool = True,
) -> list[Walk]:
    walks = [Walk(scenario=s, plan=plan_scenario(s, base, status)) for s in scenarios]
    ids = [w.workflow_id for w in walks]
    if len(set(ids)) != len(ids):
        raise LabError("explore: two journeys of one batch share a workflow id (name the personas apart)")
    handles: dict[str, WorkflowHandle[Any, Any]] = {}
    for w in walks:
        lab.world.journeys[w.workflow_id] = JourneySetup(playbook=w.plan.snapshot)
        handles[w.workflow_id] = await lab.client.start_workflow(
            PersonaRun.run, w.plan.script, id=persona_workflow_id(w.workflow_id), task_queue=lab.task_queue
        )
    results = {wid: asyncio.ensure_future(h.result()) for wid, h in handles.items()}
    begun = time.monotonic()
    settled: set[str] = set()
    try:
        while pending := [wid for wid, r in results.items() if not r.done()]:
            await asyncio.wait([results[wid] for wid in pending], timeout=LOOK_SECONDS)
            unfinished = [w for w in walks if not results[w.workflow_id].done() and not w.stuck]
            for w in unfinished:
                failures = await _task_failures(lab.client, w.workflow_id)
                if failures:
                    w.stuck = f"workflow task failed: {failures[0]}"
                    await _end(lab.client, w.workflow_id)
                    begun = time.monotonic()  # the clock moves again: the rest get their time
            done = {wid for wid, r in results.items() if r.done()}
            if done != settled:
                settled, begun = done, time.monotonic()
            elif time.monotonic() - begun > bound:
                holding = [w for w in unfinished if not w.stuck and await _task_held(lab.client, w.workflow_id)]
                for w in holding:  # a task that never completes: the journey spins (deadlock)
                    w.stuck = f"deadlock: its workflow task did not complete in {bound:g} s of real time"
                    await _end(lab.client, w.workflow_id)
                for w in [] if holding else unfinished:
                    if not w.stuck:
                        w.stuck = f"{STOPPED}: no walk moved for {bound:g} s of real time"
                        await _end(lab.client, w.workflow_id)
                begun = time.monotonic()
        for w in walks:
            outcome = results[w.workflow_id]
            failed = outcome.exception()  # retrieved for every walk: an ended persona's too
            if not w.stuck and failed is None:
                done = outcome.result()
                w.notes = done.notes
            elif not w.stuck:
                w.stuck = f"the persona failed: {_innermost(failed) if failed else 'no outcome'}"
        for w in walks:
            await _read_back(lab, w)
    finally:
        for w in walks:
            lab.world.forget(w.workflow_id)
    await _replay(walks)
    return walks


async def _task_failures(client: Client, workflow_id: str) -> list[str]:
    with suppress(RPCError):
        return facts(await journey_runs(client, workflow_id)).task_failures
    return []


def _innermost(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)


async def _task_held(client: Client, workflow_id: str) -> bool:
    """The journey has a workflow task out that has not completed (read raw: the test
    server's datetimes trip the SDK's search attribute reader in `describe`)."""
    try:
        raw = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
    except RPCError:
        return False
    return raw.HasField("pending_workflow_task") and raw.pending_workflow_task.state != 0


async def _end(client: Client, workflow_id: str) -> None:
    for wid in (workflow_id, persona_workflow_id(workflow_id)):
        with suppress(RPCError):
            await client.get_workflow_handle(wid).terminate("journey explorer: stuck")


async def _read_back(lab: Lab, w: Walk) -> None:
    try:
        runs = await journey_runs(lab.client, w.workflow_id)
    except RPCError as err:
        w.stuck = w.stuck or f"no history: {err.message}"
        return
    w.histories = runs
    w.record = read_journey(w.workflow_id, runs)
    w.facts = facts(runs)
    if not w.stuck:
        with suppress(Exception):  # a failed journey cannot answer; promise 1 says why
            w.final_status = await lab.client.get_workflow_handle(w.workflow_id).query("status")


async def _replay(walks: list[Walk]) -> None:
    """Every run of every journey, on the current worker's code (as `onboarding replay`)."""
    histories = [(w, h) for w in walks if not w.stuck for h in w.histories]
    if not histories:
        return

    async def each() -> AsyncIterator[WorkflowHistory]:
        for _, history in histories:
            yield history

    results = await replayer([OnboardingWorkflow]).replay_workflows(each(), raise_on_replay_failure=False)
    for w, h in histories:
        failure = results.replay_failures.get(h.run_id)
        if failure is not None and not w.replay:
            w.replay = f"run {h.run_id} (history kept: {keep_history(h)}): {failure}"


def keep_history(history: WorkflowHistory) -> Path:
    """A history that does not replay is evidence: kept as the Web UI's JSON download, which
    `WorkflowHistory.from_json` and the replay tests read (the walk's server is gone after)."""
    folder = Path(tempfile.gettempdir()) / "onboarding-explore" / "histories"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{history.workflow_id}.{history.run_id}.json"
    path.write_text(history.to_json())
    return path
