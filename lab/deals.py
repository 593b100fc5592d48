"""The deal each persona's journey starts with: the lab's sample deal, or `--deal FILE`,
then the persona's own deal, then the command line's flags (each over the one before)."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from contracts.deal import DealClosed, sample_deal_body
from lab.errors import LabError, describe
from lab.personas import Persona
from lab.script import StartRule

SAMPLE_DEAL: dict[str, Any] = sample_deal_body(deal_id="LAB-1", closed_at="2026-11-24T16:00:00Z")
# A deal with no close of its own closes on a Tuesday morning: an ordinary working day.
DEFAULT_CLOSE = (("tue"), time(10, 0))


class DealFlags(BaseModel):
    """`--segment`, `--product`, `--amount`, `--timezone`, `--closed-at`."""

    segment: str | None = None
    product: str | None = None
    amount: float | None = None
    timezone: str | None = None
    closed_at: datetime | None = None


def read_deal(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as err:
        raise LabError(f"{path}: cannot read: {err.strerror}") from None
    except (ValueError, yaml.YAMLError) as err:
        raise LabError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from None
    if not isinstance(data, dict):
        raise LabError(f"{path}: expected a deal object")
    try:
        DealClosed.model_validate(data)
    except ValidationError as err:
        raise LabError(describe(path, err)) from None
    return data


def persona_deal(
    persona: Persona, base: dict[str, Any] | None, flags: DealFlags, base_is_file: bool
) -> tuple[DealClosed, StartRule]:
    body = json.loads(json.dumps(base or SAMPLE_DEAL))
    spec = persona.deal
    for name in ("segment", "product", "amount", "currency"):
        if (value := getattr(spec, name)) is not None:
            body[name] = value
    body["account"].update(spec.account.model_dump(exclude_none=True))
    if spec.contacts is not None:
        body["contacts"] = [c.model_dump(mode="json") for c in spec.contacts]
    for name in ("segment", "product", "amount"):
        if (value := getattr(flags, name)) is not None:
            body[name] = value
    if flags.timezone:
        body["account"]["timezone"] = flags.timezone
    body["deal_id"] = f"LAB-{persona.name}"
    try:
        deal = DealClosed.model_validate(body)
    except ValidationError as err:
        raise LabError(describe(f"persona {persona.name}: deal", err)) from None
    tz = deal.account.timezone
    if flags.closed_at is not None:
        start = StartRule.of(flags.closed_at, tz)
    elif spec.closes is not None and spec.closes.date is not None:
        start = StartRule.pinned(spec.closes.date, spec.closes.at, tz)
    elif spec.closes is not None and spec.closes.day is not None:
        start = StartRule(on=spec.closes.day, at=spec.closes.at, timezone=tz)
    elif base_is_file:
        start = StartRule.of(deal.closed_at, tz)
    else:
        start = StartRule(on=DEFAULT_CLOSE[0], at=DEFAULT_CLOSE[1], timezone=tz)
    return deal, start
