"""From journeys to the report's figures. One pass over the journeys; per group only the
ids and the times are kept (a few numbers per journey)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

from playbooks import loader
from report import stats
from report.journeys import Journey
from report.links import Links, all_of, equals, started
from report.models import (
    Cell,
    Filters,
    FunnelRow,
    Humans,
    OwnerRow,
    Report,
    TimeToRow,
    TouchpointRow,
    TriggerRow,
    VariantComparison,
    VariantRow,
    WaitingRow,
)

HOUR = 3600.0
AGES = ((timedelta(days=1), "<1d"), (timedelta(days=3), "1-3d"), (timedelta(days=7), "3-7d"))
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Targets:
    """A playbook's milestones in order with their windows (hours), from the playbook files."""

    milestones: tuple[str, ...]
    windows: tuple[float, ...]

    def first_action(self) -> float | None:
        return self.windows[0] if self.windows else None

    def first_value(self) -> float | None:
        """First value is the second milestone done; its target, the first two windows."""
        return sum(self.windows[:2]) if len(self.windows) >= 2 else None


def read_targets(directory: Path | None = None) -> dict[str, Targets]:
    """Each playbook's targets, as the worker serves them: a broken file leaves out only its own."""
    snapshots = loader.load_set(directory, log_problems=False).serving()
    return {
        s.playbook.name: Targets(
            tuple(m.key for m in s.playbook.milestones), tuple(m.window_hours for m in s.playbook.milestones)
        )
        for s in snapshots
    }


@dataclass
class _Times:
    ids: list[str] = field(default_factory=list)
    reached: list[tuple[float, str]] = field(default_factory=list)  # (seconds, workflow id)
    target_hours: float | None = None

    def row(self, segment: str, cell: CellMaker) -> TimeToRow:
        seconds = sorted(s for s, _ in self.reached)
        target = self.target_hours
        inside = [w for s, w in self.reached if target is not None and s <= target * HOUR]
        median, p90 = stats.quantile(seconds, 0.5), stats.quantile(seconds, 0.9)
        return TimeToRow(
            segment=segment,
            journeys=cell(self.ids, equals("Segment", segment)),
            reached=cell([w for _, w in self.reached], equals("Segment", segment)),
            median_hours=None if median is None else median / HOUR,
            p90_hours=None if p90 is None else p90 / HOUR,
            target_hours=target,
            inside=cell(inside, equals("Segment", segment)),
            inside_share=len(inside) / len(self.ids) if self.ids and target is not None else None,
        )


def _week_query(week: str) -> str:
    monday = datetime.fromisoformat(week).replace(tzinfo=UTC)
    return f"StartTime >= '{monday.isoformat()}' AND StartTime < '{(monday + timedelta(days=7)).isoformat()}'"


def _week(at: datetime) -> str:
    return (at.date() - timedelta(days=at.weekday())).isoformat()


def _age(age: timedelta) -> str:
    for limit, name in AGES:
        if age < limit:
            return name
    return "7d+"


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


async def build(
    journeys: AsyncIterator[Journey],
    *,
    moments: int,
    filters: Filters,
    targets: dict[str, Targets],
    links: Links,
    now: datetime,
    levels: dict[tuple[str, int], int] | None = None,
) -> Report:
    everyone: list[str] = []
    running: list[str] = []
    activated: list[str] = []
    closed: list[str] = []
    ttfa: dict[str, _Times] = defaultdict(_Times)
    ttfv: dict[str, _Times] = defaultdict(_Times)
    funnel: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    milestone_order: dict[str, int] = {}
    moved: dict[tuple[str, str], list[str]] = defaultdict(list)
    waiting: dict[tuple[str, str, str], list[tuple[str, float, float | None]]] = defaultdict(list)
    escalated: list[str] = []
    escalation_count = 0
    triggers: dict[str, list[str]] = defaultdict(list)
    resolved: list[tuple[float, str]] = []
    owners: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    variants: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))

    async for j in journeys:
        assert j.started_at is not None
        wid = j.workflow_id
        everyone.append(wid)
        (activated if j.activated_at else closed if j.closed_at else running).append(wid)
        target = targets.get(j.playbook)
        order = list(target.milestones) if target else list(j.told)
        for i, key in enumerate(order):
            milestone_order.setdefault(key, i)

        # Time to first action and to first value.
        fa = ttfa[j.segment]
        fa.ids.append(wid)
        if target and fa.target_hours is None:
            fa.target_hours = target.first_action()
        if j.first_action_at:
            fa.reached.append(((j.first_action_at - j.started_at).total_seconds(), wid))
        fv = ttfv[j.segment]
        fv.ids.append(wid)
        if target and fv.target_hours is None:
            fv.target_hours = target.first_value()
        if len(order) >= 2:
            outcome = j.outcomes.get(order[1])
            if outcome and outcome[0] == "milestone_completed":
                fv.reached.append(((outcome[1] - j.started_at).total_seconds(), wid))

        # The funnel, by the week the journey started.
        week = _week(j.started_at)
        for i, key in enumerate(order):
            if key not in j.told:
                continue
            cells = funnel[(week, key)]
            cells["told"].append(wid)
            outcome = j.outcomes.get(key)
            if outcome and outcome[0] == "milestone_completed":
                cells["acted"].append(wid)
                moved[(key, outcome[2] or "none")].append(wid)
            elif outcome and outcome[0] == "milestone_skipped":
                cells["skipped"].append(wid)
            following = order[i + 1] if i + 1 < len(order) else None
            if (following and following in j.told) or (following is None and j.activated_at):
                cells["next"].append(wid)

        # Where customers wait now.
        if j.running:
            stage = j.stage()
            state = "escalated" if j.open_escalation() else "awaiting_action" if stage else "starting"
            in_stage = (now - j.told[stage]).total_seconds() / HOUR if stage else None
            waiting[(stage, state, _age(now - j.started_at))].append(
                (wid, (now - j.started_at).total_seconds() / HOUR, in_stage)
            )

        # Humans.
        if j.escalations:
            escalated.append(wid)
        for e in j.escalations.values():
            e.level = (levels or {}).get((wid, e.number), e.level)
            escalation_count += 1
            triggers[e.trigger].append(wid)
            owner = e.owner or j.owner or ""
            owners[owner]["escalations"].append(wid)
            if e.seconds_open is not None:
                resolved.append((e.seconds_open, wid))
            if e.level > 1:
                owners[owner]["level_ups"].append(wid)
        for owner in j.owners:
            owners[owner]["journeys"].append(wid)
        for owner in j.over_capacity:
            owners[owner]["over_capacity"].append(wid)

        # Variants.
        if j.variant:
            v = variants[(j.playbook, j.variant)]
            v["ids"].append(wid)
            if j.first_action_at:
                v["ttfa"].append((j.first_action_at - j.started_at).total_seconds())
                v["acted"].append(wid)
            if j.activated_at:
                v["activated"].append(wid)

    cell = cell_maker(links, filters)
    running_q = "ExecutionStatus = 'Running'"
    resolution = sorted(s for s, _ in resolved)
    median_resolution = stats.quantile(resolution, 0.5)
    p90_resolution = stats.quantile(resolution, 0.9)
    return Report(
        generated_at=now,
        filters=filters,
        moments=moments,
        journeys=cell(everyone),
        running=cell(running, running_q),
        activated=cell(activated, "ExecutionStatus = 'Completed'"),
        closed=cell(closed, "ExecutionStatus != 'Running'"),
        time_to_first_action=[t.row(s, cell) for s, t in sorted(ttfa.items())],
        time_to_first_value=[t.row(s, cell) for s, t in sorted(ttfv.items())],
        funnel=[
            FunnelRow(
                week=week,
                milestone=key,
                **{k: cell(cells[k], _week_query(week)) for k in ("told", "acted", "skipped", "next")},
            )
            for (week, key), cells in sorted(
                funnel.items(), key=lambda kv: (kv[0][0], milestone_order.get(kv[0][1], 99), kv[0][1])
            )
        ],
        touchpoints=_touchpoints(moved, milestone_order, cell),
        waiting=[
            WaitingRow(
                stage=stage,
                state=state,
                age=age,
                journeys=cell(
                    [w for w, _, _ in rows],
                    running_q,
                    equals("OnboardingStage", stage),
                    equals("OnboardingState", state),
                ),
                oldest_hours=max(a for _, a, _ in rows),
                in_stage_median_hours=stats.quantile(sorted(s for _, _, s in rows if s is not None), 0.5),
            )
            for (stage, state, age), rows in sorted(
                waiting.items(), key=lambda kv: (milestone_order.get(kv[0][0], -1), kv[0][1], _age_rank(kv[0][2]))
            )
        ],  # fmt: skip
        humans=Humans(
            journeys=cell(everyone),
            escalated=cell(escalated),
            escalation_rate=len(escalated) / len(everyone) if everyone else None,
            escalations=escalation_count,
            triggers=[TriggerRow(trigger=t, escalations=cell(ids)) for t, ids in sorted(triggers.items())],
            resolved=cell([w for _, w in resolved]),
            resolution_median_hours=None if median_resolution is None else median_resolution / HOUR,
            resolution_p90_hours=None if p90_resolution is None else p90_resolution / HOUR,
            owners=[
                OwnerRow(
                    owner=o,
                    **{
                        k: cell(cells[k], equals("OnboardingOwner", o))
                        for k in ("journeys", "escalations", "level_ups", "over_capacity")
                    },
                )
                for o, cells in sorted(owners.items())
            ],
        ),
        variants=[_variant_row(p, v, cells, cell) for (p, v), cells in sorted(variants.items())],
        variant_comparisons=_comparisons(variants),
    )


def _age_rank(age: str) -> int:
    return [name for _, name in AGES].index(age) if age in [name for _, name in AGES] else len(AGES)


def _touchpoints(
    moved: dict[tuple[str, str], list[str]], order: dict[str, int], cell: CellMaker
) -> list[TouchpointRow]:
    totals: dict[str, int] = defaultdict(int)
    for (milestone, _), ids in moved.items():
        totals[milestone] += len(ids)
    return [
        TouchpointRow(milestone=m, touchpoint=t, completions=cell(ids), share=len(ids) / totals[m])
        for (m, t), ids in sorted(moved.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0], kv[0][1]))
    ]


def _variant_row(playbook: str, variant: str, cells: dict[str, list], cell: CellMaker) -> VariantRow:
    ttfa = sorted(cells["ttfa"])
    n, activated = len(cells["ids"]), len(cells["activated"])
    median = stats.quantile(ttfa, 0.5)
    interval = stats.median_interval(ttfa)
    rate_ci = stats.wilson(activated, n)
    group = equals("PlaybookVariant", variant)
    return VariantRow(
        playbook=playbook,
        variant=variant,
        journeys=cell(cells["ids"], group),
        first_actions=cell(cells["acted"], group),
        ttfa_median_hours=None if median is None else median / HOUR,
        ttfa_median_ci_hours=None if interval is None else (interval[0] / HOUR, interval[1] / HOUR),
        activated=cell(cells["activated"], group),
        activation_rate=activated / n if n else None,
        activation_rate_ci=rate_ci,
    )


def _comparisons(variants: dict[tuple[str, str], dict[str, list]]) -> list[VariantComparison]:
    out = []
    playbooks = sorted({p for p, _ in variants})
    for playbook in playbooks:
        names = sorted(v for p, v in variants if p == playbook)
        for a, b in combinations(names, 2):
            ca, cb = variants[(playbook, a)], variants[(playbook, b)]
            ttfa_p = stats.mann_whitney_p(ca["ttfa"], cb["ttfa"])
            act_p = stats.two_proportions_p(len(ca["activated"]), len(ca["ids"]), len(cb["activated"]), len(cb["ids"]))
            out.append(
                VariantComparison(
                    playbook=playbook,
                    a=a,
                    b=b,
                    ttfa_p_value=ttfa_p,
                    activation_p_value=act_p,
                    verdict=_verdict(a, b, ca, cb, ttfa_p, act_p),
                )
            )
    return out


def _verdict(
    a: str, b: str, ca: dict[str, list], cb: dict[str, list], ttfa_p: float | None, act_p: float | None
) -> str:
    parts = []
    if ttfa_p is None:
        parts.append("time to first action: too few first actions to compare")
    elif ttfa_p < SIGNIFICANCE:
        faster = a if stats.quantile(sorted(ca["ttfa"]), 0.5) < stats.quantile(sorted(cb["ttfa"]), 0.5) else b  # type: ignore[operator]
        parts.append(f"time to first action: {faster} is faster (p={ttfa_p:.3f})")
    else:
        parts.append(f"time to first action: not yet significant (p={ttfa_p:.2f})")
    if act_p is None:
        parts.append("activation: too few journeys to compare")
    elif act_p < SIGNIFICANCE:
        ra, rb = len(ca["activated"]) / len(ca["ids"]), len(cb["activated"]) / len(cb["ids"])
        parts.append(f"activation: {a if ra > rb else b} activates more (p={act_p:.3f})")
    else:
        parts.append(f"activation: not yet significant (p={act_p:.2f})")
    return "; ".join(parts)
