"""A group of real customers written as a persona file the lab walks (lab/personas.py).

The persona does what most of the group's core (the members with the group's own
signature) did, step by step, each step at the median of their timings after the same
touchpoint (`after: first_action.simplify`) or after the close; its owner acknowledges and
its staff answer escalations after their median delays; its deal is the group's most
common zone, segment, product, currency and weekday of close, at the median amount and
time. Customer text is never copied: help messages are left empty and failure reasons
read `failed attempt`."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from lab.learn.grouping import Group
from lab.learn.observed import Observed
from lab.personas import Persona

T = TypeVar("T")
DAY = 86400.0
LEARNED_HEADER = "# Learned from real customers"  # how a learned file begins: a new run replaces it
SHORTEST_HORIZON, LONGEST_HORIZON = 3 * DAY, 60 * DAY


def duration(seconds: float) -> str:
    """`45m`, `24.7h`, `3d`: the persona format's calendar durations, to the minute under
    two hours and to the tenth of an hour above."""
    minutes = max(0, round(seconds / 60))
    if minutes < 120:
        return f"{minutes}m"
    hours = round(minutes / 60, 1)
    if hours % 24 == 0:
        return f"{int(hours // 24)}d"
    return f"{hours:g}h"


def _mode(values: Iterable[T | None]) -> T | None:
    counted = Counter(v for v in values if v is not None)
    if not counted:
        return None
    top = max(counted.values())
    return sorted((v for v, n in counted.items() if n == top), key=str)[0]


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _pattern(o: Observed) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((e.do, e.milestone, e.anchor) for e in o.events)


def customer_steps(core: list[Observed]) -> tuple[list[dict[str, Any]], list[Observed]]:
    """The steps most of the core took, in order, at their median timings; and who took them."""
    pattern = _mode(_pattern(o) for o in core)
    chosen = [o for o in core if _pattern(o) == pattern] or core
    steps: list[dict[str, Any]] = []
    for i, (do, _milestone, anchor) in enumerate(pattern or ()):
        step: dict[str, Any] = {}
        if anchor:
            step["after"] = anchor
        step["at"] = duration(_median([o.events[i].after_anchor_seconds for o in chosen]))
        step["do"] = do
        if do in ("taken", "failed"):
            step["action"] = _mode(o.events[i].action for o in chosen) or "unknown_action"
        if do == "failed":
            step["reason"] = "failed attempt"
        if do == "cancel":
            step["reason"] = "deal lost"
        steps.append(step)
    return steps, chosen


def owner_behaviour(core: list[Observed]) -> dict[str, Any]:
    delays = [o.owner_acknowledges_after for o in core if o.owner_acknowledges_after is not None]
    if len(delays) * 2 < len(core):
        return {"acknowledges_after": "never"}
    return {"acknowledges_after": duration(max(60.0, _median(delays)))}


def staff_behaviour(core: list[Observed]) -> Any:
    """One decision for every escalation when the group's staff always decided alike; else
    one per escalation in order, up to the first one nobody answered."""
    escalated = [o for o in core if o.staff]
    if not escalated:
        return "never"
    pattern = _mode(tuple(a.decision if a else "" for a in o.staff) for o in escalated)
    chosen = [o for o in escalated if tuple(a.decision if a else "" for a in o.staff) == pattern]
    decisions: list[dict[str, Any]] = []
    for i, decision in enumerate(pattern or ()):
        if not decision:
            break
        answers = [a for o in chosen if (a := o.staff[i]) is not None]
        owner = _mode(a.owner for a in answers)
        if decision == "reassign" and owner is None:
            break
        entry: dict[str, Any] = {"resolve": decision, "after": duration(_median([a.after_seconds for a in answers]))}
        if decision == "reassign":
            entry["owner"] = owner
        decisions.append(entry)
    if not decisions:
        return "never"
    if (
        len(decisions) == len(pattern or ())
        and len({d["resolve"] for d in decisions}) == 1
        and "owner" not in decisions[0]
    ):
        every = [a.after_seconds for o in chosen for a in o.staff if a is not None]
        return {"resolve": decisions[0]["resolve"], "after": duration(_median(every))}
    return decisions


def deal_spec(core: list[Observed]) -> dict[str, Any]:
    shapes = [o.deal for o in core]
    deal: dict[str, Any] = {}
    for field in ("segment", "product", "currency"):
        if (value := _mode(getattr(s, field) for s in shapes)) is not None:
            deal[field] = value
    amounts = [s.amount for s in shapes if s.amount is not None]
    if amounts:
        deal["amount"] = round(_median(amounts), 2)
    if (zone := _mode(s.timezone for s in shapes)) is not None:
        deal["account"] = {"timezone": zone}
    if (day := _mode(s.weekday for s in shapes)) is not None:
        minutes = [s.minute_of_day for s in shapes if s.weekday == day and s.minute_of_day is not None]
        at = round(_median(minutes)) if minutes else 600
        deal["closes"] = {"day": day, "at": f"{at // 60:02d}:{at % 60:02d}"}
    return deal


def horizon(core: list[Observed], chosen: list[Observed]) -> str:
    last = _median([max((e.at_seconds for e in o.events), default=0.0) for o in chosen])
    span = _median([o.span_seconds for o in core])
    days = -(-min(LONGEST_HORIZON, max(SHORTEST_HORIZON, span, last + 2 * DAY)) // DAY)
    return f"{int(days)}d"


class Learned(BaseModel):
    """A group's persona: the file's data (validated), and the comment that heads it."""

    data: dict[str, Any]
    comment: str

    @property
    def name(self) -> str:
        return str(self.data["name"])

    def text(self) -> str:
        return self.comment + yaml.safe_dump(
            self.data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True
        )


def persona_for(g: Group, total: int) -> Learned:
    """The persona of a group among `total` journeys."""
    core = g.core
    steps, chosen = customer_steps(core)
    share = len(g.members) / total if total else 0.0
    description = f"Learned from {len(g.members)} of {total} real journeys ({share:.0%}): {g.signature.spoken()}."
    data: dict[str, Any] = {
        "name": g.name,
        "description": description,
        "deal": deal_spec(core),
        "owner": owner_behaviour(core),
        "staff": staff_behaviour(core),
        "customer": steps or "never",
        "horizon": horizon(core, chosen),
    }
    lines = [
        f"{LEARNED_HEADER.removeprefix('# ')} (onboarding personas --from-history): {len(g.members)} of {total} "
        f"journeys ({share:.0%}).",
        f"Behaviour: {g.signature}",
        f"Timings: medians of the {len(chosen)} journeys that did exactly these steps.",
    ]
    if g.absorbed:
        merged = len(g.members) - len(core)
        lines.append(f"Also stands for {merged} journeys of nearby behaviour: " + "; ".join(map(str, g.absorbed)))
    Persona.model_validate(data)  # what is written must load: a bug here is not the user's
    return Learned(data=data, comment="\n".join(f"# {line}" for line in lines) + "\n")
