"""The bases of the models that cross a boundary: what comes from outside or from a file we
read (`Strict`, `StrictFile`), and what one build of the worker hands to another (`Carried`).

Two boundaries, two rules (docs/versioning.md, "Adding a field"):

- where a person or another system writes (an HTTP body, a playbook file being checked, a
  signal's input, a CLI argument) an unknown field is refused, with the field named;
- where one build reads what another build wrote (a journey's input and its carried state,
  the playbook snapshot, an activity's input or result, a replay) the worker decodes with
  `extra="allow"` (privacy.undecodable `TolerantJSONConverter`): a field this build does
  not know is kept on the model and written back unchanged (`Carried`), so a journey
  started on a newer build survives a rollback, and loses nothing when an older build
  continues it as new."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializationInfo, SerializerFunctionWrapHandler, model_serializer


def _keeps_unknown_fields(self: BaseModel, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
    """`Carried`'s serializer (pydantic asks that its first parameter be `self`)."""
    data = handler(self)
    unknown = self.__pydantic_extra__
    # include/exclude pick known fields by name: an unknown one is not theirs to add back
    if not unknown or not isinstance(data, dict) or info.include is not None or info.exclude is not None:
        return data
    return {**data, **{name: value for name, value in unknown.items() if name not in data}}


# Without a return annotation pydantic keeps each model's own serialization schema (the HTTP
# service's OpenAPI); with one (`Any`) every response model would be documented as anything.
del _keeps_unknown_fields.__annotations__["return"]


class Carried(BaseModel):
    """Fields this build does not know, decoded from a newer build's payload, are written back
    as they came (after the known ones, which they never replace)."""

    _keeps_unknown_fields = model_serializer(mode="wrap")(_keeps_unknown_fields)


class Strict(Carried):
    """Unknown fields are refused, surrounding whitespace is stripped. hide_input_in_errors:
    a refused deal, signal or update is reported (and logged) by field and reason, never with
    the customer's text pydantic would otherwise quote as `input_value`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


class StrictFile(Strict):
    """What people write in files we read (playbooks, the roster, personas): unknown fields
    refused as well, immutable once read, and kept exactly as written (a message template's
    whitespace is part of its text); errors name the file's field and what it holds."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=False, hide_input_in_errors=False)
