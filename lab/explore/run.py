"""The explorer's loop: hypothesis draws batches of journeys (a sync test function, so it can
shrink), a lab on an event loop in a background thread walks each batch, the promises are
checked on every walk; a failing batch shrinks to the journey that fails, simplified."""

from __future__ import annotations

import asyncio
import math
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import hypothesis.errors
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel, Field

from lab.explore.persona_out import Written, write
from lab.explore.promises import Broken, Trace, check
from lab.explore.reduce import reduce
from lab.explore.scenario import SHIPPED_PLAYBOOK, Scenario, base_playbook
from lab.explore.strategies import batches
from lab.explore.walk import STOPPED, Walk, walk_isolated
from owners.roster import Roster

T = TypeVar("T")
BATCH = 12  # journeys walked side by side in one lab
# Shrinking walks the failing batch again and again; past this many walks (or seconds) the
# smallest failing journey found so far goes on to lose what it does not need part by part
# (lab/explore/reduce.py), which takes parts away faster than hypothesis does.
SHRINK_WALKS = 25
SHRINK_SECONDS = 40.0


class Finding(BaseModel):
    scenario: Scenario
    broken: list[Broken]
    written: Written | None = None


class Exploration(BaseModel):
    journeys: int = 0  # walked, shrinking included
    generated: int = 0  # walked before the first failure (what the run explored)
    batches: int = 0
    seconds: float = 0
    finding: Finding | None = None
    tolerated: Counter[int] = Field(default_factory=Counter)  # breaches of promises skipped
    # Journeys the test server's clock stopped with every time, without a failed workflow
    # task: the lab could not walk them (see walk.py); not held against the journey.
    stalled: list[Scenario] = Field(default_factory=list)


def trace_of(w: Walk) -> Trace | None:
    if w.record is None:
        return None
    return Trace(
        record=w.record,
        playbook=w.plan.snapshot.playbook,
        facts=w.facts,
        notes=w.notes,
        stuck=w.stuck,
        replay=w.replay,
    )


def judged(w: Walk, skip: Iterable[int]) -> tuple[list[Broken], list[Broken]]:
    """(breaches that count, breaches of skipped promises)."""
    trace = trace_of(w)
    if trace is None:
        return [Broken(promise=1, step="during the walk", detail=w.stuck or "the journey never started")], []
    every = check(trace)
    skipped = set(skip)
    return [b for b in every if b.promise not in skipped], [b for b in every if b.promise in skipped]


class _Loop:
    """An event loop on a thread of its own: hypothesis calls a sync function, the lab is async."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class PromiseBroken(AssertionError):
    pass


_KINDS: dict[tuple[int, str], type[PromiseBroken]] = {}


def kind(broken: Broken) -> tuple[int, str]:
    """Which failure this is, for shrinking: the promise, and for promise 1 whether a task
    failed or the clock stopped (a shrink must keep the failure it started from)."""
    return broken.promise, broken.detail.split(":")[0] if broken.promise == 1 else ""


def _broke(broken: Broken) -> None:
    """One place raises, with one exception type per kind of failure: hypothesis shrinks
    each kind on its own and never trades one for another."""
    key = kind(broken)
    if key not in _KINDS:
        _KINDS[key] = type(f"Promise{key[0]}Broken", (PromiseBroken,), {})
    raise _KINDS[key](str(broken))


def _clock_stopped(broken: Broken) -> bool:
    return broken.promise == 1 and broken.detail.startswith("the clock stopped")


def _first_kind(broken: list[Broken]) -> list[Broken]:
    """A failed task says more than a stopped clock: it goes first."""
    return sorted(broken, key=_clock_stopped)


def explore(
    examples: int,
    seed: int,
    roster: Roster,
    *,
    playbook: Path = SHIPPED_PLAYBOOK,
    out: Path | None = None,
    skip: Iterable[int] = (),
    batch: int = BATCH,
    progress: Callable[[str], None] | None = None,
) -> Exploration:
    """Walk at least `examples` generated journeys (in batches of up to `batch`); stop at the
    first broken promise, shrunk to one minimal journey, written to `out` when given."""
    base = base_playbook(playbook)
    skipped = tuple(skip)
    result = Exploration()
    began = time.monotonic()
    state: dict[str, Any] = {"best": None, "shrink_walks": 0, "failed_at": None}
    loop = _Loop()

    def size(scenarios: list[Scenario]) -> tuple[int, int]:
        return len(scenarios), sum(len(s.persona.steps) + len(s.persona.staff_actions) for s in scenarios)

    @hypothesis.seed(seed)
    @settings(
        max_examples=math.ceil(examples / batch),
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        print_blob=False,
    )
    @given(batches(batch, base))
    def walk_and_check(drawn: list[Scenario]) -> None:
        scenarios = [s.named(f"explore-{i + 1}") for i, s in enumerate(drawn)]
        best = state["best"]
        if best is not None:
            if best[0] == scenarios:  # hypothesis asks once more for the one it reports
                _broke(best[1].broken[0])
            spent = time.monotonic() - state["failed_at"]
            if state["shrink_walks"] >= SHRINK_WALKS or spent > SHRINK_SECONDS:
                return  # out of shrinking budget: what we have is the answer
            state["shrink_walks"] += 1
        walks = loop.run(walk_isolated(roster, scenarios, base=playbook))
        result.journeys += len(walks)
        result.batches += 1
        if best is None:
            result.generated += len(walks)
            if progress and result.batches % 5 == 0:
                progress(f"{result.generated} journeys walked, {time.monotonic() - began:.0f} s")
        failing: list[tuple[Walk, list[Broken]]] = []
        for w in walks:
            if w.stuck.startswith(STOPPED) and not w.facts.task_failures:
                if best is None:
                    result.stalled.append(w.scenario)
                continue
            counted, tolerated = judged(w, skipped)
            if best is None:
                result.tolerated.update(b.promise for b in tolerated)
            if counted:
                failing.append((w, _first_kind(counted)))
        if not failing:
            return
        wanted = kind(best[1].broken[0]) if best is not None else None
        same = [f for f in failing if kind(f[1][0]) == wanted] if wanted else []
        clear = [f for f in failing if not _clock_stopped(f[1][0])]
        w, counted = (same or clear or failing)[0]
        if wanted is None or (same and size(scenarios) < size(best[0])):
            state["best"] = (scenarios, Finding(scenario=w.scenario, broken=counted))
            state["failed_at"] = state["failed_at"] or time.monotonic()
        _broke(counted[0])

    try:
        with warnings.catch_warnings():  # a failing batch of 12 journeys has a long repr; never shown
            warnings.simplefilter("ignore", hypothesis.errors.HypothesisWarning)
            walk_and_check()
    except (AssertionError, hypothesis.errors.HypothesisException, ExceptionGroup):
        pass  # the finding is kept in `state`
    try:
        if state["best"] is not None:  # then part by part, beyond hypothesis's budget
            found: Finding = state["best"][1]
            wanted = kind(found.broken[0])

            def same(w: Walk) -> list[Broken]:
                counted = _first_kind(judged(w, skipped)[0])
                return counted if counted and kind(counted[0]) == wanted else []

            smaller, broken = loop.run(reduce(roster, found.scenario, found.broken, same, base=playbook))
            state["best"] = (state["best"][0], Finding(scenario=smaller, broken=broken))
    finally:
        loop.close()
    result.seconds = time.monotonic() - began
    if out is not None:
        for scenario in result.stalled:
            stalled = scenario.named(f"stalled-{result.stalled.index(scenario) + 1}")
            write(stalled, [], out / "stalled", playbook)
    if state["best"] is not None:
        finding: Finding = state["best"][1]
        if out is not None:
            finding.written = write(finding.scenario, finding.broken, out, playbook)
        result.finding = finding
    return result
