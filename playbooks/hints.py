"""What a refused file's problem says when pydantic's own words would not tell the author what
to write: an unknown key gets the closest known key ("did you mean 'window_hours'?"), a
number written as text gets the expected form with an example ('2 days' for `window_hours`,
'50.000 EUR' for an amount). Used for playbooks, the roster (playbooks/loader.py) and the
lab's persona files (lab/errors.py)."""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from contracts.durations import ACCEPTED, NOT_A_DURATION

_HOURS = {"m": 1 / 60, "h": 1, "d": 24, "w": 168}  # by the unit's first letter
_DURATION = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$", re.IGNORECASE)
_CURRENCY = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])|[€$£¥]")
_GROUPED = re.compile(r"^\d{1,3}(?:[.,' \u00a0]\d{3})+$")


def hint(model: type[BaseModel], error: ErrorDetails) -> str | None:
    """A better message for `error` (one of `model`'s validation errors), or None."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc:
        return _unknown_key(model, loc, error["msg"])
    quotes = not model.model_config.get("hide_input_in_errors")  # files, not customers' data
    if quotes and error["type"] in ("float_parsing", "int_parsing") and isinstance(error.get("input"), str):
        return _number_as_text(_field_name(model, loc), error["input"], integer=error["type"] == "int_parsing")
    if error["type"] == "value_error" and str(error["msg"]).endswith(NOT_A_DURATION):
        written = error.get("input")
        if quotes and isinstance(written, str):
            return _number_as_text(_field_name(model, loc), written, integer=False)
        return NOT_A_DURATION
    return None


def _unknown_key(model: type[BaseModel], loc: tuple[Any, ...], message: str) -> str:
    key = str(loc[-1])
    known = sorted({name for kind in _at(model, loc[:-1]) for name in kind.model_fields})
    if not known:
        return message
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"{message}: did you mean {close[0]!r}?"
    return f"{message}: the keys here are {', '.join(known)}"


def _at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[type[BaseModel]]:
    """The models a location may point into (several where a field is a union)."""
    return [kind for kind in _walk(model, loc)[0] if _is_model(kind)]


def _field_name(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The last part of the location that names a field (not a list index, not a tag)."""
    return _walk(model, loc)[1]


def written(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The location as the file spells it: without the tags pydantic adds for a union
    (`escalation.kickoff_amount_above`, not `...kickoff_amount_above.number`)."""
    return _walk(model, loc)[2]


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], str, tuple[Any, ...]]:
    """Follow a location through the types: fields, list items, dict values; a union's
    member is chosen by the tag pydantic puts in the location (`escalated.within`, where
    `within` is the tag), and a class-name tag of a plain union is passed over. Gives the
    types reached, the last field's name, and the parts that are the file's own."""
    kinds: list[Any] = [model]
    name = ""
    parts: list[Any] = []
    for i, part in enumerate(loc):
        options = [option for kind in kinds for option in _options(kind)]
        tagged = [kind for tag, kind in options if tag is not None and tag == part]
        if tagged:
            kinds = tagged
            continue
        if isinstance(part, str) and (part[:1].isupper() or part.startswith(("function-", "literal[", "list["))):
            continue
        following = [step for _, kind in options for step in _step(kind, part)]
        if not following:
            return [], name, (*parts, *loc[i:])
        if isinstance(part, str) and any(_is_model(kind) for _, kind in options):
            name = part
        parts.append(part)
        kinds = following
    return [kind for k in kinds for _, kind in _options(k)], name, tuple(parts)


def _options(kind: Any, tag: str | None = None) -> list[tuple[str | None, Any]]:
    """A type with Annotated and unions taken apart: each shape a value may have, with the
    tag that names it in a location when it has one."""
    origin = get_origin(kind)
    if origin is Annotated:
        inner, *meta = get_args(kind)
        found = next((m.tag for m in meta if isinstance(m, Tag)), tag)
        return _options(inner, found)
    if origin is Union or origin is types.UnionType:
        return [shape for arg in get_args(kind) for shape in _options(arg)]
    return [(tag, kind)]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _step(kind: Any, part: Any) -> list[Any]:
    if _is_model(kind):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return [field.annotation] if field is not None else []
    origin, args = get_origin(kind), get_args(kind)
    if origin in (list, tuple, set) and isinstance(part, int) and args:
        return [args[0]]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return [args[1]]
    return []


def _number_as_text(field: str, text: str, *, integer: bool) -> str | None:
    written = " ".join(text.split())
    duration = _DURATION.match(written)
    if duration and (field == "hours" or field.endswith("_hours")):
        hours = float(duration[1].replace(",", ".")) * _HOURS[duration[2][0].lower()]
        answer = f"expected a number of hours, like 48 (2 days); {written!r} is {hours:g}: write {field}: {hours:g}"
        unit = {"h": "hour", "d": "day"}.get(duration[2][0].lower())
        if unit is None:
            return answer
        count = duration[1].replace(",", ".")
        return f"{answer}, or '{count} business {unit}{'s' * (count != '1')}' for business time"
    if field == "hours" or field.endswith("_hours"):
        return f"expected {ACCEPTED}; got {text!r}"
    if duration and field.endswith("_minutes"):
        minutes = float(duration[1].replace(",", ".")) * _HOURS[duration[2][0].lower()] * 60
        return f"expected a number of minutes, like 30; {written!r} is {minutes:g}: write {field}: {minutes:g}"
    currency = _CURRENCY.search(written)
    digits = _CURRENCY.sub("", written).strip()
    if re.search(r"\d", written) and (currency or _GROUPED.match(digits)):
        example = re.sub(r"\D", "", digits) if _GROUPED.match(digits) else "250000"
        code = currency[1] if currency and currency[1] else "USD"
        if field == "kickoff_amount_above":
            either = f", or with its currency {{amount: {example}, currency: {code}}}"
        elif currency and currency[1]:
            either = f" (the currency in its own field, currency: {code})"
        else:
            either = ""
        return (
            f"expected a plain number without thousands separators or a currency, like {example}{either}; got {text!r}"
        )
    if integer:
        return f"expected a whole number, like 3; got {text!r}"
    return f"expected a number, like 48; got {text!r}"
