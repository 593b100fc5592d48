"""Acceptance: 48 journeys on the dev server with scripted behaviour (three segments; silent,
acting early or late, reaching first value, activating, asking for help, resolved by staff,
cancelled), then the report's JSON checked figure by figure against what was driven.
The real clock runs (business hours all week), so times are checked against the client's
own clock within a tolerance; counts are exact."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from temporalio.client import WorkflowHandle

from cli.main import parser
from contracts.signals import ActionTaken, Cancel, HelpRequested
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from playbooks import variants
from playbooks.loader import load_all
from records.database import Database
from records.tables import moments
from report import cli as report_cli
from tests.harness.support import (
    make_deal,
    start_journey,
    status,
    told,
    wait_for_status,
    write_playbook,
)
from workflows.onboarding import OnboardingWorkflow

# The workflow clock and the client's are the same machine's; a moment is stamped when its
# workflow task starts: after the client sent what caused it, before the client sees its effect.
# Margin for the two clocks' reading (workflow time has millisecond resolution).
CLOCK_S = 0.01
SEGMENTS = ("smb", "mid-market", "enterprise")
# per segment: behaviour -> journeys
PLAN = {"silent": 3, "early": 3, "late": 2, "value": 2, "activate": 2, "help": 2, "help_resolved": 1, "cancel": 1}
ACTS = {"early", "late", "value", "activate"}


def always_open(playbook):
    playbook["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "proactive_per_day": 10}  # fmt: skip
    # Two arms that differ in name only, so the behaviour driven stays what the plan says.
    playbook["variants"] = [{"name": "a"}, {"name": "b"}]


T = TypeVar("T")


@dataclass
class Driven:
    segment: str
    behaviour: str
    handle: WorkflowHandle[Any, Any]
    started_at: datetime | None = None
    acted_at: float | None = None  # client clock, epoch seconds
    acted_seen: float | None = None
    helped_at: float | None = None
    resolved_at: float | None = None
    resolved_seen: float | None = None
    owner: str = ""
    over_capacity: bool = False
    escalated: int = 0
    extra: dict = field(default_factory=dict)


def known(value: T | None) -> T:
    """A moment the drive has stamped by the time the report is read."""
    assert value is not None
    return value


async def kinds(db: Database) -> Counter:
    async with db.begin() as conn:
        rows = (await conn.execute(select(moments.c.kind, func.count()).group_by(moments.c.kind))).all()
    return Counter({k: n for k, n in rows})


async def details(db: Database) -> dict[str, set[frozenset[str]]]:
    """Per kind, the sets of `detail` keys the engine wrote (an empty set: no detail)."""
    async with db.begin() as conn:
        rows = (await conn.execute(select(moments.c.kind, moments.c.detail))).all()
    out: dict[str, set[frozenset[str]]] = {}
    for kind, detail in rows:
        parsed = json.loads(detail) if isinstance(detail, str) else detail
        out.setdefault(kind, set()).add(frozenset(parsed or {}))
    return out


def documented_details() -> dict[str, frozenset[str]]:
    """Per kind, the `detail` keys docs/records.md's Kinds table names ("–": none)."""
    table = (Path(__file__).parents[2] / "docs" / "records.md").read_text().split("### Kinds", 1)[1]
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 4:
            kind = cells[0].strip("`")
            detail = line.split(" | ")[3] if line.count(" | ") >= 3 else ""
            out[kind] = frozenset(re.findall(r'"(\w+)":', detail))
    return out


async def signal_action(d: Driven, action: str, n: int) -> None:
    await d.handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action=action, event_id=f"{d.handle.id}-{n}"))


async def behave(d: Driven) -> None:
    """One journey's scripted step, timed on the client: `*_at` when sent, `*_seen` when the
    journey shows it handled it (its moment is stamped in between)."""
    if d.behaviour in ACTS and d.acted_at is None:
        d.acted_at = time.time()
        await signal_action(d, "dataset_uploaded", 1)
        await wait_for_status(d.handle, told("first_value"), seconds=60)
        d.acted_seen = time.time()
        if d.behaviour in ("value", "activate"):
            await signal_action(d, "dashboard_shared", 2)
            await wait_for_status(d.handle, told("expansion_check"), seconds=60)
        if d.behaviour == "activate":
            await signal_action(d, "teammates_invited", 3)
            await d.handle.result()
    elif d.behaviour in ("help", "help_resolved") and d.helped_at is None:
        d.helped_at = time.time()
        await d.handle.signal(
            OnboardingWorkflow.help_requested, HelpRequested(message="stuck", event_id=f"{d.handle.id}-h")
        )
        await wait_for_status(d.handle, lambda s: s.state is OnboardingState.escalated, seconds=60)
    elif d.behaviour == "help_resolved":
        d.resolved_at = time.time()
        # temporalio's `@workflow.update(description=...)` overload types an async update's result
        # as its coroutine, not what the coroutine returns (Status)
        await d.handle.execute_update(  # type: ignore[unused-coroutine]
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="maya")
        )
        d.resolved_seen = time.time()
    elif d.behaviour == "cancel":
        await d.handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        await d.handle.result()


async def test_the_report_tells_what_was_driven(dev_env, tmp_path, journeys) -> None:
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks) as task_queue:
        driven: list[Driven] = []
        for segment in SEGMENTS:
            for behaviour, count in PLAN.items():
                for i in range(count):
                    deal = make_deal(f"R-{segment[:3]}-{behaviour}-{i}", segment=segment)
                    driven.append(Driven(segment, behaviour, await start_journey(client, task_queue, deal)))
        for d in driven:  # every kickoff is out
            s = await wait_for_status(d.handle, told("first_action"), seconds=60)
            d.started_at = next(e.at for e in s.timeline if e.event == "awaiting_action")  # the journey's start

        db = Database.from_settings(None, tmp_path / "data")

        # Wave 1: the early actors act, those who will reach value go on, help is asked, deals are lost.
        wave1 = time.time()
        await asyncio.gather(*(behave(d) for d in driven if d.behaviour != "late"))
        deadline = asyncio.get_running_loop().time() + 60
        while (await kinds(db))["escalated"] < 9:  # bounded: every escalation is on record
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        escalated_seen = time.time()

        # Wave 2, a known time later: the late actors act, staff resolve one help request each segment.
        await asyncio.sleep(max(0.0, wave1 + 6 - time.time()))  # scripted behaviour, not synchronisation
        await asyncio.gather(*(behave(d) for d in driven if d.behaviour in ("late", "help_resolved")))

        expected_kinds = {"started": 48, "first_action": 27, "activated": 6, "closed": 3, "escalated": 9, "resolved": 3,
                          "milestone_skipped": 3, "milestone_completed": 27 + 12 + 6}  # fmt: skip
        try:
            deadline = asyncio.get_running_loop().time() + 60
            while {k: (await kinds(db))[k] for k in expected_kinds} != expected_kinds:  # bounded: the moments are in
                assert asyncio.get_running_loop().time() < deadline, await kinds(db)
                await asyncio.sleep(0.1)
            written = await details(db)
        finally:
            await db.dispose()
        for d in driven:
            s = await status(d.handle)
            d.owner, d.over_capacity, d.escalated = s.owner, s.owner_over_capacity, int(d.behaviour.startswith("help"))

        out = tmp_path / "report.json"
        code = await report_cli.run(parser().parse_args(
            ["report", "--data-dir", str(tmp_path / "data"), "--playbooks-dir", str(playbooks), "--out", str(tmp_path / "r.html"),
             "--json", str(out), "--now", datetime.now(UTC).isoformat()]))  # fmt: skip
        assert code == 0
        report = json.loads(out.read_text())

    # docs/records.md describes the `detail` the engine writes for every kind written here
    documented = documented_details()
    assert set(written) <= set(documented), set(written) - set(documented)
    for kind, keys in written.items():
        assert keys == {documented[kind]}, (kind, keys, documented[kind])

    # Overview
    assert [report[k]["n"] for k in ("journeys", "running", "activated", "closed")] == [48, 39, 6, 3]

    # Time to first action and first value, per segment
    for segment in SEGMENTS:
        mine = [d for d in driven if d.segment == segment]
        (row,) = [r for r in report["time_to_first_action"] if r["segment"] == segment]
        assert (row["journeys"]["n"], row["reached"]["n"], row["inside"]["n"], row["target_hours"]) == (16, 9, 9, 72)
        assert row["inside_share"] == 9 / 16
        # each first action is stamped between its sending and its effect, so the median is too
        sent = statistics.median(d.acted_at - known(d.started_at).timestamp() for d in mine if d.acted_at)
        seen = statistics.median(known(d.acted_seen) - known(d.started_at).timestamp() for d in mine if d.acted_at)
        assert sent - CLOCK_S <= row["median_hours"] * 3600 <= seen + CLOCK_S, (row, sent, seen)
        assert seen - sent < 30  # the bounds say something
        (value,) = [r for r in report["time_to_first_value"] if r["segment"] == segment]
        assert (value["journeys"]["n"], value["reached"]["n"], value["inside"]["n"], value["target_hours"]) == (
            16,
            4,
            4,
            192,
        )

    # Funnel: one week, all segments
    funnel = {r["milestone"]: [r[k]["n"] for k in ("told", "acted", "skipped", "next")] for r in report["funnel"]}
    assert funnel == {"first_action": [48, 27, 3, 30], "first_value": [30, 12, 0, 12], "expansion_check": [12, 6, 0, 6]}

    # What moved customers: every completion followed the direction message (no follow-up was due yet)
    moved = {(r["milestone"], r["touchpoint"]): r["completions"]["n"] for r in report["touchpoints"]}
    assert moved == {
        ("first_action", "direction"): 27,
        ("first_value", "direction"): 12,
        ("expansion_check", "direction"): 6,
    }

    # Where customers wait now
    waiting = {(r["stage"], r["state"], r["age"]): r["journeys"]["n"] for r in report["waiting"]}
    assert waiting == {("first_action", "awaiting_action", "<1d"): 9, ("first_action", "escalated", "<1d"): 6,
                       ("first_value", "awaiting_action", "<1d"): 18, ("expansion_check", "awaiting_action", "<1d"): 6}  # fmt: skip

    # Humans
    h = report["humans"]
    assert (h["journeys"]["n"], h["escalated"]["n"], h["escalations"], h["staff_decisions"]["n"]) == (48, 9, 9, 3)
    assert (h["ended_by_customer"]["n"], h["ended_by_cancel"]["n"], h["still_open"]["n"]) == (0, 0, 6)
    assert h["escalation_rate"] == 9 / 48
    assert {t["trigger"]: t["escalations"]["n"] for t in h["triggers"]} == {"help": 9}
    shortest = statistics.median(d.resolved_at - escalated_seen for d in driven if d.resolved_at)
    longest = statistics.median(known(d.resolved_seen) - known(d.helped_at) for d in driven if d.resolved_at)
    assert shortest - CLOCK_S <= h["staff_decision_median_hours"] * 3600 <= longest + CLOCK_S
    owners = {
        o["owner"]: [o[k]["n"] for k in ("journeys", "escalations", "sla_breaches", "over_capacity")]
        for o in h["owners"]
    }
    expected_owners = {}
    for owner in {d.owner for d in driven}:
        theirs = [d for d in driven if d.owner == owner]
        expected_owners[owner] = [
            len(theirs),
            sum(d.escalated for d in theirs),
            0,
            sum(d.over_capacity for d in theirs),
        ]
    assert owners == expected_owners

    # Variants: counts per arm exactly as the deals hashed
    snapshot = load_all(playbooks)[0]
    arms: dict[str | None, list[Driven]] = {}
    for d in driven:
        arms.setdefault(variants.pick(snapshot, d.handle.id.removeprefix("onboarding-")), []).append(d)
    assert set(arms) == {"a", "b"}
    rows = {v["variant"]: v for v in report["variants"]}
    for name, theirs in arms.items():
        assert [rows[name][k]["n"] for k in ("journeys", "first_actions", "activated")] == [
            len(theirs),
            sum(d.behaviour in ACTS for d in theirs),
            sum(d.behaviour == "activate" for d in theirs),
        ]
        low, high = rows[name]["activation_rate_ci"]
        assert low <= rows[name]["activation_rate"] <= high
    (comparison,) = report["variant_comparisons"]
    assert (comparison["a"], comparison["b"]) == ("a", "b") and "activation: not yet significant" in comparison[
        "verdict"
    ]
