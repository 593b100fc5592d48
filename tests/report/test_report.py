"""The friction report's figures from seeded moments, exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from cli.main import parser
from contracts.moments import MomentKind, MomentRequest, moment_key
from records.moments import MomentStore
from report import cli as report_cli
from report import csv_out, stats
from report.cli import build
from report.links import Links
from report.models import Filters
from tests.harness.report_journeys import Script, moments, seed

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
LINKS = Links("http://ui.test", "onboarding")

SCRIPTS = [
    # smb: first actions after 10, 30, 100 h (target 72 h), one never acts
    Script("S1", "smb", MONDAY, done_after=(10, 20, 30), touchpoints=("direction", "direction", "clarify")),
    Script(
        "S2", "smb", MONDAY, done_after=(30, 200, None), touchpoints=("clarify", "simplify", "direction"), owner="omar"
    ),
    Script(
        "S3",
        "smb",
        NEXT_MONDAY,
        done_after=(100, None, None),
        touchpoints=("redirect", "direction", "direction"),
        escalate_after=120,
        trigger="follow_ups",
        resolved_after=30,
        level=2,
    ),
    Script("S4", "smb", NEXT_MONDAY, escalate_after=50, trigger="help"),
    # enterprise: one acts after 5 h through a human, one is cancelled
    Script(
        "E1",
        "enterprise",
        MONDAY,
        done_after=(5, None, None),
        touchpoints=("human", "direction", "direction"),
        escalate_after=1,
        trigger="high_value",
        resolved_after=4,
        owner="omar",
        over_capacity=True,
    ),
    Script("E2", "enterprise", MONDAY, closed_after=40, owner="omar"),
]


@pytest.fixture
async def seeded(records_db):
    await seed(records_db, SCRIPTS)
    return records_db


def ids(link: str) -> list[str]:
    query = parse_qs(urlparse(link).query)["query"][0]
    assert query.startswith("WorkflowId IN (")
    return sorted(part.strip(" '") for part in query[len("WorkflowId IN (") : -1].split(","))


async def test_time_to_first_action_and_first_value_per_segment(seeded):
    report = await build(seeded, Filters(), links=LINKS, now=NOW)
    assert (report.journeys.n, report.running.n, report.activated.n, report.closed.n) == (6, 4, 1, 1)
    (smb,) = [r for r in report.time_to_first_action if r.segment == "smb"]
    assert (smb.journeys.n, smb.reached.n, smb.inside.n) == (4, 3, 2)
    assert (smb.median_hours, smb.p90_hours, smb.target_hours) == (30, pytest.approx(86), 72)
    assert smb.inside_share == 0.5
    assert ids(smb.inside.link) == ["onboarding-S1", "onboarding-S2"]
    (ent,) = [r for r in report.time_to_first_action if r.segment == "enterprise"]
    assert (ent.journeys.n, ent.reached.n, ent.inside.n, ent.median_hours) == (2, 1, 1, 5)
    (fv,) = [r for r in report.time_to_first_value if r.segment == "smb"]
    # first value = the second milestone done: S1 after 20 h, S2 after 200 h; target 72 + 120
    assert (fv.reached.n, fv.median_hours, fv.target_hours, fv.inside.n) == (2, 110, 192, 1)


async def test_funnel_by_week_and_what_moved_customers(seeded):
    report = await build(seeded, Filters(), links=LINKS, now=NOW)
    funnel = {(r.week, r.milestone): (r.told.n, r.acted.n, r.skipped.n, r.next.n) for r in report.funnel}
    drop_off = {(r.week, r.milestone): r.drop_off_share for r in report.funnel}
    assert drop_off == {
        ("2026-11-02", "first_action"): 0.25,  # 4 told, 3 went on
        ("2026-11-02", "first_value"): pytest.approx(1 / 3),
        ("2026-11-02", "expansion_check"): 0.5,
        ("2026-11-09", "first_action"): 0.5,
        ("2026-11-09", "first_value"): 1.0,
    }
    assert funnel == {
        ("2026-11-02", "first_action"): (4, 3, 0, 3),
        ("2026-11-02", "first_value"): (3, 2, 0, 2),
        ("2026-11-02", "expansion_check"): (2, 1, 0, 1),
        ("2026-11-09", "first_action"): (2, 1, 0, 1),
        ("2026-11-09", "first_value"): (1, 0, 0, 0),
    }
    moved = {(r.milestone, r.touchpoint): (r.completions.n, r.share) for r in report.touchpoints}
    assert moved == {
        ("first_action", "clarify"): (1, 0.25), ("first_action", "direction"): (1, 0.25),
        ("first_action", "human"): (1, 0.25), ("first_action", "redirect"): (1, 0.25),
        ("first_value", "direction"): (1, 0.5), ("first_value", "simplify"): (1, 0.5),
        ("expansion_check", "clarify"): (1, 1.0),
    }  # fmt: skip


async def test_where_customers_wait_now_and_humans(seeded):
    report = await build(seeded, Filters(), links=LINKS, now=NOW)
    waiting = {(r.stage, r.state, r.age): (r.journeys.n, r.oldest_hours) for r in report.waiting}
    assert waiting == {
        ("first_action", "escalated", "7d+"): (1, 168.0),  # S4, its escalation still open
        ("first_value", "awaiting_action", "7d+"): (2, 336.0),  # S3 (7 d), E1 (14 d)
        ("expansion_check", "awaiting_action", "7d+"): (1, 336.0),  # S2
    }
    h = report.humans
    assert (h.journeys.n, h.escalated.n, h.escalations, h.staff_decisions.n) == (6, 3, 3, 2)
    assert h.escalation_rate == 0.5
    assert {t.trigger: t.escalations.n for t in h.triggers} == {"follow_ups": 1, "help": 1, "high_value": 1}
    assert (h.staff_decision_median_hours, h.staff_decision_p90_hours) == (17, pytest.approx(27.4))
    assert (h.ended_by_customer.n, h.ended_by_cancel.n, h.still_open.n) == (0, 0, 1)
    owners = {o.owner: (o.journeys.n, o.escalations.n, o.sla_breaches.n, o.over_capacity.n) for o in h.owners}
    assert owners == {"maya": (3, 2, 1, 0), "omar": (3, 1, 0, 1)}


async def test_filters(seeded):
    assert (await build(seeded, Filters(segment="enterprise"), links=LINKS, now=NOW)).journeys.n == 2
    assert (await build(seeded, Filters(owner="omar"), links=LINKS, now=NOW)).journeys.n == 3
    assert (await build(seeded, Filters(since=NEXT_MONDAY), links=LINKS, now=NOW)).journeys.n == 2
    assert (await build(seeded, Filters(until=NEXT_MONDAY, segment="smb"), links=LINKS, now=NOW)).journeys.n == 2
    assert (await build(seeded, Filters(product="other"), links=LINKS, now=NOW)).journeys.n == 0
    assert (await build(seeded, Filters(playbook="default"), links=LINKS, now=NOW)).journeys.n == 6


async def test_every_count_links_to_its_journeys_in_the_web_ui(seeded):
    report = await build(seeded, Filters(), links=LINKS, now=NOW)
    assert report.running.link.startswith("http://ui.test/namespaces/onboarding/workflows?query=")
    assert ids(report.running.link) == ["onboarding-E1", "onboarding-S2", "onboarding-S3", "onboarding-S4"]
    assert ids(report.humans.escalated.link) == ["onboarding-E1", "onboarding-S3", "onboarding-S4"]


async def onboarding(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = await report_cli.run(parser().parse_args(argv), out=io.StringIO(), err=err)
    return code, err.getvalue()


async def test_the_command_writes_json_csv_and_html(seeded, records_url, tmp_path):
    out, data, table = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.csv"
    code, err = await onboarding(
        "report",
        "--database-url",
        records_url,
        "--out",
        str(out),
        "--json",
        str(data),
        "--csv",
        str(table),
        "--segment",
        "smb",
        "--now",
        NOW.isoformat(),
    )
    assert code == 0, err
    parsed = json.loads(data.read_text())
    assert parsed["journeys"]["n"] == 4 and parsed["filters"]["segment"] == "smb"
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert {
        "section": "time_to_first_action",
        "group": "smb",
        "figure": "median_hours",
        "value": "30.0",
        "low": "",
        "high": "",
        "link": "",
    } in rows
    (interval,) = [
        r
        for r in rows
        if (r["section"], r["group"], r["figure"]) == ("survival", "first_action/segment/smb", "within_target_ci")
    ]
    assert interval["value"] == "" and (float(interval["low"]), float(interval["high"])) == (
        pytest.approx(0.1551, abs=1e-4),
        pytest.approx(0.9422, abs=1e-4),
    )  # as tests/report/test_report_survival.py works out by hand
    page = out.read_text()
    assert page.count('id="plot-') == 11 and "Plotly.newPlot" in page and "<script src=" not in page
    assert "4 journeys" in err


async def test_a_bad_date_names_the_option(tmp_path):
    code, err = await onboarding("report", "--data-dir", str(tmp_path), "--since", "last tuesday")
    assert code == 2
    assert "--since: 'last tuesday' is not an ISO date" in err
    assert not (tmp_path / "onboarding.sqlite3").exists()


async def test_variants_compared_with_intervals_and_a_verdict(records_db):
    # a: 10 journeys, first actions after 1..10 h, 8 activate; b: 10 journeys, after 21..30 h, 2 activate
    scripts = []
    for i in range(10):
        scripts.append(
            Script(
                f"A{i}", "smb", MONDAY, variant="a", done_after=(i + 1, i + 2, i + 3) if i < 8 else (i + 1, None, None)
            )
        )
        scripts.append(
            Script(
                f"B{i}",
                "smb",
                MONDAY,
                variant="b",
                done_after=(i + 21, i + 22, i + 23) if i < 2 else (i + 21, None, None),
            )
        )
    await seed(records_db, scripts)
    report = await build(records_db, Filters(), links=LINKS, now=NOW)
    a, b = report.variants
    # Kaplan-Meier medians: the first hour half the arm acted (the 5th of 10)
    assert (a.variant, a.journeys.n, a.first_actions.n, a.activated.n, a.ttfa_median_hours) == ("a", 10, 10, 8, 5)
    assert (b.variant, b.journeys.n, b.first_actions.n, b.activated.n, b.ttfa_median_hours) == ("b", 10, 10, 2, 25)
    assert (a.first_action_rate, b.first_action_rate) == (1, 1)
    assert a.activation_rate == 0.8 and a.activation_rate_ci == (
        pytest.approx(0.4902, abs=1e-4),
        pytest.approx(0.9433, abs=1e-4),
    )
    assert a.ttfa_median_ci_hours == (1, 8) and b.ttfa_median_ci_hours == (21, 28)  # where the log-log band crosses 1/2
    (comparison,) = report.variant_comparisons
    # within the 72 h target: a's mean 5.5 h, b's 25.5 h (everybody acted); each mean's variance,
    # without censoring, is the times' variance over n (8.25 / 10): 20 +- 1.96 * sqrt(1.65)
    assert comparison.restricted_mean_difference_hours == pytest.approx(-20)
    assert comparison.restricted_mean_difference_ci_hours == (
        pytest.approx(-20 - 1.959964 * 1.65**0.5),
        pytest.approx(-20 + 1.959964 * 1.65**0.5),
    )
    assert comparison.ttfa_log_rank_p_value < 0.001 and comparison.activation_p_value == pytest.approx(0.0073, abs=1e-4)
    assert comparison.activation_difference == pytest.approx(0.6)
    assert comparison.activation_difference_ci == (pytest.approx(0.1618, abs=1e-4), pytest.approx(0.8027, abs=1e-4))
    rows = {(r[0], r[1], r[2]): r[3:6] for r in csv_out.rows(report)}
    # an interval: its two ends as numbers in `low` and `high`, no value
    low, high = rows[("variants", "default/a", "activation_rate_ci")][1:]
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert rows[("variants", "default/a", "activation_rate_ci")][0] is None
    assert rows[("variant_comparisons", "default/a/b", "activation_difference_ci")][1] == pytest.approx(
        0.1618, abs=1e-4
    )
    assert rows[("variants", "default/a", "activation_rate")] == (0.8, None, None)
    assert comparison.verdict == (
        "first action: not yet significant (10/10 vs 10/10; Fisher p=1.00); no difference seen, so more journeys "
        "would not show one; time to first action: a is faster, 20.0 h less waiting on average within the first 72 h "
        "(95% interval 17.5 to 22.5 h; log-rank p=0.000); activation: a activates more (p=0.007)"
    )


async def test_a_small_difference_is_not_yet_significant(records_db):
    scripts = [Script(f"A{i}", "smb", MONDAY, variant="a", done_after=(10 + i, None, None)) for i in range(4)]
    scripts += [Script(f"B{i}", "smb", MONDAY, variant="b", done_after=(11 + i, None, None)) for i in range(4)]
    await seed(records_db, scripts)
    (comparison,) = (await build(records_db, Filters(), links=LINKS, now=NOW)).variant_comparisons
    assert comparison.verdict.startswith("first action: not yet significant (4/4 vs 4/4; Fisher p=1.00)")
    assert "time to first action: not yet significant (log-rank p=0." in comparison.verdict
    assert comparison.verdict.endswith("activation: not yet significant (p=1.00)")


async def test_the_moments_funnel_view_for_dashboards(seeded):
    from sqlalchemy import text

    async with seeded.begin() as conn:
        rows = (await conn.execute(text(
            "SELECT deal_id, segment, playbook, seconds_to_first_action, seconds_to_activation, milestones_completed, "
            "escalations, started_at IS NOT NULL, closed_at IS NOT NULL FROM moments_funnel ORDER BY deal_id"))).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("E1", "enterprise", "default", 5 * 3600, None, 1, 1, True, False),
        ("E2", "enterprise", "default", None, None, 0, 0, True, True),
        ("S1", "smb", "default", 10 * 3600, 30 * 3600, 3, 0, True, False),
        ("S2", "smb", "default", 30 * 3600, None, 2, 0, True, False),
        ("S3", "smb", "default", 100 * 3600, None, 1, 1, True, False),
        ("S4", "smb", "default", None, None, 0, 1, True, False),
    ]


async def test_only_staff_decisions_count_as_resolutions(records_db):
    # one staff retry after 2 h, the customer acting after 5 h, a cancel after 25 h
    await seed(records_db, [
        Script("R1", "smb", MONDAY, escalate_after=1, resolved_after=2),
        Script("R2", "smb", MONDAY, escalate_after=1, resolved_after=5, outcome="ended_by_customer",
               done_after=(6, None, None)),
        Script("R3", "smb", MONDAY, escalate_after=1, resolved_after=25, outcome="cancelled", closed_after=26),
    ])  # fmt: skip
    h = (await build(records_db, Filters(), links=LINKS, now=NOW)).humans
    assert (h.escalations, h.staff_decisions.n, h.ended_by_customer.n, h.ended_by_cancel.n, h.still_open.n) == (
        3, 1, 1, 1, 0
    )  # fmt: skip
    assert (h.staff_decision_median_hours, h.staff_decision_p90_hours) == (2, 2)
    assert ids(h.staff_decisions.link) == ["onboarding-R1"]
    assert ids(h.ended_by_customer.link) == ["onboarding-R2"] and ids(h.ended_by_cancel.link) == ["onboarding-R3"]


async def test_sla_breaches_count_for_whoever_held_the_level(records_db):
    # maya's escalation went to the backup (ben) and on to the manager (mia); omar's to his backup
    await seed(records_db, [
        Script("L1", "smb", MONDAY, owner="maya", escalate_after=1, level=3, level_assignees=("maya", "ben", "mia")),
        Script("L2", "smb", MONDAY, owner="omar", escalate_after=1, level=2, level_assignees=("omar", "ben")),
        Script("L3", "smb", MONDAY, owner="omar", escalate_after=1, resolved_after=1),
    ])  # fmt: skip
    owners = {
        o.owner: (o.escalations.n, o.sla_breaches.n)
        for o in (await build(records_db, Filters(), links=LINKS, now=NOW)).humans.owners
    }
    # maya and ben each let one level run out, omar one; the manager, at the top, breached nothing
    assert owners == {"maya": (1, 1), "omar": (2, 1), "ben": (0, 1)}


async def test_a_high_value_journey_in_review_waits_in_its_first_milestone(records_db):
    review = Script("H1", "enterprise", MONDAY)
    opened = [  # started, owner assigned, then the review before any kickoff
        *moments(review)[:2],
        MomentRequest(key=moment_key("onboarding-H1", MomentKind.escalated, "first_action", 1),
                      kind=MomentKind.escalated, at=MONDAY, workflow_id="onboarding-H1", deal_id="H1",
                      segment="enterprise", product="analytics", playbook="default", owner="maya",
                      milestone="first_action", detail={"trigger": "high_value"})
    ]  # fmt: skip
    await MomentStore(records_db).record_all(opened)
    (row,) = (await build(records_db, Filters(), links=LINKS, now=NOW)).waiting
    assert (row.stage, row.state, row.journeys.n, row.in_stage_median_hours) == ("first_action", "escalated", 1, 336)


async def test_the_difference_between_arms_has_an_interval_and_the_csv_two_numbers():
    # Newcombe (1998), Table II: 56/70 vs 48/80 -> 0.0524 to 0.3339; 9/10 vs 3/10 -> 0.1705 to 0.8090;
    # 5/56 vs 0/29 -> -0.0381 to 0.1926; 6/7 vs 2/7 -> 0.0582 to 0.8062
    for counts, expected in (((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090)),
                             ((5, 56, 0, 29), (-0.0381, 0.1926)), ((6, 7, 2, 7), (0.0582, 0.8062))):  # fmt: skip
        low, high = stats.newcombe(*counts)
        assert (round(low, 4), round(high, 4)) == expected, counts


async def test_generated_is_the_generation_time_not_now(seeded, records_url, tmp_path):
    data = tmp_path / "r.json"
    before = datetime.now(UTC)
    code, err = await onboarding("report", "--database-url", records_url, "--out", "", "--json", str(data),
                                 "--now", NOW.isoformat())  # fmt: skip
    assert code == 0, err
    parsed = json.loads(data.read_text())
    assert parsed["measured_at"] == "2026-11-16T09:00:00Z"
    assert before <= datetime.fromisoformat(parsed["generated_at"]) <= datetime.now(UTC)
