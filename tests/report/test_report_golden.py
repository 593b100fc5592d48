"""The report's outputs, byte for byte: for representative datasets, `onboarding report`
writes the same HTML page, JSON, CSV and terminal line as the files under
tests/fixtures/report/<case>/, on SQLite and on PostgreSQL.

The pages are stored without the inlined, compressed plotly.js bundle (1.8 MB each): the test
checks that the page holds the installed bundle, packed, exactly once, where the stored page
has `PLOTLY_JS`.
The terminal line's duration varies, so it is stored as `in <t> s`.

After a deliberate change to the report's output (or a plotly upgrade), rewrite the files
with `UPDATE_GOLDEN=1` and review the diff."""

from __future__ import annotations

import io
import os
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli import main as onboarding
from contracts.moments import MomentKind, MomentRequest, moment_key
from playbooks.loader import DEFAULT_DIR
from records.database import Database
from records.moments import MomentStore
from report import cli as report_cli
from report.bundle import packed
from tests.harness.report_journeys import Script, moments, seed
from tests.harness.report_journeys import script as bench_script

FIXTURES = Path(__file__).parents[1] / "fixtures" / "report"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
PLOTLY_JS = "PLOTLY_JS"

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
BENCH_NOW = datetime(2026, 11, 23, tzinfo=UTC)
GENERATED = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

# Scripted journeys (through the stores, escalation tasks included) and moments beyond them.
Dataset = tuple[list[Script], list[MomentRequest]]


def segments() -> list[Script]:
    """Two segments: fast and slow first actions, first value, activation, escalations
    (resolved, open, levelled up, unstaffed), over capacity, a cancel, journeys still running."""
    return [
        Script("S1", "smb", MONDAY, done_after=(10, 20, 30), touchpoints=("direction", "direction", "clarify")),
        Script("S2", "smb", MONDAY, done_after=(30, 200, None), touchpoints=("clarify", "simplify", "direction"),
               owner="omar"),
        Script("S3", "smb", NEXT_MONDAY, done_after=(100, None, None), touchpoints=("redirect", "direction", "direction"),
               escalate_after=120, trigger="follow_ups", resolved_after=30, level=2),
        Script("S4", "smb", NEXT_MONDAY, escalate_after=50, trigger="help"),
        Script("S5", "smb", NEXT_MONDAY + timedelta(days=5), escalate_after=2, trigger="failures", owner=""),
        Script("E1", "enterprise", MONDAY, done_after=(5, None, None), touchpoints=("human", "direction", "direction"),
               escalate_after=1, trigger="high_value", resolved_after=4, owner="omar", over_capacity=True),
        Script("E2", "enterprise", MONDAY, closed_after=40, owner="omar"),
        Script("E3", "enterprise", NEXT_MONDAY, done_after=(3, 9, None), touchpoints=("simplify", "human", "direction"),
               escalate_after=6, trigger="high_value", resolved_after=1, level=3, owner="lena"),
    ]  # fmt: skip


def segments_and_more() -> Dataset:
    """The scripts, plus what they cannot say: a journey before its kickoff, a milestone a
    human skipped, a second escalation, and a playbook without files (no targets, its own
    milestones)."""
    skipped = Script("K2", "enterprise", MONDAY, done_after=(12, None, None), escalate_after=20, trigger="help",
                     resolved_after=2)  # fmt: skip
    scripts = [
        *segments(),
        skipped,
        Script("T1", "smb", MONDAY, playbook="trial", done_after=(4, 8, 16)),
        Script("T2", "mid_market", MONDAY, playbook="trial", done_after=(50, None, None), owner="lena"),
    ]
    own_milestones = Script("T3", "smb", NEXT_MONDAY, playbook="trial")
    more = moments(Script("K1", "smb", NEXT_MONDAY + timedelta(days=6)))[:2]  # started, owner assigned
    more += moments(own_milestones)[:2]
    more += [
        moment(own_milestones, MomentKind.told, 0, "kickoff_call", 1, touchpoint="direction"),
        moment(own_milestones, MomentKind.milestone_completed, 5, "kickoff_call", touchpoint="clarify"),
        moment(own_milestones, MomentKind.told, 5, "first_action", 2, touchpoint="direction"),
        moment(skipped, MomentKind.milestone_skipped, 22, "first_value", touchpoint="human"),
        moment(skipped, MomentKind.told, 22, "expansion_check", 3, touchpoint="direction"),
        moment(skipped, MomentKind.escalated, 40, "expansion_check", 2, detail={"trigger": "follow_ups"}),
    ]
    return scripts, more


def moment(s: Script, kind: MomentKind, hours: float, milestone: str, *parts: object, **fields) -> MomentRequest:
    workflow_id = f"onboarding-{s.deal_id}"
    return MomentRequest(
        key=moment_key(workflow_id, kind, milestone, *parts), kind=kind, at=s.start + timedelta(hours=hours),
        workflow_id=workflow_id, deal_id=s.deal_id, segment=s.segment, product=s.product, playbook=s.playbook,
        variant=s.variant, owner=s.owner, milestone=milestone, **fields,
    )  # fmt: skip


def variants() -> Dataset:
    """Two experiments: a clear winner (10 + 10 journeys, 8 and 2 activate), and three small
    arms of a playbook without files, one of which never acts."""
    out = []
    for i in range(10):
        a_done = (i + 1, i + 2, i + 3) if i < 8 else (i + 1, None, None)
        b_done = (i + 21, i + 22, i + 23) if i < 2 else (i + 21, None, None)
        out.append(Script(f"A{i}", "smb", MONDAY, variant="a", done_after=a_done))
        out.append(Script(f"B{i}", "mid_market", MONDAY, variant="b", done_after=b_done))
    for i in range(4):
        out.append(Script(f"X{i}", "smb", NEXT_MONDAY, playbook="trial", variant="x", done_after=(10 + i, 20, None)))
        out.append(Script(f"Y{i}", "smb", NEXT_MONDAY, playbook="trial", variant="y", done_after=(11 + i, None, None)))
    out += [Script(f"Z{i}", "smb", NEXT_MONDAY, playbook="trial", variant="z") for i in range(2)]
    return out, []


def many() -> Dataset:
    """The benchmark's journeys: ten weeks, three segments, twelve owners, two arms; groups
    past 60 journeys link to their search attributes instead of their ids."""
    rng = random.Random(3)
    return [bench_script(i, rng) for i in range(200)], []


DATASETS: dict[str, Callable[[], Dataset]] = {
    "empty": lambda: ([], []),
    "segments": segments_and_more,
    "variants": variants,
    "many": many,
}

# case -> (dataset, the command's options besides the outputs)
CASES: dict[str, tuple[str, list[str]]] = {
    "empty": ("empty", ["--now", NOW.isoformat()]),
    "segments": ("segments", ["--now", NOW.isoformat()]),
    "one-segment": ("segments", ["--now", NOW.isoformat(), "--segment", "smb"]),
    "owner": ("segments", ["--now", NOW.isoformat(), "--owner", "omar", "--until", "2026-11-09"]),
    "variants": ("variants", ["--now", NOW.isoformat()]),
    "many": ("many", ["--now", BENCH_NOW.isoformat()]),
    "many-filtered": ("many", ["--now", BENCH_NOW.isoformat(), "--since", "2026-09-14", "--until",
                               "2026-11-09T00:00+01:00", "--product", "analytics", "--playbook", "default"]),
}  # fmt: skip


async def seed_dataset(db: Database, name: str) -> None:
    scripts, more = DATASETS[name]()
    await seed(db, scripts)
    await MomentStore(db).record_all(more)


async def run_report(records_url: str, options: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = onboarding.parser().parse_args([
        "report", "--database-url", records_url, "--playbooks-dir", str(DEFAULT_DIR),
        "--ui-url", "http://ui.test", "--namespace", "onboarding",
        "--json", "-", "--csv", "report.csv", "--out", "report.html", *options,
    ])  # fmt: skip
    code = await report_cli.run(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def first_difference(actual: str, expected: str) -> str:
    """Where two long texts part (pytest's own diff of a page takes minutes)."""
    at = next(
        (i for i, (a, e) in enumerate(zip(actual, expected, strict=False)) if a != e), min(len(actual), len(expected))
    )
    return (
        f"lengths {len(actual)} vs {len(expected)} (stored); first difference at {at}:\n"
        f"  now:    {actual[max(0, at - 120) : at + 120]!r}\n  stored: {expected[max(0, at - 120) : at + 120]!r}"
    )


def same_as_stored(path: Path, actual: str, *, write: bool) -> None:
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
    expected = path.read_bytes().decode()
    if actual != expected:
        pytest.fail(f"{path.relative_to(FIXTURES.parent.parent.parent)} changed: {first_difference(actual, expected)}")


@pytest.mark.parametrize("case", CASES)
async def test_the_report_is_unchanged(case, records_url, records_db, tmp_path, monkeypatch):
    dataset, options = CASES[case]
    await seed_dataset(records_db, dataset)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(report_cli, "clock", lambda: GENERATED)  # the generation time, fixed for the stored files
    code, out, err = await run_report(records_url, options)
    assert code == 0, err

    page = (tmp_path / "report.html").read_bytes().decode()
    bundle = packed()
    assert page.count(bundle) == 1 and PLOTLY_JS not in page
    stored = FIXTURES / case
    write = UPDATE and records_url.startswith("sqlite")  # the stored files come from SQLite
    same_as_stored(stored / "report.html", page.replace(bundle, PLOTLY_JS), write=write)
    same_as_stored(stored / "report.json", out, write=write)
    same_as_stored(stored / "report.csv", (tmp_path / "report.csv").read_bytes().decode(), write=write)
    same_as_stored(stored / "terminal.txt", re.sub(r" in \d+\.\d s;", " in <t> s;", err), write=write)
