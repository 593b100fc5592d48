"""Time to first action and to first value: per segment, how long journeys took from their
start, against the playbook's target."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import plotly.graph_objects as go

from report import stats
from report.journeys import Journey
from report.links import equals
from report.models import PlaybookMilestones, TimeToRow
from report.sections.common import HOUR, CellMaker, hours
from report.sections.markup import count, escape, in_hours, percent, plot, table


@dataclass
class _Segment:
    journeys: list[str] = field(default_factory=list)
    reached: list[tuple[float, str]] = field(default_factory=list)  # (seconds, workflow id)
    target_hours: float | None = None

    def row(self, segment: str, cell: CellMaker) -> TimeToRow:
        seconds = sorted(s for s, _ in self.reached)
        target = self.target_hours
        inside = [w for s, w in self.reached if target is not None and s <= target * HOUR]
        group = equals("Segment", segment)
        return TimeToRow(
            segment=segment,
            journeys=cell(self.journeys, group),
            reached=cell([w for _, w in self.reached], group),
            median_hours=hours(stats.quantile(seconds, 0.5)),
            p90_hours=hours(stats.quantile(seconds, 0.9)),
            target_hours=target,
            inside=cell(inside, group),
            inside_share=len(inside) / len(self.journeys) if self.journeys and target is not None else None,
        )


class TimeTo:
    """The time to one moment, per segment: `reached` says when a journey got there (None:
    not yet), `target` the playbook's hours for it."""

    def __init__(
        self,
        reached: Callable[[Journey, PlaybookMilestones], datetime | None],
        target: Callable[[PlaybookMilestones], float | None],
    ) -> None:
        self.reached, self.target = reached, target
        self.segments: dict[str, _Segment] = defaultdict(_Segment)

    @classmethod
    def first_action(cls) -> TimeTo:
        return cls(lambda journey, _: journey.first_action_at, PlaybookMilestones.first_action_target)

    @classmethod
    def first_value(cls) -> TimeTo:
        return cls(first_value_at, PlaybookMilestones.first_value_target)

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        assert journey.started_at is not None  # the query reads only journeys that started
        times = self.segments[journey.segment]
        times.journeys.append(journey.workflow_id)
        # A segment's target is that of the first of its journeys whose playbook has one.
        if times.target_hours is None:
            times.target_hours = self.target(playbook)
        at = self.reached(journey, playbook)
        if at:
            times.reached.append(((at - journey.started_at).total_seconds(), journey.workflow_id))

    def rows(self, cell: CellMaker) -> list[TimeToRow]:
        return [times.row(segment, cell) for segment, times in sorted(self.segments.items())]


def first_value_at(journey: Journey, playbook: PlaybookMilestones) -> datetime | None:
    """First value: the customer completed the second milestone (a human skipping it is not)."""
    if len(playbook.milestones) < 2:
        return None
    outcome = journey.outcomes.get(playbook.milestones[1])
    return outcome[1] if outcome and outcome[0] == "milestone_completed" else None


def render(first_action: list[TimeToRow], first_value: list[TimeToRow]) -> list[str]:
    return [
        "<h2>Among the journeys that got there: time to first action and to first value</h2><p class=note>Hours from the start of the journey, per segment; median and p90 over only the journeys that got there "
        "(the survival curves above also count those still on their way); the target is the playbook's first milestone window (first value: the first two windows); "
        "inside = share of all the segment's journeys that got there within it.</p>",
        *_render_one("first action", first_action, "ttfa"),
        *_render_one("first value", first_value, "ttfv"),
    ]


def _render_one(title: str, rows: list[TimeToRow], name: str) -> list[str]:
    segments = [r.segment for r in rows]
    figure = go.Figure()
    figure.add_bar(name="median", x=segments, y=[r.median_hours for r in rows])
    figure.add_bar(name="p90", x=segments, y=[r.p90_hours for r in rows])
    figure.add_scatter(
        name="target",
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}},
        x=segments,
        y=[r.target_hours for r in rows],
    )
    figure.update_layout(title=f"time to {title} among those who got there (hours)", barmode="group")
    return [
        plot(figure, name),
        table(
            [
                "segment",
                "journeys",
                "got there",
                "median of those",
                "p90 of those",
                "target",
                "inside target",
                "share inside",
            ],
            [
                [
                    escape(r.segment),
                    count(r.journeys),
                    count(r.reached),
                    in_hours(r.median_hours),
                    in_hours(r.p90_hours),
                    in_hours(r.target_hours),
                    count(r.inside),
                    percent(r.inside_share),
                ]
                for r in rows
            ],
        ),
    ]
