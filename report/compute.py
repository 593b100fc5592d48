"""From journeys to the report's figures: one pass over the journeys, each counted by every
section's collector (report/sections/), then each section's rows. Per group only the ids and
the times are kept (a few numbers per journey)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from playbooks import loader
from report.journeys import Journey
from report.links import Links
from report.models import Filters, PlaybookMilestones, Report
from report.sections import Collector
from report.sections.common import MilestoneOrder, cell_maker
from report.sections.experiments import Experiments
from report.sections.funnel import Funnel
from report.sections.humans import Assignees, HumanHelp
from report.sections.overview import Overview
from report.sections.survival import Survival
from report.sections.time_to import TimeTo
from report.sections.touchpoints import Touchpoints
from report.sections.waiting import Waiting


def read_targets(directory: Path | None = None) -> dict[str, PlaybookMilestones]:
    """Each playbook's milestones and windows, as the worker serves them: a broken file
    leaves out only its own."""
    snapshots = loader.load_set(directory, log_problems=False).serving()
    return {
        s.playbook.name: PlaybookMilestones(
            milestones=tuple(m.key for m in s.playbook.milestones),
            # a window in business time counts as its nominal hours (a business day as a day)
            windows=tuple(m.window_hours.nominal_hours for m in s.playbook.milestones),
        )
        for s in snapshots
    }


async def build(
    journeys: AsyncIterator[Journey],
    *,
    moments: int,
    filters: Filters,
    targets: dict[str, PlaybookMilestones],
    links: Links,
    now: datetime,
    generated_at: datetime | None = None,
    assignees: Assignees | None = None,
) -> Report:
    milestones = MilestoneOrder()
    overview = Overview()
    first_action, first_value = TimeTo.first_action(), TimeTo.first_value()
    funnel = Funnel()
    touchpoints = Touchpoints()
    waiting = Waiting(now)
    humans = HumanHelp(assignees or {})
    experiments = Experiments(now)
    curves = Survival(now)
    collectors: tuple[Collector, ...] = (
        milestones, overview, first_action, first_value, curves, funnel, touchpoints, waiting, humans, experiments
    )  # fmt: skip
    async for journey in journeys:
        playbook = _playbook(journey, targets)
        for collector in collectors:
            collector.add(journey, playbook)

    cell = cell_maker(links, filters)
    return Report(
        generated_at=generated_at or datetime.now(UTC),
        measured_at=now,
        filters=filters,
        moments=moments,
        **overview.cells(cell),
        time_to_first_action=first_action.rows(cell),
        time_to_first_value=first_value.rows(cell),
        survival=curves.rows(cell),
        funnel=funnel.rows(cell, milestones),
        touchpoints=touchpoints.rows(cell, milestones),
        waiting=waiting.rows(cell, milestones),
        humans=humans.figures(cell),
        variants=experiments.rows(cell),
        variant_comparisons=experiments.comparisons(),
    )


def _playbook(journey: Journey, targets: dict[str, PlaybookMilestones]) -> PlaybookMilestones:
    """The journey's playbook's milestones; for a playbook without files, those the journey
    was told, in order, without targets."""
    known = targets.get(journey.playbook)
    return known if known is not None else PlaybookMilestones(milestones=tuple(journey.told))
