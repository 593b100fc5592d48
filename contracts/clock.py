"""A time of day as people write it in a playbook or a persona (`"09:00"`): business hours,
a kickoff expectation, a persona's close.

YAML reads an unquoted `9:00` as the number 540 (base 60) and `17:30` as 1050; read as a
time those became 00:09 and 00:17:30 UTC, or a traceback when compared with a time without
a zone. A number is refused with the quoted form to write instead; `"9:00"` (quoted, no
leading zero) is read as 09:00. A time carries no zone: the customer's (or the owner's)
zone applies."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

EXAMPLE = '"09:00"'
_ONE_DIGIT_HOUR = re.compile(r"^\d:\d\d(:\d\d)?$")


def _written(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # pydantic refuses it as it is
    if isinstance(value, int | float):
        hint = ""
        if isinstance(value, int) and 60 <= value < 24 * 60:
            hours, minutes = divmod(value, 60)
            hint = f' (YAML reads an unquoted {hours}:{minutes:02d} as {value}: write "{hours:02d}:{minutes:02d}")'
        elif isinstance(value, int) and 0 <= value < 24:
            hint = f' (for {value} o\'clock write "{value:02d}:00")'
        raise ValueError(f"expected a time of day in quotes, like {EXAMPLE}; got the number {value}{hint}")
    if isinstance(value, str):
        text = value.strip()
        if _ONE_DIGIT_HOUR.match(text):
            return "0" + text  # "9:00" is 09:00
        try:
            time.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f'expected a time of day like {EXAMPLE} or "17:30" (24-hour HH:MM), got {value!r}'
            ) from None
        return text
    return value


def _no_zone(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(f"a time of day without a zone, like {EXAMPLE}: the customer's (or owner's) zone applies")
    return value


ClockTime = Annotated[time, BeforeValidator(_written), AfterValidator(_no_zone)]
