"""One stuck journey does not take the other personas' output with it: the lab finds the walk
whose journey holds the shared clock (a workflow task that keeps failing, an activity that
never returns), abandons it and reports it stuck, naming it and where its journey stood; the
others walk on and are judged as usual. `simulate --check` exits 1 for it, not with a crash.

The stuck journeys are real, on the time-skipping server: the lab's world answers one
journey's `snapshot_playbook` with a snapshot it cannot decode, so each of its workflow tasks
fails; or its `send_message` never returns."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

import lab.runtime
import lab.simulate
from cli.main import parser
from contracts.messages import SendReceipt
from contracts.playbook import PlaybookSnapshot
from lab.backtest import backtest
from lab.cli import simulate_command
from lab.compare import JourneyDiff
from lab.histories import journey_runs
from lab.personas import load_personas
from lab.runtime import Lab, Walked
from lab.script import Script
from lab.simulate import Plan, plan, simulate
from lab.world import JourneySetup, World
from owners.roster import load_roster
from playbooks.loader import DEFAULT_DIR

STALL_SECONDS = 3.0


def _broken(p: Plan) -> Plan:
    """This persona's journey gets a playbook with no milestones, which no journey decodes."""
    book = p.snapshot.playbook.model_copy(update={"milestones": []})
    return p.model_copy(update={"snapshot": p.snapshot.model_copy(update={"playbook": book})})


def _plans(*names: str, broken: str) -> list[Plan]:
    personas = [p for p in load_personas() if p.persona.name in names]
    plans = plan(personas, playbook=DEFAULT_DIR / "default.yaml", all_personas=False)
    return [_broken(p) if p.file.persona.name == broken else p for p in plans]


async def test_a_stuck_journey_is_named_with_its_last_state_and_the_others_are_reported(
    ts_env: WorkflowEnvironment,
) -> None:
    plans = _plans("fast-starter", "silent", "slow-starter", broken="silent")
    progress: list[str] = []
    began = time.monotonic()
    report = await simulate(plans, load_roster(), env=ts_env, progress=progress.append, stall_seconds=STALL_SECONDS)
    took = time.monotonic() - began

    walks = {p.persona: p for p in report.personas}
    assert set(walks) == {"fast-starter", "silent", "slow-starter"}
    stuck = walks["silent"]
    assert stuck.stuck is not None and stuck.outcome.state == "stuck"
    assert stuck.stuck.startswith(
        "the journey's workflow task keeps failing (1 validation error for PlaybookSnapshot playbook.milestones"
    )
    # where it stood: the state its start set, and the last thing it did
    assert "; last state awaiting_action; its last step: snapshot_playbook at " in stuck.stuck
    [verdict] = stuck.verdicts
    assert not verdict.held and verdict.persona == "silent" and verdict.happened == f"stuck: {stuck.stuck}"
    assert [v.persona for v in report.failed] == ["silent"], report.failed  # nobody else is blamed
    assert any(line.startswith("silent: stuck, abandoned (") for line in progress)

    for name in ("fast-starter", "slow-starter"):
        walked = walks[name]
        assert walked.stuck is None and walked.verdicts and all(v.held for v in walked.verdicts), name
    assert walks["fast-starter"].outcome.state == "activated"
    # found at the first look after the clock stood still, not after the default two minutes
    assert took < 60, took


async def test_simulate_check_exits_1_naming_the_stuck_persona_and_prints_the_others(monkeypatch):
    real_plan = lab.simulate.plan

    def plan_with_a_stuck_journey(*args: Any, **kwargs: Any) -> list[Plan]:
        return [_broken(p) if p.file.persona.name == "silent" else p for p in real_plan(*args, **kwargs)]

    monkeypatch.setattr(lab.simulate, "plan", plan_with_a_stuck_journey)
    personas = [DEFAULT_DIR / "personas" / "default" / f"{name}.yaml" for name in ("fast-starter", "silent")]
    playbook = DEFAULT_DIR / "default.yaml"
    args = parser().parse_args(
        ["simulate", *map(str, personas), "--check", "--playbook", str(playbook), "--stall-seconds", str(STALL_SECONDS)]
    )
    out, err = io.StringIO(), io.StringIO()
    code = await simulate_command(args, out, err)
    assert code == 1, err.getvalue()
    assert "== fast-starter:" in out.getvalue() and "== silent:" in out.getvalue()
    assert "1 expectation(s) do not hold" in err.getvalue()
    assert (
        "persona silent: expected the journey walks to its horizon [the lab], but: stuck: "
        "the journey's workflow task keeps failing (" in err.getvalue()
    )
    assert "run it again" not in err.getvalue()


class _OneBrokenLab(Lab):
    """The lab, with one journey's playbook made undecodable, as `_broken` does for a plan."""

    victim = ""

    async def walk(self, script: Script, setup: JourneySetup, **options: Any) -> Walked:
        if script.workflow_id == self.victim and isinstance(setup.playbook, PlaybookSnapshot):
            book = setup.playbook.playbook.model_copy(update={"milestones": []})
            setup = JourneySetup(playbook=setup.playbook.model_copy(update={"playbook": book}), owners=setup.owners)
        return await super().walk(script, setup, **options)


async def test_backtest_counts_a_stuck_replay_as_a_problem_naming_it_and_replays_the_rest(
    ts_env: WorkflowEnvironment,
) -> None:
    # two journeys recorded on one server, replayed on another
    report = await simulate(_plans("fast-starter", "slow-starter", broken=""), load_roster(), env=ts_env)
    recorded = [f"onboarding-{p.deal_id}" for p in report.personas]

    async def journeys() -> AsyncIterator[tuple[str, list[WorkflowHistory]]]:
        for workflow_id in recorded:
            yield workflow_id, await journey_runs(ts_env.client, workflow_id)

    diffs: list[JourneyDiff] = []
    async with _OneBrokenLab.open(load_roster(), stall_seconds=STALL_SECONDS) as lab:
        assert isinstance(lab, _OneBrokenLab)
        lab.victim = "onboarding-LAB-slow-starter"
        totals = await backtest(journeys(), load_roster(), candidate=None, lab=lab, on_diff=diffs.append)
    by_id = {d.workflow_id: d for d in diffs}
    assert totals.journeys == 2 and totals.problems == 1
    stuck = by_id["onboarding-LAB-slow-starter"].problem
    assert stuck is not None and stuck.startswith("stuck: the journey's workflow task keeps failing (")
    assert by_id["onboarding-LAB-fast-starter"].problem is None
    assert not by_id["onboarding-LAB-fast-starter"].differs  # replayed on its own playbook: unchanged


async def test_a_clock_held_by_no_journey_ends_the_walk_saying_so(ts_env: WorkflowEnvironment) -> None:
    """Something outside every journey holds the clock (here: a lock taken through the test
    service): no persona is blamed for it; the walk ends after two quiet looks, saying so."""
    [walk] = _plans("fast-starter", broken="")
    await ts_env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())
    try:
        async with Lab.open(load_roster(), ts_env, stall_seconds=STALL_SECONDS) as lab:
            walked = await lab.walk(walk.script, JourneySetup(playbook=walk.snapshot))
    finally:
        await ts_env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    assert walked.stuck is not None
    # held before the persona's close (Tuesday 10:00) came round: its journey never started
    assert walked.stuck == (
        f"the lab's clock stood still for {2 * STALL_SECONDS:g} s of real time and no journey was found holding it; "
        "last state: the journey never started"
    )
    assert walked.record.status == "NEVER STARTED"


class _HangingWorld(World):
    """The captured world, except that the victim's messages never finish sending."""

    victim = "onboarding-LAB-silent"

    @activity.defn(name="send_message")
    async def send_message(self, request: dict[str, Any]) -> SendReceipt:
        if activity.info().workflow_id == self.victim:
            await asyncio.Event().wait()  # never set: the worker cancels it at shutdown
        return await super().send_message(request)


async def test_an_activity_that_never_finishes_is_named_after_a_whole_stall(
    ts_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab.runtime, "World", _HangingWorld)
    plans = _plans("fast-starter", "silent", broken="")
    report = await simulate(plans, load_roster(), env=ts_env, stall_seconds=STALL_SECONDS)
    walks = {p.persona: p for p in report.personas}
    stuck = walks["silent"].stuck
    assert stuck is not None and stuck.startswith("the journey's activity send_message never finished; last state ")
    assert [v.persona for v in report.failed] == ["silent"], report.failed
    assert walks["fast-starter"].outcome.state == "activated"
