"""Bad input fails before anything runs, naming the file, the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from playbooks.hints import hint, written
from playbooks.loader import field_path

Model = TypeVar("Model", bound=BaseModel)


class LabError(ValueError):
    """A persona, deal, playbook or roster the lab cannot use, every problem spelled out."""


def describe(path: Path | str, err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Each problem with file, field and reason; with the model, the reason an author can act
    on (an unknown key's closest known key, the form a number takes: playbooks/hints.py)."""
    lines = [f"{path}: {err.error_count()} problem(s)"]
    for problem in err.errors():
        message = (hint(model, problem) if model is not None else None) or problem["msg"]
        message = message.removeprefix("Value error, ")
        where = written(model, tuple(problem["loc"])) if model is not None else problem["loc"]
        lines.append(f"  {path}: {field_path(where)}: {message}")
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
        raise LabError(describe(path, err, model)) from None
