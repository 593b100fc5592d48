"""Overview: how many journeys, and how many run, activated or closed."""

from __future__ import annotations

from report.journeys import Journey
from report.models import OVERVIEW, Cell, PlaybookMilestones, Report
from report.sections.common import RUNNING, CellMaker
from report.sections.markup import count


class Overview:
    def __init__(self) -> None:
        self.journeys: list[str] = []
        self.running: list[str] = []
        self.activated: list[str] = []
        self.closed: list[str] = []

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        self.journeys.append(journey.workflow_id)
        ended = self.activated if journey.activated_at else self.closed if journey.closed_at else self.running
        ended.append(journey.workflow_id)

    def cells(self, cell: CellMaker) -> dict[str, Cell]:
        """The Report's fields named in models.OVERVIEW."""
        return {
            "journeys": cell(self.journeys),
            "running": cell(self.running, RUNNING),
            "activated": cell(self.activated, "ExecutionStatus = 'Completed'"),
            "closed": cell(self.closed, "ExecutionStatus != 'Running'"),
        }


def render(report: Report) -> list[str]:
    kpis = "".join(f"<span class=kpi><b>{count(getattr(report, name))}</b>{name}</span>" for name in OVERVIEW)
    return [f"<div>{kpis}</div>"]
