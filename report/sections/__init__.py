"""The report's sections, in the page's order, one module each: a collector that folds every
journey into what the section counts (`add`) and then gives its rows (models in
report/models.py), and `render`, which draws those rows on the HTML page.

    overview      journeys, running, activated, closed
    survival      time to first action and first value as survival curves (segment, variant, week)
    trend         per week of start: the share acting within the target and the median time
    time_to       time to first action and to first value among those that got there, per segment
    funnel        per week of start and milestone: told, acted, skipped, went on
    touchpoints   what moved customers: the touchpoint before each completion
    waiting       where customers wait now
    humans        escalations, their triggers, how each ended, SLA breaches per person
    experiments   playbook variants compared

report.compute.build runs the collectors over the journeys; report.page.render draws the
sections; the CSV (report.csv_out) follows the models."""

from __future__ import annotations

from typing import Protocol

from report.journeys import Journey
from report.models import PlaybookMilestones


class Collector(Protocol):
    def add(self, journey: Journey, playbook: PlaybookMilestones) -> None:
        """Count one journey; `playbook` is its playbook's milestones and targets."""
