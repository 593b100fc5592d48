"""The lab's command-line value types: durations and moments as `onboarding simulate` and
`onboarding backtest` read them."""

from __future__ import annotations

import argparse
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from contracts.expectations import Duration, calendar_only


def duration(text: str) -> float:
    """`2h`, `3d`, ...: calendar seconds (a business duration is refused)."""
    try:
        return calendar_only(TypeAdapter(Duration).validate_python(text)).seconds
    except (ValidationError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err).splitlines()[-1].strip()) from None


def moment(text: str) -> datetime:
    """An ISO 8601 time with its offset."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time with offset, got {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a time zone offset, e.g. 2026-11-27T17:30:00+11:00")
    return value
