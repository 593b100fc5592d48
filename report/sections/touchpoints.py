"""What moved customers: per milestone, the touchpoint recorded with each completion (the
last thing the journey did before it), counted and as a share of the milestone's."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from report.journeys import Journey
from report.models import PlaybookMilestones, TouchpointRow
from report.sections.common import CellMaker, MilestoneOrder
from report.sections.markup import count, escape, percent, plot, table


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


def render(rows: list[TouchpointRow]) -> list[str]:
    figure = go.Figure()
    for touchpoint in sorted({r.touchpoint for r in rows}):
        moved = [r for r in rows if r.touchpoint == touchpoint]
        figure.add_bar(name=touchpoint, x=[r.milestone for r in moved], y=[r.completions.n for r in moved])
    figure.update_layout(title="completions by the touchpoint before them", barmode="stack")
    return [
        "<h2>What moved customers</h2><p class=note>The journey's last touchpoint before each completion: the evidence for or against each follow-up.</p>",
        plot(figure, "touchpoints"),
        table(
            ["milestone", "touchpoint", "completions", "share"],
            [[escape(r.milestone), escape(r.touchpoint), count(r.completions), percent(r.share)] for r in rows],
        ),
    ]
