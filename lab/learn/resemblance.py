"""Which real journeys resemble which persona: each persona is walked through the lab (the
real workflow, virtual time) and read back like a real journey, so both sides have a
signature made the same way. A journey resembles a persona when their signatures are the
same; a journey no persona resembles shows a behaviour the set does not cover, named with
the persona nearest to it."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from lab.learn.observed import Observed
from lab.learn.signature import Signature

if TYPE_CHECKING:
    from lab.personas import PersonaFile
    from lab.runtime import Lab


class Walked(BaseModel):
    persona: str
    file: str
    signature: Signature


class Resembling(BaseModel):
    persona: str
    signature: Signature
    journeys: int
    share: float


class Uncovered(BaseModel):
    name: str
    signature: Signature
    journeys: int
    share: float
    nearest: str | None = None  # the persona nearest to it
    distance: int | None = None  # marks apart


async def walk(
    personas: list[PersonaFile],
    lab: Lab,
    problems: dict[str, str] | None = None,
    playbooks_dir: Path | None = None,
) -> list[Walked]:
    """Each persona walked once (on the playbook its deal selects in `playbooks_dir`; the
    first variant of an experiment), read back into its signature. With `problems`, a persona that cannot be
    walked is left out and its reason kept by name; without, the first problem is raised."""
    from lab.errors import LabError
    from lab.learn.from_history import observe_record  # the lab's heavier imports load only when used
    from lab.owned import deal_id
    from lab.simulate import Plan, plan
    from lab.world import JourneySetup
    from playbooks.loader import PlaybookError

    # two playbooks may each have a persona of one name: such walks are named folder/name
    # and each deal carries its folder (its playbook's name), so their journeys stay apart
    counts = Counter(pf.persona.name for pf in personas)
    plans: dict[str, Plan] = {}
    for pf in personas:
        name = pf.persona.name if counts[pf.persona.name] == 1 else f"{pf.path.parent.name}/{pf.persona.name}"
        ids = None if counts[pf.persona.name] == 1 else functools.partial(deal_id, pf.path.parent.name)
        try:
            plans[name] = plan([pf], playbooks_dir=playbooks_dir, all_personas=False, deal_ids=ids)[0]
        except (LabError, PlaybookError) as err:
            if problems is None:
                raise
            problems[name] = str(err)

    async def one(name: str) -> Walked | None:
        p = plans[name]
        try:
            walked = await lab.walk(p.script, JourneySetup(playbook=p.snapshot))
        except LabError as err:  # a stalled walk: the others go on
            if problems is None:
                raise
            problems[name] = str(err)
            return None
        observed = observe_record(walked.record, walked.outcome.ended_at)
        return Walked(persona=name, file=str(p.file.path), signature=observed.signature)

    walks = await asyncio.gather(*(one(name) for name in plans))
    return [w for w in walks if w is not None]


def resemblance(observed: list[Observed], personas: list[Walked]) -> tuple[list[Resembling], list[Uncovered]]:
    total = len(observed) or 1
    counts = Counter(o.signature for o in observed)
    shipped = [
        Resembling(
            persona=p.persona, signature=p.signature, journeys=counts[p.signature], share=counts[p.signature] / total
        )
        for p in personas
    ]
    covered = {p.signature for p in personas}
    uncovered = []
    for signature, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        if signature in covered:
            continue
        nearest = min(personas, key=lambda p: (signature.distance(p.signature), p.persona), default=None)
        uncovered.append(
            Uncovered(
                name=signature.name(),
                signature=signature,
                journeys=n,
                share=n / total,
                nearest=nearest.persona if nearest else None,
                distance=signature.distance(nearest.signature) if nearest else None,
            )
        )
    return shipped, uncovered
