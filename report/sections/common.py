"""What the sections' collectors share: a count's cell, hours, and the milestones' order."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from report.journeys import Journey
from report.links import Links, all_of, equals, started
from report.models import Cell, Filters, PlaybookMilestones

HOUR = 3600.0
RUNNING = "ExecutionStatus = 'Running'"

CellMaker = Callable[..., Cell]


def cell_maker(links: Links, filters: Filters) -> CellMaker:
    """A count and its link: the journeys by id, or their group (the filters as search
    attributes, and the clauses given) when they are too many to name."""
    base = all_of(
        "WorkflowType = 'OnboardingWorkflow'",
        started(filters.since, filters.until),
        equals("Segment", filters.segment) if filters.segment else None,
        equals("OnboardingOwner", filters.owner) if filters.owner else None,
    )

    def cell(ids: Collection[str], *clauses: str | None) -> Cell:
        link, exact = links.journeys(ids, all_of(base, *clauses))
        return Cell(n=len(ids), link=link, exact=exact)

    return cell


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / HOUR


class MilestoneOrder:
    """Each milestone's place in the first playbook that listed it: the sections list
    milestones in the order customers meet them, across playbooks."""

    def __init__(self) -> None:
        self.places: dict[str, int] = {}

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        for place, milestone in enumerate(playbook.milestones):
            self.places.setdefault(milestone, place)

    def of(self, milestone: str, unknown: int) -> int:
        return self.places.get(milestone, unknown)


def week_of(at: datetime) -> str:
    """The Monday of the week the journey started, YYYY-MM-DD."""
    return (at.date() - timedelta(days=at.weekday())).isoformat()


def week_query(week: str) -> str:
    """The journeys started that week, as a visibility query."""
    monday = datetime.fromisoformat(week).replace(tzinfo=UTC)
    return f"StartTime >= '{monday.isoformat()}' AND StartTime < '{(monday + timedelta(days=7)).isoformat()}'"
