"""Humans: how often journeys needed one (escalations, by trigger), how fast they answered,
and per owner: journeys held, escalations, level-ups, assignments over capacity."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import plotly.graph_objects as go

from report import stats
from report.journeys import Journey
from report.links import equals
from report.models import Humans, OwnerRow, PlaybookMilestones, TriggerRow
from report.sections.common import CellMaker, hours
from report.sections.markup import count, escape, in_hours, percent, plot, table


@dataclass
class _Owner:
    journeys: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    level_ups: list[str] = field(default_factory=list)
    over_capacity: list[str] = field(default_factory=list)

    def row(self, owner: str, cell: CellMaker) -> OwnerRow:
        group = equals("OnboardingOwner", owner)
        return OwnerRow(
            owner=owner,
            journeys=cell(self.journeys, group),
            escalations=cell(self.escalations, group),
            level_ups=cell(self.level_ups, group),
            over_capacity=cell(self.over_capacity, group),
        )


class HumanHelp:
    def __init__(self, levels: dict[tuple[str, int], int]) -> None:
        self.levels = levels  # (workflow id, escalation number) -> level reached, from the escalation tasks
        self.journeys: list[str] = []
        self.escalated: list[str] = []
        self.escalations = 0
        self.triggers: dict[str, list[str]] = defaultdict(list)
        self.resolved: list[tuple[float, str]] = []  # (seconds open, workflow id)
        self.owners: dict[str, _Owner] = defaultdict(_Owner)

    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        wid = journey.workflow_id
        self.journeys.append(wid)
        if journey.escalations:
            self.escalated.append(wid)
        for e in journey.escalations.values():
            self.escalations += 1
            self.triggers[e.trigger].append(wid)
            # Counted against whoever held the escalation, else the journey's owner.
            owner = self.owners[e.owner or journey.owner or ""]
            owner.escalations.append(wid)
            if e.seconds_open is not None:
                self.resolved.append((e.seconds_open, wid))
            if self.levels.get((wid, e.number), e.level) > 1:  # its SLA ran out: moved up a level
                owner.level_ups.append(wid)
        for name in journey.owners:
            self.owners[name].journeys.append(wid)
        for name in journey.over_capacity:
            self.owners[name].over_capacity.append(wid)

    def figures(self, cell: CellMaker) -> Humans:
        resolution = sorted(s for s, _ in self.resolved)
        return Humans(
            journeys=cell(self.journeys),
            escalated=cell(self.escalated),
            escalation_rate=len(self.escalated) / len(self.journeys) if self.journeys else None,
            escalations=self.escalations,
            triggers=[TriggerRow(trigger=t, escalations=cell(ids)) for t, ids in sorted(self.triggers.items())],
            resolved=cell([w for _, w in self.resolved]),
            resolution_median_hours=hours(stats.quantile(resolution, 0.5)),
            resolution_p90_hours=hours(stats.quantile(resolution, 0.9)),
            owners=[tally.row(name, cell) for name, tally in sorted(self.owners.items())],
        )


def render(h: Humans) -> list[str]:
    figure = go.Figure()
    figure.add_bar(x=[t.trigger for t in h.triggers], y=[t.escalations.n for t in h.triggers])
    figure.update_layout(title="escalations by trigger")
    return [
        "<h2>Humans</h2>"
        f"<p>{count(h.escalated)} of {count(h.journeys)} journeys escalated ({percent(h.escalation_rate)}), {h.escalations} escalations; "
        f"{count(h.resolved)} resolved, median {in_hours(h.resolution_median_hours)}, p90 {in_hours(h.resolution_p90_hours)}.</p>",
        plot(figure, "triggers"),
        table(["trigger", "escalations"], [[escape(t.trigger), count(t.escalations)] for t in h.triggers]),
        table(
            ["owner", "journeys", "escalations", "level-ups (SLA breaches)", "over capacity"],
            [
                [escape(o.owner), count(o.journeys), count(o.escalations), count(o.level_ups), count(o.over_capacity)]
                for o in h.owners
            ],
        ),
    ]
