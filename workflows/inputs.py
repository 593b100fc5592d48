"""Turning what a sender put in a signal or update into one of our models, or a refusal
that names the field.

The journey's handlers are declared `(self, request: Model | JsonValue = None, *extra)`.
The trailing `*extra` makes the SDK hand over the sender's JSON as it is instead of
decoding it into the model itself, which would drop a malformed signal with only a log
line (or, with no input at all, fail the workflow task on a missing argument). Here every
shape is accepted and judged: exactly one JSON object that validates, or a sentence a
person can act on ("ignored cancel: reason: Input should be a valid string").

So is every encoding: an input the worker could not decode (encrypted with a key it does not
hold, bytes that are not JSON, an encoding it does not read) arrives as `Undecodable`
(privacy.undecodable) and is refused with its reason, instead of failing workflow tasks or
vanishing with a log line.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from privacy.undecodable import Undecodable

Model = TypeVar("Model", bound=BaseModel)

_SHOWN_PROBLEMS = 3


class Refused(ValueError):
    """Input that cannot be used; the message names the handler, the field and the reason."""


def problems(err: ValidationError) -> str:
    listed = [f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors()[:_SHOWN_PROBLEMS]]
    more = err.error_count() - _SHOWN_PROBLEMS
    return "; ".join(listed) + (f"; and {more} more" if more > 0 else "")


def parse(model: type[Model], name: str, request: Any, extra: tuple[Any, ...] = ()) -> Model:
    """The one model `request` must be, or `Refused` naming what is wrong. Never echoes the
    sender's values (they may be customer text), only field names and reasons."""
    if extra:
        raise Refused(f"{name}: expected one input, got {1 + len(extra)}")
    if isinstance(request, Undecodable):
        raise Refused(f"{name}: {request.reason}")
    if request is None:
        raise Refused(f"{name}: no input; expected an object with {_fields(model)}")
    if isinstance(request, model):
        return request
    if not isinstance(request, dict):
        raise Refused(f"{name}: input must be an object with {_fields(model)}, got {type(request).__name__}")
    try:
        return model.model_validate(request)
    except ValidationError as err:
        raise Refused(f"{name}: {problems(err)}") from None


def _fields(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)
