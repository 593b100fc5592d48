"""Time to first action and to first value: per segment, how long journeys took from their
start, against the playbook's target."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from report import stats
from report.journeys import Journey
from report.links import equals
from report.models import PlaybookMilestones, TimeToRow
from report.sections.common import HOUR, CellMaker, hours


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
        return cls(_first_value_at, PlaybookMilestones.first_value_target)

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


def _first_value_at(journey: Journey, playbook: PlaybookMilestones) -> datetime | None:
    """First value: the customer completed the second milestone (a human skipping it is not)."""
    if len(playbook.milestones) < 2:
        return None
    outcome = journey.outcomes.get(playbook.milestones[1])
    return outcome[1] if outcome and outcome[0] == "milestone_completed" else None
