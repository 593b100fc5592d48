"""Playbook experiments, judged on what a playbook change can move: per variant, the share of
journeys whose customer took the first action, the time to it (a Kaplan-Meier median, those
still running counted) and activation, each with a 95% interval; per pair of a playbook's
variants, the differences with their intervals and tests, and a verdict in words that never
calls an arm faster when fewer of its customers acted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

import plotly.graph_objects as go

from report import stats, survival
from report.journeys import Journey
from report.links import equals
from report.models import PlaybookMilestones, VariantComparison, VariantRow
from report.sections.common import HOUR, CellMaker
from report.sections.markup import count, escape, in_hours, percent, plot, table

SIGNIFICANCE = 0.05


@dataclass
class _Arm:
    journeys: list[str] = field(default_factory=list)
    first_actions: list[str] = field(default_factory=list)
    acted_hours: list[float] = field(default_factory=list)  # from the start to the first action
    not_yet_hours: list[float] = field(default_factory=list)  # the ages of those without one
    activated: list[str] = field(default_factory=list)
    target_hours: float | None = None

    @property
    def n(self) -> int:
        return len(self.journeys)

    def acted_rate(self) -> float:
        return len(self.first_actions) / self.n

    def activation_rate(self) -> float:
        return len(self.activated) / self.n

    def curve(self) -> survival.Curve | None:
        return survival.kaplan_meier(self.acted_hours, self.not_yet_hours)


class Experiments:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.arms: dict[tuple[str, str], _Arm] = defaultdict(_Arm)  # (playbook, variant) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        if not journey.variant:
            return
        assert journey.started_at is not None  # the query reads only journeys that started
        arm = self.arms[(journey.playbook, journey.variant)]
        arm.journeys.append(journey.workflow_id)
        if arm.target_hours is None:
            arm.target_hours = playbook.first_action_target()
        if journey.first_action_at:
            arm.acted_hours.append(max(0.0, (journey.first_action_at - journey.started_at).total_seconds() / HOUR))
            arm.first_actions.append(journey.workflow_id)
        else:
            # as in the survival curves: not there for its whole age, running or ended without it
            arm.not_yet_hours.append(max(0.0, (self.now - journey.started_at).total_seconds() / HOUR))
        if journey.activated_at:
            arm.activated.append(journey.workflow_id)

    def rows(self, cell: CellMaker) -> list[VariantRow]:
        return [_row(playbook, variant, arm, cell) for (playbook, variant), arm in sorted(self.arms.items())]

    def comparisons(self) -> list[VariantComparison]:
        out = []
        for playbook in sorted({p for p, _ in self.arms}):
            names = sorted(v for p, v in self.arms if p == playbook)
            for a, b in combinations(names, 2):
                out.append(_compare(playbook, a, b, self.arms[(playbook, a)], self.arms[(playbook, b)]))
        return out


def _row(playbook: str, variant: str, arm: _Arm, cell: CellMaker) -> VariantRow:
    group = equals("PlaybookVariant", variant)
    curve = arm.curve()
    assert curve is not None  # an arm has a journey
    return VariantRow(
        playbook=playbook,
        variant=variant,
        journeys=cell(arm.journeys, group),
        first_actions=cell(arm.first_actions, group),
        first_action_rate=arm.acted_rate(),
        first_action_rate_ci=stats.wilson(len(arm.first_actions), arm.n),
        ttfa_median_hours=curve.median(),
        ttfa_median_ci_hours=curve.median_interval() if arm.first_actions else None,
        activated=cell(arm.activated, group),
        activation_rate=arm.activation_rate(),
        activation_rate_ci=stats.wilson(len(arm.activated), arm.n),
    )


def _compare(playbook: str, a: str, b: str, arm_a: _Arm, arm_b: _Arm) -> VariantComparison:
    acted_p = stats.fisher_p(len(arm_a.first_actions), arm_a.n, len(arm_b.first_actions), arm_b.n)
    log_rank = survival.log_rank_p(arm_a.acted_hours, arm_a.not_yet_hours, arm_b.acted_hours, arm_b.not_yet_hours)
    within = _restricted_to(arm_a, arm_b)
    rmst_a = rmst_b = None
    rmst_difference: float | None = None
    rmst_ci: tuple[float, float] | None = None
    if within is not None:
        rmst_a = survival.restricted_mean(arm_a.acted_hours, arm_a.not_yet_hours, within)
        rmst_b = survival.restricted_mean(arm_b.acted_hours, arm_b.not_yet_hours, within)
        rmst_difference = rmst_a[0] - rmst_b[0]
        half = stats.Z95 * (rmst_a[1] + rmst_b[1]) ** 0.5
        rmst_ci = (rmst_difference - half, rmst_difference + half)
    activation_p = stats.two_proportions_p(len(arm_a.activated), arm_a.n, len(arm_b.activated), arm_b.n)
    needed = stats.journeys_per_arm(arm_a.acted_rate(), arm_b.acted_rate())
    comparison = VariantComparison(
        playbook=playbook,
        a=a,
        b=b,
        first_action_difference=arm_a.acted_rate() - arm_b.acted_rate(),
        first_action_difference_ci=stats.newcombe(len(arm_a.first_actions), arm_a.n, len(arm_b.first_actions), arm_b.n),
        first_action_p_value=acted_p,
        ttfa_log_rank_p_value=log_rank,
        restricted_within_hours=within,
        restricted_mean_a_hours=rmst_a[0] if rmst_a else None,
        restricted_mean_b_hours=rmst_b[0] if rmst_b else None,
        restricted_mean_difference_hours=rmst_difference,
        restricted_mean_difference_ci_hours=rmst_ci,
        activation_difference=arm_a.activation_rate() - arm_b.activation_rate(),
        activation_difference_ci=stats.newcombe(len(arm_a.activated), arm_a.n, len(arm_b.activated), arm_b.n),
        activation_p_value=activation_p,
        journeys_needed_per_arm=needed,
        verdict="",
    )
    comparison.verdict = verdict(comparison, arm_a, arm_b)
    return comparison


def _restricted_to(arm_a: _Arm, arm_b: _Arm) -> float | None:
    """The window the restricted mean covers: the first milestone's target, or less if an
    arm has not been followed that long (no guessing past the data)."""
    target = arm_a.target_hours or arm_b.target_hours
    if target is None:
        return None
    within = min(target, *(_known_until(arm) for arm in (arm_a, arm_b)))
    return within if within > 0 else None


def _known_until(arm: _Arm) -> float:
    """How far the arm's curve is known: to the longest a journey was followed, or for good
    once every journey still followed then has acted."""
    last_not_yet = max(arm.not_yet_hours, default=-1.0)
    if arm.acted_hours and last_not_yet < max(arm.acted_hours):
        return float("inf")
    return last_not_yet


def verdict(c: VariantComparison, arm_a: _Arm, arm_b: _Arm) -> str:
    return "; ".join(
        (_acted_verdict(c, arm_a, arm_b), _time_verdict(c, arm_a, arm_b), _activation_verdict(c, arm_a, arm_b))
    )


def _acted_verdict(c: VariantComparison, arm_a: _Arm, arm_b: _Arm) -> str:
    shares = f"{len(arm_a.first_actions)}/{arm_a.n} vs {len(arm_b.first_actions)}/{arm_b.n}"
    p = c.first_action_p_value
    assert p is not None and c.first_action_difference_ci is not None  # both arms have journeys
    low, high = c.first_action_difference_ci
    if p < SIGNIFICANCE:
        ahead = c.a if arm_a.acted_rate() > arm_b.acted_rate() else c.b
        return (
            f"first action: more customers act on {ahead} ({shares}; difference {c.first_action_difference:+.0%}, "
            f"95% interval {low:+.0%} to {high:+.0%}; Fisher p={p:.3f})"
        )
    text = f"first action: not yet significant ({shares}; Fisher p={p:.2f})"
    needed = c.journeys_needed_per_arm
    if needed is None:
        return text + "; no difference seen, so more journeys would not show one"
    extra = max(0, needed - min(arm_a.n, arm_b.n))
    return text + f"; to see a difference this size would take about {needed} journeys per arm ({extra} more per arm)"


def _time_verdict(c: VariantComparison, arm_a: _Arm, arm_b: _Arm) -> str:
    p = c.ttfa_log_rank_p_value
    if p is None:
        return "time to first action: nobody acted yet"
    if p >= SIGNIFICANCE or c.restricted_mean_difference_hours is None:
        return f"time to first action: not yet significant (log-rank p={p:.2f})"
    sooner = c.a if c.restricted_mean_difference_hours < 0 else c.b
    later_arm, sooner_arm = (arm_b, arm_a) if sooner == c.a else (arm_a, arm_b)
    gap = abs(c.restricted_mean_difference_hours)
    within = f"{c.restricted_within_hours:g} h"
    # "faster" only when the arm's customers also act at least as often
    if sooner_arm.acted_rate() >= later_arm.acted_rate():
        assert c.restricted_mean_difference_ci_hours is not None  # set with the difference
        # the interval of "hours less" for the arm called faster (a negative end: more)
        a_low, a_high = c.restricted_mean_difference_ci_hours
        low, high = (-a_high, -a_low) if sooner == c.a else (a_low, a_high)
        return (
            f"time to first action: {sooner} is faster, {gap:.1f} h less waiting on average within the first "
            f"{within} (95% interval {low:.1f} to {high:.1f} h; log-rank p={p:.3f})"
        )
    return (
        f"time to first action: the curves differ (log-rank p={p:.3f}) but {sooner} is not faster: "
        f"fewer of its customers acted, those who did acted early"
    )


def _activation_verdict(c: VariantComparison, arm_a: _Arm, arm_b: _Arm) -> str:
    p = c.activation_p_value
    if p is None:
        return "activation: too few journeys to compare"
    if p < SIGNIFICANCE:
        return f"activation: {c.a if arm_a.activation_rate() > arm_b.activation_rate() else c.b} activates more (p={p:.3f})"
    return f"activation: not yet significant (p={p:.2f})"


def render(variants: list[VariantRow], comparisons: list[VariantComparison]) -> list[str]:
    if not variants:  # no playbook declares variants: no section
        return []
    return [
        "<h2>Playbook experiments</h2><p class=note>Per arm: the share of journeys whose customer took the first "
        "action (Wilson 95% interval), the median time to it read off the arm's survival curve (journeys still "
        "running counted), activation. Per pair: the difference in the first-action share (Newcombe 95% interval, "
        "Fisher's exact test), the time to first action (log-rank test over every journey, and the difference in "
        "average hours waited within the target with its 95% interval), activation; significant below p=0.05.</p>",
        plot(_first_action_figure(variants), "variants"),
        _arms_table(variants),
        _comparisons_table(comparisons),
        "<ul>"
        + "".join(
            f"<li><b>{escape(c.playbook)}: {escape(c.a)} vs {escape(c.b)}</b>: {escape(c.verdict)}</li>"
            for c in comparisons
        )
        + "</ul>",
    ]


def _arms_table(variants: list[VariantRow]) -> str:
    header = ["playbook", "variant", "journeys", "acted", "share acted", "95% interval", "median time to first action",
              "95% interval", "activated", "rate", "95% interval"]  # fmt: skip
    return table(
        header,
        [
            [
                escape(v.playbook),
                escape(v.variant),
                count(v.journeys),
                count(v.first_actions),
                percent(v.first_action_rate),
                _interval(v.first_action_rate_ci, ".0%"),
                in_hours(v.ttfa_median_hours) if v.ttfa_median_hours is not None else "not yet",
                _hours_interval(v.ttfa_median_ci_hours),
                count(v.activated),
                percent(v.activation_rate),
                _interval(v.activation_rate_ci, ".0%"),
            ]
            for v in variants
        ],
    )


def _comparisons_table(comparisons: list[VariantComparison]) -> str:
    header = ["playbook", "a vs b", "share acted a - b", "95% interval", "Fisher p", "log-rank p",
              "hours waited a - b (within)", "95% interval", "activation a - b", "95% interval", "journeys needed per arm"]  # fmt: skip
    return table(
        header,
        [
            [
                escape(c.playbook),
                f"{escape(c.a)} vs {escape(c.b)}",
                _points(c.first_action_difference),
                _interval(c.first_action_difference_ci, "+.0%"),
                _p(c.first_action_p_value),
                _p(c.ttfa_log_rank_p_value),
                "–"
                if c.restricted_mean_difference_hours is None
                else f"{c.restricted_mean_difference_hours:+.1f} h ({c.restricted_within_hours:g} h)",
                _interval(c.restricted_mean_difference_ci_hours, "+.1f"),
                _points(c.activation_difference),
                _interval(c.activation_difference_ci, "+.0%"),
                "–" if c.journeys_needed_per_arm is None else str(c.journeys_needed_per_arm),
            ]
            for c in comparisons
        ],
    )


def _first_action_figure(variants: list[VariantRow]) -> go.Figure:
    """Each arm's share of journeys that acted, its 95% interval as error bars."""
    shares = [v.first_action_rate or 0 for v in variants]
    above = [
        (v.first_action_rate_ci[1] - s) if v.first_action_rate_ci else 0 for v, s in zip(variants, shares, strict=True)
    ]
    below = [
        (s - v.first_action_rate_ci[0]) if v.first_action_rate_ci else 0 for v, s in zip(variants, shares, strict=True)
    ]
    figure = go.Figure()
    figure.add_bar(
        x=[f"{v.playbook}/{v.variant}" for v in variants],
        y=shares,
        error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
    )
    figure.update_layout(title="share of journeys whose customer took the first action, by variant (95% interval)",
                         yaxis={"tickformat": ".0%", "range": [0, 1]})  # fmt: skip
    return figure


def _interval(pair: tuple[float, float] | None, fmt: str) -> str:
    return "–" if pair is None else f"{pair[0]:{fmt}} – {pair[1]:{fmt}}"


def _hours_interval(pair: tuple[float | None, float | None] | None) -> str:
    if pair is None:
        return "–"
    return " – ".join("not yet" if h is None else in_hours(h) for h in pair)


def _points(share: float | None) -> str:
    return "–" if share is None else f"{share:+.0%}"


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.3f}"
