"""Where customers wait now: the running journeys by the milestone they wait in, their state
and their age since start, with the oldest and the median time in the stage."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import plotly.graph_objects as go

from report import stats
from report.journeys import Journey
from report.links import equals
from report.models import PlaybookMilestones, WaitingRow
from report.sections.common import HOUR, RUNNING, CellMaker, MilestoneOrder
from report.sections.markup import count, escape, in_hours, plot, table

AGES = ((timedelta(days=1), "<1d"), (timedelta(days=3), "1-3d"), (timedelta(days=7), "3-7d"))
AGE_NAMES = (*(name for _, name in AGES), "7d+")


class Waiting:
    def __init__(self, now: datetime) -> None:
        self.now = now
        # (stage, state, age) -> (workflow id, hours since start, hours in the stage)
        self.groups: dict[tuple[str, str, str], list[tuple[str, float, float | None]]] = defaultdict(list)

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        if not journey.running:
            return
        assert journey.started_at is not None  # the query reads only journeys that started
        stage = journey.stage()
        state = "escalated" if journey.open_escalation() else "awaiting_action" if stage else "starting"
        since = journey.in_stage_since(stage)
        in_stage = (self.now - since).total_seconds() / HOUR if since else None
        self.groups[(stage, state, _age(self.now - journey.started_at))].append(
            (journey.workflow_id, (self.now - journey.started_at).total_seconds() / HOUR, in_stage)
        )

    def rows(self, cell: CellMaker, milestones: MilestoneOrder) -> list[WaitingRow]:
        def place(key: tuple[str, str, str]) -> tuple[int, str, int]:
            stage, state, age = key
            return milestones.of(stage, -1), state, AGE_NAMES.index(age)  # before the kickoff first

        return [
            WaitingRow(
                stage=stage,
                state=state,
                age=age,
                journeys=cell(
                    [w for w, _, _ in journeys],
                    RUNNING,
                    equals("OnboardingStage", stage),
                    equals("OnboardingState", state),
                ),
                oldest_hours=max(since_start for _, since_start, _ in journeys),
                in_stage_median_hours=stats.quantile(sorted(s for _, _, s in journeys if s is not None), 0.5),
            )
            for (stage, state, age), journeys in sorted(self.groups.items(), key=lambda kv: place(kv[0]))
        ]


def _age(age: timedelta) -> str:
    for limit, name in AGES:
        if age < limit:
            return name
    return AGE_NAMES[-1]


def render(rows: list[WaitingRow]) -> list[str]:
    figure = go.Figure()
    for age in AGE_NAMES:
        waiting = [r for r in rows if r.age == age]
        if waiting:
            figure.add_bar(
                name=age, x=[f"{r.stage or 'kickoff'} / {r.state}" for r in waiting], y=[r.journeys.n for r in waiting]
            )
    figure.update_layout(title="running journeys by stage and age", barmode="stack")
    return [
        "<h2>Where customers wait now</h2><p class=note>Running journeys by the milestone they wait in, their state, and their age since start.</p>",
        plot(figure, "waiting"),
        table(
            ["stage", "state", "age", "journeys", "oldest", "median in stage"],
            [
                [
                    escape(r.stage or "(before kickoff)"),
                    escape(r.state),
                    escape(r.age),
                    count(r.journeys),
                    in_hours(r.oldest_hours),
                    in_hours(r.in_stage_median_hours),
                ]
                for r in rows
            ],
        ),
    ]
