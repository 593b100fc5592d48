"""One generated journey: a persona (the deal, the customer, the owner, staff) and the
playbook it walks, both exactly as files would hold them, so that whatever the explorer
walks, `onboarding simulate` walks again from the files it writes."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from lab.personas import Persona
from playbooks import loader

SHIPPED_PLAYBOOK = loader.playbooks_dir() / "default.yaml"


class Scenario(BaseModel):
    persona: Persona
    # The playbook as YAML data; None: the base playbook, unchanged.
    playbook: dict[str, Any] | None = None
    variant: str | None = None  # the experiment's arm walked, when the playbook has variants

    def named(self, name: str) -> Scenario:
        return self.model_copy(update={"persona": self.persona.model_copy(update={"name": name})})


def persona_yaml(persona: Persona) -> str:
    """The persona as a file would hold it: only what differs from the defaults."""
    data = persona.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=120)


def playbook_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def _plain(value: Any) -> Any:
    """Durations as their text (`26h`), not their parsed parts."""
    if isinstance(value, dict):
        if set(value) >= {"text", "seconds"} and isinstance(value.get("text"), str):
            return value["text"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@functools.lru_cache(maxsize=8)
def base_playbook(path: Path = SHIPPED_PLAYBOOK) -> dict[str, Any]:
    """The playbook file the explorer varies, as data (validated by loading it)."""
    loader.load_playbook(path)
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def playbook_path(scenario: Scenario, base: Path = SHIPPED_PLAYBOOK) -> Path:
    """The playbook file the scenario walks: the base, or its changed copy (written once,
    named by its content, validated by loading it as `onboarding simulate --playbook` will)."""
    if scenario.playbook is None:
        return base
    text = playbook_yaml(scenario.playbook)
    folder = Path(tempfile.gettempdir()) / "onboarding-explore"
    folder.mkdir(exist_ok=True)
    path = folder / f"playbook-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not path.exists():  # written whole, then named: another walker may read it at once
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(text)
        partial.replace(path)
    return path
