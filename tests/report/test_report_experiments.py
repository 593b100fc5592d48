"""Experiments judged on what a playbook change can move, on unbalanced arms with known
answers: the share that acted (Newcombe interval, Fisher's exact test), the time to first
action over every journey (log-rank, restricted mean within the target), and a verdict that
never calls an arm faster when fewer of its customers acted."""

from __future__ import annotations

import pytest

from report import stats, survival
from report.cli import build
from report.models import Filters
from tests.harness.report_journeys import Script, seed
from tests.report.test_report import LINKS, MONDAY, NOW


def arm(name: str, acted_after: list[float], journeys: int) -> list[Script]:
    """`journeys` journeys started MONDAY; the first ones act after the given hours, the rest
    are still running at NOW (two weeks later)."""
    return [
        Script(f"{name}{i}", "smb", MONDAY, variant=name,
               done_after=(acted_after[i], None, None) if i < len(acted_after) else (None, None, None))
        for i in range(journeys)
    ]  # fmt: skip


async def test_fewer_acting_is_never_faster(records_db):
    # control: 15 of 20 act, after 10, 12, ..., 38 h; fast: 5 of 20 act, after 1..5 h
    await seed(records_db, arm("control", [10 + 2 * i for i in range(15)], 20) + arm("fast", [1, 2, 3, 4, 5], 20))
    report = await build(records_db, Filters(), links=LINKS, now=NOW)
    control, fast = report.variants
    assert (control.first_actions.n, control.first_action_rate, fast.first_actions.n, fast.first_action_rate) == (
        15, 0.75, 5, 0.25
    )  # fmt: skip
    # Kaplan-Meier medians: control half acted by 28 h (the 10th action); fast never got to half
    assert (control.ttfa_median_hours, fast.ttfa_median_hours) == (28, None)
    (c,) = report.variant_comparisons
    assert (c.a, c.b, c.first_action_difference) == ("control", "fast", 0.5)
    assert c.first_action_p_value == pytest.approx(0.003848, abs=1e-6)  # Fisher's exact, 15/20 vs 5/20
    assert c.first_action_difference_ci == stats.newcombe(15, 20, 5, 20)
    # restricted mean within the 72 h target, by hand: control 10 + 0.1 * (19 + ... + 6) * 2 / 2 + 0.25 * 34 = 36.0;
    # fast 1 + (19 + 18 + 17 + 16) / 20 + 0.75 * 67 = 54.75
    assert (c.restricted_within_hours, c.restricted_mean_a_hours, c.restricted_mean_b_hours) == (
        72, pytest.approx(36.0), pytest.approx(54.75)
    )  # fmt: skip
    assert c.restricted_mean_difference_hours == pytest.approx(-18.75)
    low, high = c.restricted_mean_difference_ci_hours
    assert low < -18.75 < high < 0  # control waits less: the interval excludes no difference
    assert c.ttfa_log_rank_p_value is not None and c.ttfa_log_rank_p_value < 0.05
    assert "fast is faster" not in c.verdict
    assert c.verdict.startswith("first action: more customers act on control (15/20 vs 5/20; difference +50%")
    assert "Fisher p=0.004" in c.verdict
    assert (
        "time to first action: control is faster, 18.7 h less waiting on average within the first 72 h "
        "(95% interval 2.5 to 35.0 h; log-rank p=0.011)" in c.verdict
    )
    assert c.ttfa_log_rank_p_value == pytest.approx(0.011, abs=5e-4)


async def test_acting_early_but_fewer_is_not_faster(records_db):
    # early: 8 of 20 act within the first hour; late: all 20 act, after 100..119 h (past the target)
    await seed(records_db, arm("early", [0.5] * 8, 20) + arm("late", [100 + i for i in range(20)], 20))
    (c,) = (await build(records_db, Filters(), links=LINKS, now=NOW)).variant_comparisons
    # within the 72 h target early waits less on average (0.5 + 0.6 * 71.5 = 43.4 h against 72 h) ...
    assert c.restricted_mean_difference_hours == pytest.approx(43.4 - 72)
    assert c.ttfa_log_rank_p_value == pytest.approx(0.0024, abs=1e-4)
    # ... but fewer of its customers act at all: never "faster"
    assert "early is faster" not in c.verdict and "late is faster" not in c.verdict
    assert c.verdict.startswith("first action: more customers act on late (8/20 vs 20/20; difference -60%")
    assert (
        "time to first action: the curves differ (log-rank p=0.002) but early is not faster: fewer of its" in c.verdict
    )


async def test_a_small_difference_says_how_many_journeys_it_would_take(records_db):
    # 6 of 10 vs 4 of 10 act: Fleiss's n per arm for 0.6 vs 0.4 at p<0.05, 80% power
    # = (1.96 sqrt(2 * 0.5 * 0.5) + 0.8416 sqrt(0.24 + 0.24))^2 / 0.2^2 = 96.9 -> 97
    await seed(records_db, arm("a", [5] * 6, 10) + arm("b", [5] * 4, 10))
    (c,) = (await build(records_db, Filters(), links=LINKS, now=NOW)).variant_comparisons
    assert c.journeys_needed_per_arm == 97
    assert c.verdict.startswith("first action: not yet significant (6/10 vs 4/10; Fisher p=0.66)")
    assert "about 97 journeys per arm (87 more per arm)" in c.verdict


def test_the_journeys_needed_match_the_published_table():
    # 0.40 vs 0.50, two-sided 5%, 80% power, no continuity correction: 388 per arm (Fleiss 1981)
    assert stats.journeys_per_arm(0.5, 0.4) == 388
    assert stats.journeys_per_arm(0.3, 0.3) is None
    # all vs none: the formula says 2, but Fisher's exact test first calls 4/4 vs 0/4 (p=0.029; 3/3 vs 0/3: p=0.1)
    assert stats.journeys_per_arm(1.0, 0.0) == 4


def test_log_rank_and_restricted_mean_against_worked_examples():
    # Freireich's leukaemia trial, 6-MP vs placebo: log-rank chi-square 16.79 (Kleinbaum & Klein, ch. 2)
    six_mp = ([6, 6, 6, 7, 10, 13, 16, 22, 23], [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35])
    placebo = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
    p = survival.log_rank_p(*six_mp, placebo, [])
    assert p == pytest.approx(4.17e-5, rel=1e-2)  # the p-value of chi-square 16.79 on 1 degree of freedom
    # restricted mean, by hand: events at 2 and 4, one censored at 3, within 5 h:
    # S = 1 to 2 h, 2/3 to 4 h, 0 after: 2 + 2 * 2/3 = 3.333; variance (2 * 2/3)^2 / (3 * 2) = 0.2963
    mean, variance = survival.restricted_mean([2, 4], [3], 5)
    assert (mean, variance) == (pytest.approx(10 / 3), pytest.approx(8 / 27))
    # without censoring and a window past the last event: the plain mean, and its variance sum((x - mean)^2) / n^2
    assert survival.restricted_mean([1, 2, 3, 4, 7], [], 10) == (pytest.approx(3.4), pytest.approx(0.848))
