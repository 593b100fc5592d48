"""The funnel: per week of start and milestone, the journeys told it, those whose customer did
it, those a human skipped, and those that went on (told the next, or activated after the
last)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import plotly.graph_objects as go

from report.journeys import Journey
from report.models import FunnelRow, PlaybookMilestones
from report.sections.common import CellMaker, MilestoneOrder, week_of, week_query
from report.sections.markup import count, escape, percent, plot, table


@dataclass
class _Step:
    told: list[str] = field(default_factory=list)
    acted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    next: list[str] = field(default_factory=list)

    def row(self, week: str, milestone: str, cell: CellMaker) -> FunnelRow:
        started_that_week = week_query(week)
        return FunnelRow(
            week=week,
            milestone=milestone,
            told=cell(self.told, started_that_week),
            acted=cell(self.acted, started_that_week),
            skipped=cell(self.skipped, started_that_week),
            next=cell(self.next, started_that_week),
            drop_off_share=(len(self.told) - len(self.next)) / len(self.told) if self.told else None,
        )


class Funnel:
    def __init__(self) -> None:
        self.steps: dict[tuple[str, str], _Step] = defaultdict(_Step)  # (week, milestone) ->

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        assert journey.started_at is not None  # the query reads only journeys that started
        week, wid, order = week_of(journey.started_at), journey.workflow_id, playbook.milestones
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
            step.row(week, milestone, cell)
            for (week, milestone), step in sorted(self.steps.items(), key=lambda kv: week_and_place(kv[0]))
        ]


def render(rows: list[FunnelRow]) -> list[str]:
    # The plot sums the weeks, milestones in the order the rows first name them.
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for step in ("told", "acted", "next"):
            totals[r.milestone][step] += getattr(r, step).n
    figure = go.Figure()
    for step in ("told", "acted", "next"):
        figure.add_bar(name=step, x=list(totals), y=[totals[m][step] for m in totals])
    figure.update_layout(title="told -> acted -> next, all weeks", barmode="group")
    return [
        "<h2>Funnel per milestone</h2><p class=note>By the week the journeys started: told the milestone, did it, went on to the next (or activated after the last). "
        "Drop-off: the share of those told who have not gone on, including those still waiting in it.</p>",
        plot(figure, "funnel"),
        table(
            ["week", "milestone", "told", "acted", "skipped", "next", "drop-off"],
            [
                [
                    r.week,
                    escape(r.milestone),
                    count(r.told),
                    count(r.acted),
                    count(r.skipped),
                    count(r.next),
                    percent(r.drop_off_share),
                ]
                for r in rows
            ],
        ),
    ]
