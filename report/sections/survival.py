"""Time to first action and to first value as survival curves: per segment, per variant and
per week of start, the share of journeys that got there by each hour (Kaplan-Meier; those
still running count until their age, report/survival.py), with the target, the median and
the share within the target, each with its 95% interval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import plotly.graph_objects as go

from report import survival
from report.journeys import Journey
from report.links import equals
from report.models import CurvePoint, PlaybookMilestones, SurvivalRow
from report.sections.common import HOUR, CellMaker, week_of, week_query
from report.sections.markup import count, escape, in_hours, percent, plot, table
from report.sections.time_to import first_value_at

BY = ("segment", "variant", "start_week")
MOMENTS = ("first_action", "first_value")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass
class _Group:
    reached: list[tuple[float, str]] = field(default_factory=list)  # (hours, workflow id)
    not_yet: list[tuple[float, str]] = field(default_factory=list)  # (hours followed, workflow id)
    target_hours: float | None = None


Reached = Callable[[Journey, PlaybookMilestones], datetime | None]
Target = Callable[[PlaybookMilestones], float | None]
WAYS: dict[str, tuple[Reached, Target]] = {
    "first_action": (lambda journey, _: journey.first_action_at, PlaybookMilestones.first_action_target),
    "first_value": (first_value_at, PlaybookMilestones.first_value_target),
}


class Survival:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)  # (moment, by, group) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        assert journey.started_at is not None  # the query reads only journeys that started
        start, wid = journey.started_at, journey.workflow_id
        # Without the moment, a journey counts as "not there" for its whole age: a running one
        # may still get there; one that ended without it (cancelled, or a human skipped the
        # milestone) never will, so it stays among those not there, as long as we know of it.
        age = max(0.0, (self.now - start).total_seconds() / HOUR)
        for moment, (reached, target) in WAYS.items():
            at = reached(journey, playbook)
            for by, group in _groups(journey):
                tally = self.groups[(moment, by, group)]
                if tally.target_hours is None:  # a group's target: its first journey's with one
                    tally.target_hours = target(playbook)
                if at is not None:
                    tally.reached.append((max(0.0, (at - start).total_seconds() / HOUR), wid))
                else:
                    tally.not_yet.append((age, wid))

    def rows(self, cell: CellMaker) -> list[SurvivalRow]:
        def order(key: tuple[str, str, str]) -> tuple[int, int, str]:
            moment, by, group = key
            return MOMENTS.index(moment), BY.index(by), group

        return [_row(key, tally, cell) for key, tally in sorted(self.groups.items(), key=lambda kv: order(kv[0]))]


def _groups(journey: Journey) -> Iterator[tuple[str, str]]:
    assert journey.started_at is not None
    yield "segment", journey.segment
    if journey.variant:
        yield "variant", f"{journey.playbook}/{journey.variant}"
    yield "start_week", week_of(journey.started_at)


def _clause(by: str, group: str) -> str:
    if by == "segment":
        return equals("Segment", group)
    if by == "variant":
        return equals("PlaybookVariant", group.rsplit("/", 1)[-1])
    return week_query(group)


def _row(key: tuple[str, str, str], tally: _Group, cell: CellMaker) -> SurvivalRow:
    moment, by, group = key
    clause = _clause(by, group)
    curve = survival.kaplan_meier([h for h, _ in tally.reached], [h for h, _ in tally.not_yet])
    assert curve is not None  # a group has at least one journey
    target = tally.target_hours
    # a share within the target only once a journey of the group was followed that long
    within = curve.at(target) if target is not None and curve.known_at(target) else None
    return SurvivalRow(
        moment=moment,
        by=by,
        group=group,
        journeys=cell([w for _, w in tally.reached] + [w for _, w in tally.not_yet], clause),
        reached=cell([w for _, w in tally.reached], clause),
        not_yet=cell([w for _, w in tally.not_yet], clause),
        target_hours=target,
        median_hours=curve.median(),
        median_ci_hours=curve.median_interval() if tally.reached else None,
        within_target_share=within[0] if within else None,
        within_target_ci=within[1] if within else None,
        curve=[
            CurvePoint(hours=t, reached=r, low=lo, high=hi)
            for t, r, lo, hi in zip(curve.times, curve.reached, curve.low, curve.high, strict=True)
        ],
    )


NAMES = {"first_action": "first action", "first_value": "first value"}
BY_NAMES = {"segment": "segment", "variant": "variant", "start_week": "week of start"}


def render(rows: list[SurvivalRow]) -> list[str]:
    if not rows:
        return []
    out = [
        "<h2>How fast customers get there: time to first action and to first value</h2><p class=note>"
        "Each line is the share of a group's journeys that took their first action (the customer completed the playbook's "
        "first milestone) or reached first value (the customer completed the second) by each hour after the start. Journeys still running count "
        "for as long as they have run and are neither dropped nor taken as failures (Kaplan-Meier); the shaded band "
        "is the 95% interval. Not yet: journeys without it so far (still running, or ended without it). Median: the hour half the group got there; within target: the share that got there "
        "within the playbook's window (dashed line). &ldquo;not yet&rdquo; marks an end of an interval the data cannot "
        "tell yet.</p>"
    ]
    for moment in MOMENTS:
        for by in BY:
            mine = [r for r in rows if r.moment == moment and r.by == by]
            if not mine:
                continue
            out.append(f"<h3>Time to {NAMES[moment]}, by {BY_NAMES[by]}</h3>")
            out.append(
                plot(_figure(mine, f"share of journeys with their {NAMES[moment]}, by hour"), f"km-{moment}-{by}")
            )
            out.append(_table(mine, by))
    return out


def _figure(rows: list[SurvivalRow], title: str) -> go.Figure:
    figure = go.Figure()
    for i, r in enumerate(rows):
        colour = COLOURS[i % len(COLOURS)]
        points = drawn_points(r.curve)
        hours = [0.0, *(round(p.hours, 2) for p in points)]
        band_low = [0.0, *(round(p.low if p.low is not None else p.reached, 4) for p in points)]
        band_high = [0.0, *(round(p.high if p.high is not None else p.reached, 4) for p in points)]
        common = {"x": hours, "mode": "lines", "line": {"shape": "hv", "width": 0}, "legendgroup": r.group,
                  "showlegend": False, "hoverinfo": "skip"}  # fmt: skip
        figure.add_scatter(y=band_low, **common)
        figure.add_scatter(y=band_high, fill="tonexty", fillcolor=_faint(colour), **common)
        figure.add_scatter(
            name=r.group,
            legendgroup=r.group,
            x=hours,
            y=[0.0, *(round(p.reached, 4) for p in points)],
            mode="lines",
            line={"shape": "hv", "color": colour, "width": 2},
            hovertemplate="%{y:.0%} by %{x:.0f} h<extra>" + escape(r.group) + "</extra>",
        )
    targets = sorted({r.target_hours for r in rows if r.target_hours is not None})
    for target in targets:
        figure.add_vline(
            x=target,
            line={"dash": "dash", "color": "#52606d"},
            annotation_text=f"target {target:g} h",
            annotation_position="bottom right",
        )
    # up to a little past the last hour anybody got there (or the target): a journey followed
    # for months without acting would squeeze the rise into the left edge
    last = max([*targets, *(_last_rise(r) for r in rows)], default=0)
    figure.update_layout(
        title=title,
        xaxis={"title": "hours since the start", "range": [0, max(last * 1.25, 1)]},
        yaxis={"tickformat": ".0%", "range": [0, 1.02]},
    )
    return figure


# Steps smaller than this (a fifth of a percentage point) are merged on the page; the JSON keeps
# every step. Thousands of journeys draw the same picture from a few hundred points.
STEP = 0.002


def drawn_points(curve: list[CurvePoint]) -> list[CurvePoint]:
    """The points the page draws: each that moves the share by at least STEP from the last
    one drawn, and the last (the curve's end)."""
    kept: list[CurvePoint] = []
    for i, p in enumerate(curve):
        if not kept or abs(p.reached - kept[-1].reached) >= STEP or i == len(curve) - 1:
            kept.append(p)
    return kept


def _last_rise(row: SurvivalRow) -> float:
    """The last hour a journey of the group got there (0: none yet)."""
    before, last = 0.0, 0.0
    for p in row.curve:
        if p.reached > before:
            before, last = p.reached, p.hours
    return last


def _faint(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.15)"


def _table(rows: list[SurvivalRow], by: str) -> str:
    return table(
        [
            BY_NAMES[by],
            "journeys",
            "got there",
            "not yet",
            "median",
            "95% interval",
            "target",
            "within target",
            "95% interval",
        ],
        [
            [
                escape(r.group),
                count(r.journeys),
                count(r.reached),
                count(r.not_yet),
                in_hours(r.median_hours) if r.median_hours is not None else "not yet",
                _hours_interval(r.median_ci_hours),
                in_hours(r.target_hours),
                percent(r.within_target_share),
                "–" if r.within_target_ci is None else f"{r.within_target_ci[0]:.0%} – {r.within_target_ci[1]:.0%}",
            ]
            for r in rows
        ],
    )


def _hours_interval(pair: tuple[float | None, float | None] | None) -> str:
    if pair is None:
        return "–"
    low, high = pair
    return f"{in_hours(low) if low is not None else 'not yet'} – {in_hours(high) if high is not None else 'not yet'}"
