"""Humans: how often journeys needed one (escalations, by trigger), how each escalation
ended (a staff decision, the customer acting first, a cancel, still open), how fast staff
decided, and per owner: journeys held, escalations, SLA breaches, assignments over capacity."""

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

# (workflow id, escalation number) -> {level: assignee}, from the escalation tasks
Assignees = dict[tuple[str, int], dict[int, str]]


@dataclass
class _Owner:
    journeys: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    sla_breaches: list[str] = field(default_factory=list)
    over_capacity: list[str] = field(default_factory=list)

    def row(self, owner: str, cell: CellMaker) -> OwnerRow:
        group = equals("OnboardingOwner", owner)
        return OwnerRow(
            owner=owner,
            journeys=cell(self.journeys, group),
            escalations=cell(self.escalations, group),
            sla_breaches=cell(self.sla_breaches, group),
            over_capacity=cell(self.over_capacity, group),
        )


class HumanHelp:
    def __init__(self, assignees: Assignees) -> None:
        self.assignees = assignees
        self.journeys: list[str] = []
        self.escalated: list[str] = []
        self.escalations = 0
        self.triggers: dict[str, list[str]] = defaultdict(list)
        self.decided: list[tuple[float, str]] = []  # (seconds to the staff decision, workflow id)
        self.ended_by_customer: list[str] = []
        self.cancelled: list[str] = []
        self.open: list[str] = []
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
            self.owners[e.owner or journey.owner or ""].escalations.append(wid)
            if e.resolved_at is None:
                self.open.append(wid)
            elif e.decided_by_staff and e.seconds_open is not None:
                self.decided.append((e.seconds_open, wid))
            elif e.outcome == "ended_by_customer":
                self.ended_by_customer.append(wid)
            else:
                self.cancelled.append(wid)
            # A breach is a level whose SLA ran out (the next level's task exists); it is
            # the breach of whoever held that level, not of the journey's owner.
            levels = self.assignees.get((wid, e.number), {})
            for level, assignee in levels.items():
                if level + 1 in levels:
                    self.owners[assignee].sla_breaches.append(wid)
        for name in journey.owners:
            self.owners[name].journeys.append(wid)
        for name in journey.over_capacity:
            self.owners[name].over_capacity.append(wid)

    def figures(self, cell: CellMaker) -> Humans:
        decision_seconds = sorted(s for s, _ in self.decided)
        return Humans(
            journeys=cell(self.journeys),
            escalated=cell(self.escalated),
            escalation_rate=len(self.escalated) / len(self.journeys) if self.journeys else None,
            escalations=self.escalations,
            triggers=[TriggerRow(trigger=t, escalations=cell(ids)) for t, ids in sorted(self.triggers.items())],
            staff_decisions=cell([w for _, w in self.decided]),
            staff_decision_median_hours=hours(stats.quantile(decision_seconds, 0.5)),
            staff_decision_p90_hours=hours(stats.quantile(decision_seconds, 0.9)),
            ended_by_customer=cell(self.ended_by_customer),
            ended_by_cancel=cell(self.cancelled),
            still_open=cell(self.open),
            owners=[tally.row(name, cell) for name, tally in sorted(self.owners.items())],
        )


def render(h: Humans) -> list[str]:
    figure = go.Figure()
    figure.add_bar(x=[t.trigger for t in h.triggers], y=[t.escalations.n for t in h.triggers])
    figure.update_layout(title="escalations by trigger")
    return [
        "<h2>Humans</h2>"
        f"<p>{count(h.escalated)} of {count(h.journeys)} journeys escalated ({percent(h.escalation_rate)}), {h.escalations} escalations. "
        f"How they ended: {count(h.staff_decisions)} by a staff decision (median {in_hours(h.staff_decision_median_hours)} after the escalation, "
        f"p90 {in_hours(h.staff_decision_p90_hours)}), {count(h.ended_by_customer)} by the customer acting first, "
        f"{count(h.ended_by_cancel)} by a cancel; {count(h.still_open)} still open.</p>",
        plot(figure, "triggers"),
        table(["trigger", "escalations"], [[escape(t.trigger), count(t.escalations)] for t in h.triggers]),
        "<p class=note>SLA breaches: escalation levels left unanswered past the SLA, so the escalation moved up; "
        "each is counted for whoever held that level (owner, backup or manager), from the escalation tasks.</p>",
        table(
            ["owner", "journeys", "escalations", "SLA breaches", "over capacity"],
            [
                [
                    escape(o.owner),
                    count(o.journeys),
                    count(o.escalations),
                    count(o.sla_breaches),
                    count(o.over_capacity),
                ]
                for o in h.owners
            ],
        ),
    ]
