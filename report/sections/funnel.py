"""The funnel: per week of start and milestone, the journeys told it, those whose customer did
it, those a human skipped, and those that went on (told the next, or activated after the
last)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from report.journeys import Journey
from report.models import FunnelRow, PlaybookMilestones
from report.sections.common import CellMaker, MilestoneOrder


@dataclass
class _Step:
    told: list[str] = field(default_factory=list)
    acted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    next: list[str] = field(default_factory=list)


class Funnel:
    def __init__(self) -> None:
        self.steps: dict[tuple[str, str], _Step] = defaultdict(_Step)  # (week, milestone) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        assert journey.started_at is not None  # the query reads only journeys that started
        week, wid, order = _week(journey.started_at), journey.workflow_id, playbook.milestones
        for i, milestone in enumerate(order):
            if milestone not in journey.told:
                continue
            step = self.steps[(week, milestone)]
            step.told.append(wid)
            outcome = journey.outcomes.get(milestone)
            if outcome and outcome[0] == "milestone_completed":
                step.acted.append(wid)
            elif outcome and outcome[0] == "milestone_skipped":
                step.skipped.append(wid)
            following = order[i + 1] if i + 1 < len(order) else None
            if (following and following in journey.told) or (following is None and journey.activated_at):
                step.next.append(wid)

    def rows(self, cell: CellMaker, milestones: MilestoneOrder) -> list[FunnelRow]:
        def week_and_place(key: tuple[str, str]) -> tuple[str, int, str]:
            week, milestone = key
            return week, milestones.of(milestone, 99), milestone

        return [
            FunnelRow(
                week=week,
                milestone=milestone,
                told=cell(step.told, _week_query(week)),
                acted=cell(step.acted, _week_query(week)),
                skipped=cell(step.skipped, _week_query(week)),
                next=cell(step.next, _week_query(week)),
            )
            for (week, milestone), step in sorted(self.steps.items(), key=lambda kv: week_and_place(kv[0]))
        ]


def _week(at: datetime) -> str:
    """The Monday of the week the journey started, YYYY-MM-DD."""
    return (at.date() - timedelta(days=at.weekday())).isoformat()


def _week_query(week: str) -> str:
    monday = datetime.fromisoformat(week).replace(tzinfo=UTC)
    return f"StartTime >= '{monday.isoformat()}' AND StartTime < '{(monday + timedelta(days=7)).isoformat()}'"
