"""A finding made smaller after hypothesis has shrunk it within its budget: one part of the
persona at a time is taken away (a customer step, a staff action, a staff answer, the
owner's acknowledgement, the forced continue-as-new), every such variant walked side by side
in one lab, and the first that still breaks the promise the same way is kept; until no part
can go. What is left is what the failure needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lab.explore.promises import Broken
from lab.explore.scenario import Scenario
from lab.explore.walk import Walk, walk_isolated
from lab.personas import Persona
from owners.roster import Roster

ROUNDS = 12  # each round walks one lab of variants: about 3 s


def without_one(persona: Persona) -> list[Persona]:
    """The persona with one part taken away, every way there is."""
    variants: list[dict[str, Any]] = []
    steps = persona.steps
    variants += [{"customer": steps[:i] + steps[i + 1 :] or "never"} for i in range(len(steps))]
    acts = persona.staff_actions
    variants += [{"staff_actions": acts[:i] + acts[i + 1 :]} for i in range(len(acts))]
    if isinstance(persona.staff, list):
        answers = persona.staff
        variants += [{"staff": answers[:i] + answers[i + 1 :] or "never"} for i in range(len(answers))]
    elif persona.staff != "never":
        variants.append({"staff": "never"})
    if persona.owner.acknowledges_after != "never":
        variants.append({"owner": persona.owner.model_copy(update={"acknowledges_after": "never"})})
    if persona.continue_as_new_after is not None:
        variants.append({"continue_as_new_after": None})
    return [persona.model_copy(update=v) for v in variants]


async def reduce(
    roster: Roster,
    scenario: Scenario,
    broken: list[Broken],
    breaks_the_same: Callable[[Walk], list[Broken]],
    *,
    base: Path,
) -> tuple[Scenario, list[Broken]]:
    """The smallest scenario reached, and how it breaks (`breaks_the_same`: the walk's
    breaches of the same kind, or none)."""
    name = scenario.persona.name
    for _ in range(ROUNDS):
        candidates = [
            scenario.model_copy(update={"persona": p.model_copy(update={"name": f"{name}-{i + 1}"})})
            for i, p in enumerate(without_one(scenario.persona))
        ]
        if not candidates:
            break
        kept = _first(breaks_the_same(w) for w in await walk_isolated(roster, candidates, base=base))
        if kept is None:
            break
        index, broken = kept
        scenario = candidates[index]
    return scenario.named(name), broken


def _first(found: Iterable[list[Broken]]) -> tuple[int, list[Broken]] | None:
    return next(((i, b) for i, b in enumerate(found) if b), None)
