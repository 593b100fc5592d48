"""The weekly trend: per week of start, the share of journeys whose customer took the first
action within the target and the median time to it, each with its 95% band, both read off
that week's survival curve (report/sections/survival.py), so a week still young is neither
flattered nor punished. Did last week's playbook change help?"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from report.models import SurvivalRow
from report.sections.markup import plot

COLOUR = "#1f77b4"
BAND = "rgba(31,119,180,0.18)"


@dataclass(frozen=True)
class Series:
    """What the trend draws, week by week (None: not known yet, no point)."""

    weeks: list[str]
    share: list[float | None]
    share_band: list[tuple[float, float] | None]
    median: list[float | None]
    median_band: list[tuple[float, float] | None]


def series(rows: list[SurvivalRow]) -> Series:
    return Series(
        weeks=[r.group for r in rows],
        share=[r.within_target_share for r in rows],
        share_band=[r.within_target_ci for r in rows],
        median=[r.median_hours for r in rows],
        median_band=[_drawn(r) for r in rows],
    )


def weeks(rows: list[SurvivalRow]) -> list[SurvivalRow]:
    """The first-action curves per week of start, oldest first."""
    return sorted((r for r in rows if r.moment == "first_action" and r.by == "start_week"), key=lambda r: r.group)


def render(rows: list[SurvivalRow]) -> list[str]:
    mine = weeks(rows)
    if not mine:
        return []
    target = next((r.target_hours for r in mine if r.target_hours is not None), None)
    within = f"within {target:g} h" if target is not None else "within the target"
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=(f"share who took the first action {within}", "median hours to the first action")
    )
    drawn = series(mine)
    _band(figure, drawn.weeks, drawn.share, drawn.share_band, col=1)
    _band(figure, drawn.weeks, drawn.median, drawn.median_band, col=2)
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=1)
    # up to the known medians and band ends: an end not known yet runs off the top
    known = [m for m in drawn.median if m is not None]
    known += [high for r in mine if r.median_ci_hours and (high := r.median_ci_hours[1]) is not None]
    top = max([*known, target or 0.0], default=1.0) * 1.3 or 1.0
    figure.update_yaxes(range=[0, top], title_text="hours", row=1, col=2)
    figure.update_xaxes(type="category", title_text="week of start (Monday)")
    figure.update_layout(showlegend=False)
    return [
        "<h2>Weekly trend</h2><p class=note>Per week the journeys started: the share whose customer took the first "
        "action within the target, and the median hours to it, each read off that week's survival curve with its 95% "
        "band (journeys still running count for as long as they have run). A point is missing while the week is too "
        "young to tell: none of its journeys has run as long as the target, or fewer than half acted so far; an end of "
        "the median's band not known yet runs off the top of the chart.</p>",
        plot(figure, "trend"),
    ]


def _band(
    figure: go.Figure,
    x: list[str],
    y: list[float | None],
    bands: list[tuple[float, float] | None],
    *,
    col: int,
) -> None:
    low = [b[0] if b else None for b in bands]
    high = [b[1] if b else None for b in bands]
    figure.add_scatter(x=x, y=low, mode="lines", line={"width": 0}, hoverinfo="skip", row=1, col=col)
    figure.add_scatter(x=x, y=high, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=BAND, hoverinfo="skip",
                       row=1, col=col)  # fmt: skip
    figure.add_scatter(x=x, y=y, mode="lines+markers", line={"color": COLOUR, "width": 2}, row=1, col=col)


def _drawn(row: SurvivalRow) -> tuple[float, float] | None:
    """A median's band to draw: an end not known yet is drawn at the longest any journey of
    the week has run (it lies beyond)."""
    if row.median_ci_hours is None or row.median_hours is None:
        return None
    low, high = row.median_ci_hours
    longest = row.curve[-1].hours if row.curve else row.median_hours
    return (row.median_hours if low is None else low, longest if high is None else high)
