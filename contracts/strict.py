"""The one strict base of the models that come from outside, or from a file we read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are refused, surrounding whitespace is stripped. hide_input_in_errors:
    a refused deal, signal or update is reported (and logged) by field and reason, never with
    the customer's text pydantic would otherwise quote as `input_value`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


class StrictFile(Strict):
    """What people write in files we read (playbooks, the roster, personas): unknown fields
    refused as well, immutable once read, and kept exactly as written (a message template's
    whitespace is part of its text); errors name the file's field and what it holds."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=False, hide_input_in_errors=False)
