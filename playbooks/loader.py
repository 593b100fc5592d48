"""Load and validate playbook YAML files; errors name the file, the field and the reason."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from contracts.playbook import Playbook, PlaybookSnapshot

DEFAULT_DIR = Path(__file__).parent


class PlaybookError(ValueError):
    """A playbook or roster file that cannot be used, with every problem spelled out."""


def playbooks_dir() -> Path:
    return Path(os.environ.get("ONBOARDING_PLAYBOOKS_DIR") or DEFAULT_DIR)


# (file, model) -> (the bytes last parsed, the model they gave). The snapshot and owner
# activities read their files on every call so a live edit counts at once; parsing and
# validating the same bytes again cost milliseconds of the worker's CPU per journey.
_PARSED: dict[tuple[Path, type[BaseModel]], tuple[bytes, BaseModel]] = {}


def read_yaml_model(path: Path, model: type[BaseModel]) -> tuple[BaseModel, bytes]:
    """Parse one YAML file into `model`, or raise PlaybookError naming file, field, reason.
    Unchanged bytes give the model parsed before (the models are frozen); changed bytes are
    parsed again, and a file that fails is never cached."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PlaybookError(f"{path}: cannot read: {err.strerror}") from err
    key = (path.resolve(), model)
    cached = _PARSED.get(key)
    if cached is not None and cached[0] == raw:
        return cached[1], raw
    parsed = _parse(path, raw, model)
    _PARSED[key] = (raw, parsed)
    return parsed, raw


def _parse(path: Path, raw: bytes, model: type[BaseModel]) -> BaseModel:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise PlaybookError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise PlaybookError(format_errors(path, err)) from None


def field_path(loc: tuple[object, ...]) -> str:
    """`milestones.0.help.body`. A choice between shapes (an expectation's kind, a value or
    `never`) adds its tag or class name to the location; the reader needs neither."""
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if parts and text == parts[-1]:
            continue
        if text[:1].isupper() or text.startswith(("literal[", "function-", "list[")):
            continue
        parts.append(text)
    return ".".join(parts) or "(top level)"


def format_errors(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: {err.error_count()} problem(s)"]
    for problem in err.errors():
        lines.append(f"  {path.name}: {field_path(problem['loc'])}: {problem['msg']}")
    return "\n".join(lines)


def load_playbook(path: Path) -> PlaybookSnapshot:
    playbook, raw = read_yaml_model(path, Playbook)
    assert isinstance(playbook, Playbook)
    return PlaybookSnapshot(source=path.name, digest=hashlib.sha256(raw).hexdigest()[:16], playbook=playbook)


def load_all(directory: Path | None = None) -> list[PlaybookSnapshot]:
    """Every playbook in the directory; one bad file fails the whole load (all named)."""
    directory = directory or playbooks_dir()
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise PlaybookError(f"{directory}: no playbook (*.yaml) found")
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append(load_playbook(path))
        except PlaybookError as err:
            problems.append(str(err))
    if problems:
        raise PlaybookError("\n".join(problems))
    names = [s.playbook.name for s in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PlaybookError(f"{directory}: playbook name(s) used twice: {dupes}")
    return loaded


def select(playbooks: list[PlaybookSnapshot], segment: str, product: str) -> PlaybookSnapshot:
    """The most specific playbook for a deal; ties go to the first file by name."""
    ranked = [
        (score, i, s)
        for i, s in enumerate(playbooks)
        if (score := s.playbook.specificity(segment, product)) is not None
    ]
    if not ranked:
        raise PlaybookError(f"no playbook applies to segment={segment!r} product={product!r}")
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return ranked[0][2]
