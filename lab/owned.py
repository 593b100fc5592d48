"""Each playbook's own personas: the personas of the playbook named N live in
`personas/N/` beside the playbook files (`playbooks/personas/default/` for the shipped
`default.yaml`), and its `expectations:` block speaks of them. The lab walks each playbook
with its own personas only, so a second product line brings its customers with it and the
default playbook's customers are never walked through another product's milestones.

Refused before anything runs, each naming the playbook: a playbook with no persona folder,
a folder (or a loose persona file) that belongs to no playbook, a persona whose steps or
expectations name a milestone or a product event its playbook does not have, and a persona
whose deal another playbook would run."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.playbook import PlaybookSnapshot
from lab.deals import DealFlags
from lab.errors import LabError
from lab.personas import PersonaFile, load_personas
from lab.simulate import Plan, plan
from playbooks import loader


@dataclass(frozen=True)
class Owned:
    """A playbook file and the personas written for it."""

    playbook: Path
    snapshot: PlaybookSnapshot
    personas: list[PersonaFile]

    @property
    def name(self) -> str:
        return self.snapshot.playbook.name


def personas_root(playbooks_dir: Path | None = None) -> Path:
    return (playbooks_dir or loader.playbooks_dir()) / "personas"


def own_personas(playbooks_dir: Path | None = None, playbook: Path | None = None) -> list[Owned]:
    """Every playbook of the directory with its personas; or only `playbook` (a file, maybe
    a candidate edit outside the directory) with the personas of the playbook of its name."""
    directory = playbooks_dir or loader.playbooks_dir()
    root = personas_root(directory)
    if playbook is not None:
        books = [(playbook, loader.load_playbook(playbook))]
    else:
        books = [(directory / s.source, s) for s in loader.load_all(directory)]
    names = [s.playbook.name for _, s in books]
    problems = [] if playbook is not None else _strays(root, names)
    owned = []
    for path, snapshot in books:
        name = snapshot.playbook.name
        folder = root / name
        if not sorted(folder.glob("*.yaml")):
            problems.append(
                f"playbook {name} ({path.name}) has no personas: write its customers in {folder}/ "
                f"(a persona file each; docs/lab.md)"
            )
            continue
        try:
            owned.append(Owned(path, snapshot, load_personas([folder])))
        except LabError as err:
            problems.append(str(err))
    if problems:
        raise LabError("\n".join(problems))
    return owned


def _strays(root: Path, names: list[str]) -> list[str]:
    """Persona files the lab would never walk: loose in the root, or in a folder no
    playbook is named after (a typo, or a playbook renamed)."""
    if not root.is_dir():
        return []
    known = ", ".join(names)
    problems = []
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix == ".yaml":
            problems.append(
                f"{entry}: a persona belongs to one playbook: move it into {root}/<playbook name>/ "
                f"(the playbooks here: {known})"
            )
        elif entry.is_dir() and entry.name not in names and any(entry.glob("*.yaml")):
            close = difflib.get_close_matches(entry.name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{entry}/: no playbook is named {entry.name!r}, so nothing walks these personas{hint} "
                f"(the playbooks here: {known}; a folder takes the playbook's `name`)"
            )
    return problems


def deal_id(playbook: str, persona: str) -> str:
    """`LAB-payroll.silent`: two playbooks may each have a persona called `silent`."""
    return f"LAB-{re.sub(r'[^A-Za-z0-9._-]+', '-', playbook)}.{persona}"


def plan_own(
    owned: list[Owned],
    *,
    base_deal: dict[str, Any] | None = None,
    flags: DealFlags | None = None,
    horizon_seconds: float | None = None,
    variant: Sequence[str] | None = None,
    selection: list[PlaybookSnapshot] | None = None,
) -> list[Plan]:
    """Every persona planned on its own playbook (lab.simulate.plan). With `selection` (the
    set the worker would choose from), a persona whose deal would run another playbook, or
    none, is refused: it would not test the playbook it was written for."""
    plans: list[Plan] = []
    problems: list[str] = []
    several = len(owned) > 1
    for group in owned:
        ids = functools.partial(deal_id, group.name) if several else None
        try:
            mine = plan(
                group.personas,
                playbook=group.playbook,
                base_deal=base_deal,
                flags=flags,
                horizon_seconds=horizon_seconds,
                variant=variant,
                own=True,
                deal_ids=ids,
            )
        except (LabError, loader.PlaybookError) as err:
            problems.append(str(err))
            continue
        if selection is not None:
            problems += _selects_another(group, mine, selection)
        plans += mine
    if problems:
        raise LabError("\n".join(dict.fromkeys(problems)))
    return plans


def _selects_another(group: Owned, plans: list[Plan], selection: list[PlaybookSnapshot]) -> list[str]:
    problems = []
    claims = group.snapshot.playbook.applies_to
    wanted = f"segments: {', '.join(claims.segments)}; products: {', '.join(claims.products)}"
    for p in plans:
        deal = f"segment {p.deal.segment!r} / product {p.deal.product!r}"
        try:
            chosen = loader.select(selection, p.deal.segment, p.deal.product)
        except loader.PlaybookError as err:
            problems.append(
                f"{p.file.path}: its deal ({deal}) would run no playbook ({err}); playbook {group.name} claims {wanted}"
            )
            continue
        if chosen.source != group.playbook.name:
            problems.append(
                f"{p.file.path}: its deal ({deal}) would run playbook {chosen.playbook.name} ({chosen.source}), "
                f"not {group.name} ({group.playbook.name}) whose persona it is: give it a deal {group.name} "
                f"claims (deal: {{segment: ..., product: ...}}; {wanted})"
            )
    return problems
