"""Time to first action and first value as Kaplan-Meier curves: the estimator against a
published worked example, then the report's curves on seeded journeys with known answers,
journeys still running counted (censored) rather than dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from report import survival
from report.cli import build
from report.models import CurvePoint, Filters
from report.sections import trend
from report.sections.survival import STEP, drawn_points
from tests.harness.report_journeys import Script, seed
from tests.report.test_report import LINKS, NEXT_MONDAY, NOW, SCRIPTS, ids

# Freireich et al. (1963), the 6-MP arm (weeks of remission; the second list still in
# remission when last seen): the worked example of Kleinbaum & Klein, Survival Analysis, ch. 2,
# and of Stata's `sts list` (Cleves et al., An Introduction to Survival Analysis Using Stata).
SIX_MP_RELAPSED = [6, 6, 6, 7, 10, 13, 16, 22, 23]
SIX_MP_IN_REMISSION = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
# the published survival S(t) at each relapse time (Kleinbaum & Klein, table 2.2)
PUBLISHED = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}


def test_the_curve_is_the_textbook_kaplan_meier_estimate():
    curve = survival.kaplan_meier(SIX_MP_RELAPSED, SIX_MP_IN_REMISSION)
    assert curve is not None
    for week, s in PUBLISHED.items():
        reached, _ = curve.at(week)
        assert round(1 - reached, 3) == s, week
    assert curve.at(5.9) == (0.0, None)  # before the first event nobody got there
    assert curve.median() == 23  # the first week S(t) <= 0.5
    # Stata's log-log band at week 6: S = 0.8571, 95% CI 0.6197 - 0.9516; read as the share relapsed
    _, (low, high) = curve.at(6)
    assert (round(low, 4), round(high, 4)) == (round(1 - 0.9516, 4), round(1 - 0.6197, 4))
    # the median's interval: the band's lower side reaches a half at week 13; its upper side never
    assert curve.median_interval() == (13, None)


def test_nobody_yet_and_everybody():
    nobody = survival.kaplan_meier([], [5, 7])
    assert nobody is not None and nobody.median() is None and nobody.at(10) == (0.0, None)
    assert survival.kaplan_meier([], []) is None
    # uncensored: the curve is the plain share; its band by hand (Greenwood, log-log) at 2.5 h:
    # S = 0.5, var sum 1/(4*3) + 1/(3*2) = 0.25, sigma = sqrt(0.25) / |ln 0.5| = 0.7213,
    # S^exp(+-1.96 sigma) = 0.0578, 0.8449: the share reached 0.1551 - 0.9422
    everybody = survival.kaplan_meier([1, 2, 3, 4], [])
    assert everybody is not None and everybody.median() == 2
    share, (low, high) = everybody.at(2.5)
    assert share == 0.5 and (round(low, 4), round(high, 4)) == (0.1551, 0.9422)
    assert everybody.at(4) == (1.0, None)  # everybody got there: no band


async def test_the_report_counts_running_journeys_until_their_age(records_db):
    await seed(records_db, SCRIPTS)
    rows = {(r.moment, r.by, r.group): r for r in (await build(records_db, Filters(), links=LINKS, now=NOW)).survival}
    # smb first action: 10, 30, 100 h; S4 (started NEXT_MONDAY) still running at 168 h
    smb = rows[("first_action", "segment", "smb")]
    assert (smb.journeys.n, smb.reached.n, smb.not_yet.n, smb.target_hours) == (4, 3, 1, 72)
    assert [(p.hours, p.reached) for p in smb.curve] == [(10, 0.25), (30, 0.5), (100, 0.75), (168, 0.75)]
    assert smb.median_hours == 30 and smb.median_ci_hours == (10, None)
    # within 72 h: half, band as computed by hand above (S = 0.5 after two events among 4 and 3 at risk)
    assert smb.within_target_share == 0.5
    assert smb.within_target_ci == (pytest.approx(0.1551, abs=1e-4), pytest.approx(0.9422, abs=1e-4))
    assert ids(smb.not_yet.link) == ["onboarding-S4"]
    # enterprise: E1 acted at 5 h; E2 was cancelled at 40 h without acting: it never will, so it
    # stays among those not there for its whole age (336 h), not only until the cancel
    ent = rows[("first_action", "segment", "enterprise")]
    assert [(p.hours, p.reached) for p in ent.curve] == [(5, 0.5), (336, 0.5)]
    assert (ent.median_hours, ent.not_yet.n) == (5, 1)
    # smb first value: S1 at 20 h, S2 at 200 h; S3 and S4 running at 168 h. The naive median of
    # those that got there would say 110 h; the curve says half got there by 200 h, the first hour it can.
    value = rows[("first_value", "segment", "smb")]
    assert [(p.hours, p.reached) for p in value.curve] == [(20, 0.25), (168, 0.25), (200, 1.0)]
    assert (value.median_hours, value.target_hours, value.within_target_share) == (200, 192, 0.25)
    # per week of start: the second week's S3 (100 h) and S4 (running at 168 h)
    week = rows[("first_action", "start_week", "2026-11-09")]
    assert [(p.hours, p.reached) for p in week.curve] == [(100, 0.5), (168, 0.5)]
    first_week = rows[("first_action", "start_week", "2026-11-02")]
    assert (first_week.journeys.n, first_week.reached.n, first_week.median_hours) == (4, 3, 10)
    assert not any(by == "variant" for _, by, _ in rows)  # no experiment here


async def test_a_group_nobody_reached_yet_has_no_median(records_db):
    await seed(records_db, [Script(f"N{i}", "smb", NEXT_MONDAY, variant="a") for i in range(3)])
    rows = {(r.moment, r.by, r.group): r for r in (await build(records_db, Filters(), links=LINKS, now=NOW)).survival}
    arm = rows[("first_action", "variant", "default/a")]
    assert (arm.journeys.n, arm.reached.n, arm.not_yet.n, arm.median_hours, arm.median_ci_hours) == (
        3,
        0,
        3,
        None,
        None,
    )
    assert (arm.within_target_share, arm.within_target_ci) == (0.0, None)


async def test_the_weekly_trend_reads_each_week_off_its_curve(records_db):
    young = Script("Y1", "smb", NOW - timedelta(hours=8), done_after=(5, None, None))  # a week only hours old
    await seed(records_db, [*SCRIPTS, young, Script("Y2", "smb", NOW - timedelta(hours=9))])
    drawn = trend.series(trend.weeks((await build(records_db, Filters(), links=LINKS, now=NOW)).survival))
    assert drawn.weeks == ["2026-11-02", "2026-11-09", "2026-11-16"]
    # first week: E1 5 h, S1 10 h, S2 30 h, E2 cancelled at 40 h: 3 of 4 within 72 h, half by 10 h
    # second: S3 100 h, S4 running at 168 h: none within 72 h, half by 100 h
    # third: Y1 5 h, Y2 running at 9 h: nobody has run 72 h yet, so no share; half by 5 h
    assert drawn.share == [0.75, 0.0, None]
    assert drawn.median == [10, 100, 5]
    assert drawn.share_band[1] is None and drawn.share_band[2] is None  # 0%: no band; too young: no point
    low, high = drawn.share_band[0]
    assert low < 0.75 < high
    # the median's band: an end not known yet is drawn at the longest the week's journeys ran
    assert drawn.median_band[1] == (100, 168) and drawn.median_band[2] == (5, 9)


def test_the_page_draws_a_long_curve_from_a_few_hundred_points():
    # 2,000 journeys acting one an hour: 2,000 steps of 0.05 points each, drawn as at most 1 / STEP
    curve = [CurvePoint(hours=h, reached=h / 2000, low=None, high=None) for h in range(1, 2001)]
    drawn = drawn_points(curve)
    assert len(drawn) <= 1 / STEP + 2 and drawn[0] == curve[0] and drawn[-1] == curve[-1]
    # read as steps, the drawn curve is never more than STEP off the true one
    shown = iter(drawn)
    current = next(shown)
    upcoming = next(shown, None)
    for p in curve:
        while upcoming is not None and upcoming.hours <= p.hours:
            current, upcoming = upcoming, next(shown, None)
        assert abs(current.reached - p.reached) < STEP
