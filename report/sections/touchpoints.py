"""What moved customers: per milestone, the touchpoint recorded with each completion (the
last thing the journey did before it), counted and as a share of the milestone's."""

from __future__ import annotations

from collections import defaultdict

from report.journeys import Journey
from report.models import PlaybookMilestones, TouchpointRow
from report.sections.common import CellMaker, MilestoneOrder


class Touchpoints:
    def __init__(self) -> None:
        self.completions: dict[tuple[str, str], list[str]] = defaultdict(list)  # (milestone, touchpoint) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        for milestone in playbook.milestones:
            outcome = journey.outcomes.get(milestone)
            if milestone in journey.told and outcome and outcome[0] == "milestone_completed":
                self.completions[(milestone, outcome[2] or "none")].append(journey.workflow_id)

    def rows(self, cell: CellMaker, milestones: MilestoneOrder) -> list[TouchpointRow]:
        totals: dict[str, int] = defaultdict(int)
        for (milestone, _), ids in self.completions.items():
            totals[milestone] += len(ids)

        def place(key: tuple[str, str]) -> tuple[int, str, str]:
            milestone, touchpoint = key
            return milestones.of(milestone, 99), milestone, touchpoint

        return [
            TouchpointRow(milestone=m, touchpoint=t, completions=cell(ids), share=len(ids) / totals[m])
            for (m, t), ids in sorted(self.completions.items(), key=lambda kv: place(kv[0]))
        ]
