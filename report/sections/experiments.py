"""Playbook experiments: per variant, time to first action and activation with their 95%
intervals; per pair of a playbook's variants, whether they differ yet, in words."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import plotly.graph_objects as go

from report import stats
from report.journeys import Journey
from report.links import equals
from report.models import PlaybookMilestones, VariantComparison, VariantRow
from report.sections.common import HOUR, CellMaker, hours
from report.sections.markup import count, escape, in_hours, percent, plot, table

SIGNIFICANCE = 0.05


@dataclass
class _Arm:
    journeys: list[str] = field(default_factory=list)
    first_actions: list[str] = field(default_factory=list)
    first_action_seconds: list[float] = field(default_factory=list)  # from the start, in journey order
    activated: list[str] = field(default_factory=list)

    def median_first_action(self) -> float | None:
        return stats.quantile(sorted(self.first_action_seconds), 0.5)

    def activation_rate(self) -> float:
        return len(self.activated) / len(self.journeys)


class Experiments:
    def __init__(self) -> None:
        self.arms: dict[tuple[str, str], _Arm] = defaultdict(_Arm)  # (playbook, variant) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        if not journey.variant:
            return
        assert journey.started_at is not None  # the query reads only journeys that started
        arm = self.arms[(journey.playbook, journey.variant)]
        arm.journeys.append(journey.workflow_id)
        if journey.first_action_at:
            arm.first_action_seconds.append((journey.first_action_at - journey.started_at).total_seconds())
            arm.first_actions.append(journey.workflow_id)
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
    interval = stats.median_interval(sorted(arm.first_action_seconds))
    group = equals("PlaybookVariant", variant)
    return VariantRow(
        playbook=playbook,
        variant=variant,
        journeys=cell(arm.journeys, group),
        first_actions=cell(arm.first_actions, group),
        ttfa_median_hours=hours(arm.median_first_action()),
        ttfa_median_ci_hours=None if interval is None else (interval[0] / HOUR, interval[1] / HOUR),
        activated=cell(arm.activated, group),
        activation_rate=arm.activation_rate() if arm.journeys else None,
        activation_rate_ci=stats.wilson(len(arm.activated), len(arm.journeys)),
    )


def _compare(playbook: str, a: str, b: str, arm_a: _Arm, arm_b: _Arm) -> VariantComparison:
    first_action_p = stats.mann_whitney_p(arm_a.first_action_seconds, arm_b.first_action_seconds)
    activation_p = stats.two_proportions_p(
        len(arm_a.activated), len(arm_a.journeys), len(arm_b.activated), len(arm_b.journeys)
    )
    return VariantComparison(
        playbook=playbook,
        a=a,
        b=b,
        ttfa_p_value=first_action_p,
        activation_difference=(
            arm_a.activation_rate() - arm_b.activation_rate() if arm_a.journeys and arm_b.journeys else None
        ),
        activation_difference_ci=stats.newcombe(
            len(arm_a.activated), len(arm_a.journeys), len(arm_b.activated), len(arm_b.journeys)
        ),
        activation_p_value=activation_p,
        verdict="; ".join(
            (
                _first_action_verdict(a, b, arm_a, arm_b, first_action_p),
                _activation_verdict(a, b, arm_a, arm_b, activation_p),
            )
        ),
    )


def _first_action_verdict(a: str, b: str, arm_a: _Arm, arm_b: _Arm, p: float | None) -> str:
    if p is None:
        return "time to first action: too few first actions to compare"
    if p < SIGNIFICANCE:
        median_a, median_b = arm_a.median_first_action(), arm_b.median_first_action()
        assert median_a is not None and median_b is not None  # a p-value needs first actions in both arms
        return f"time to first action: {a if median_a < median_b else b} is faster (p={p:.3f})"
    return f"time to first action: not yet significant (p={p:.2f})"


def _activation_verdict(a: str, b: str, arm_a: _Arm, arm_b: _Arm, p: float | None) -> str:
    if p is None:
        return "activation: too few journeys to compare"
    if p < SIGNIFICANCE:
        return f"activation: {a if arm_a.activation_rate() > arm_b.activation_rate() else b} activates more (p={p:.3f})"
    return f"activation: not yet significant (p={p:.2f})"


def render(variants: list[VariantRow], comparisons: list[VariantComparison]) -> list[str]:
    if not variants:  # no playbook declares variants: no section
        return []
    return [
        "<h2>Playbook experiments</h2><p class=note>95% intervals: the median's from order statistics, the rate's Wilson. "
        "Differences: Mann-Whitney U on time to first action, two-proportion z-test on activation; significant below p=0.05.</p>",
        plot(_median_first_action_figure(variants), "variants"),
        _arms_table(variants),
        "<ul>"
        + "".join(
            f"<li><b>{escape(c.playbook)}: {escape(c.a)} vs {escape(c.b)}</b>: {escape(c.verdict)}</li>"
            for c in comparisons
        )
        + "</ul>",
    ]


def _arms_table(variants: list[VariantRow]) -> str:
    header = ["playbook", "variant", "journeys", "first actions", "median TTFA", "95% interval", "activated", "rate",
              "95% interval"]  # fmt: skip
    return table(
        header,
        [
            [
                escape(v.playbook),
                escape(v.variant),
                count(v.journeys),
                count(v.first_actions),
                in_hours(v.ttfa_median_hours),
                _interval(v.ttfa_median_ci_hours, ".1f"),
                count(v.activated),
                percent(v.activation_rate),
                _interval(v.activation_rate_ci, ".0%"),
            ]
            for v in variants
        ],
    )


def _median_first_action_figure(variants: list[VariantRow]) -> go.Figure:
    """Each arm's median time to first action, its 95% interval as error bars (0 without)."""
    medians = [v.ttfa_median_hours or 0 for v in variants]
    above = [
        (v.ttfa_median_ci_hours[1] - m) if v.ttfa_median_ci_hours else 0 for v, m in zip(variants, medians, strict=True)
    ]
    below = [
        (m - v.ttfa_median_ci_hours[0]) if v.ttfa_median_ci_hours else 0 for v, m in zip(variants, medians, strict=True)
    ]
    figure = go.Figure()
    figure.add_bar(
        x=[f"{v.playbook}/{v.variant}" for v in variants],
        y=medians,
        error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
    )
    figure.update_layout(title="median time to first action by variant (hours, 95% interval)")
    return figure


def _interval(pair: tuple[float, float] | None, fmt: str) -> str:
    return "–" if pair is None else f"{pair[0]:{fmt}} – {pair[1]:{fmt}}"
