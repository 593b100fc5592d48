"""Bad input fails before anything runs, naming the file, the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class LabError(ValueError):
    """A persona, deal, playbook or roster the lab cannot use, every problem spelled out."""


def field_path(loc: tuple[Any, ...]) -> str:
    """`customer.2.at`. Union branches repeat the field's own name (`escalated.escalated`)
    or add a class name; the reader needs neither."""
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if parts and text == parts[-1]:
            continue
        if text[:1].isupper() or text.startswith(("literal[", "function-")):
            continue
        parts.append(text)
    return ".".join(parts) or "(top level)"


def describe(path: Path | str, err: ValidationError) -> str:
    lines = [f"{path}: {err.error_count()} problem(s)"]
    for problem in err.errors():
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {path}: {field_path(problem['loc'])}: {message}")
    return "\n".join(lines)


def read_yaml(path: Path, model: type[Model]) -> Model:
    try:
        data = yaml.safe_load(path.read_bytes())
    except OSError as err:
        raise LabError(f"{path}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise LabError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise LabError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise LabError(describe(path, err)) from None
