"""A broken promise, written down: the minimal persona (and its playbook, when the explorer
changed the shipped one) as files `onboarding simulate` walks again, with the command."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from lab.explore.promises import Broken
from lab.explore.scenario import SHIPPED_PLAYBOOK, Scenario, persona_yaml, playbook_yaml


class Written(BaseModel):
    persona: Path
    playbook: Path
    command: str
    text: str  # the persona file's content, as printed


def header(broken: list[Broken]) -> str:
    if not broken:
        return "# Found by `onboarding explore`: the lab's clock stopped with this journey every time it walked.\n"
    lines = ["# Found by `onboarding explore`: this journey breaks the journey's promises:"]
    lines += [f"#   {b}" for b in broken]
    return "\n".join(lines) + "\n"


def write(scenario: Scenario, broken: list[Broken], out: Path, base: Path = SHIPPED_PLAYBOOK) -> Written:
    out.mkdir(parents=True, exist_ok=True)
    name = scenario.persona.name
    persona = out / f"{name}.yaml"
    text = header(broken) + persona_yaml(scenario.persona)
    persona.write_text(text)
    playbook = base
    if scenario.playbook is not None:
        playbook = out / f"{name}.playbook.yaml"
        playbook.write_text(playbook_yaml(scenario.playbook))
    command = f"onboarding simulate {persona} --playbook {playbook}"
    if scenario.variant:
        command += f" --variant {scenario.variant}"
    return Written(persona=persona, playbook=playbook, command=command, text=text)
