"""Payloads a worker cannot decode become inputs a journey refuses, not workflow tasks that fail.

The SDK decodes a whole activation through the codec before the workflow sees any of it: one
payload that does not decrypt (a key id this worker does not hold, bytes marked
`binary/encrypted` that nobody encrypted) fails the workflow task, and every retry of it, for
as long as the signal stays in the history. It then converts a signal's untyped arguments
before any handler runs: bytes that are not JSON, or an encoding nobody knows, drop the
signal with only a log line. Either way the sender's mistake is the journey's problem.

On workers and replayers (`workflow_converter`; clients keep the strict converter):

- `GuardedCodec` decodes what it can and leaves a marker payload where it cannot (encoding
  `binary/undecodable`, a reason code, the key id), instead of raising.
- `WorkflowPayloadConverter`, where the workflow asks for no type (the journey's signal and
  update inputs, judged by workflows/inputs.py), gives `Undecodable(reason)` for any payload
  that cannot be converted: a marker, bytes that are not JSON, an unknown encoding. The
  journey refuses it visibly, like any other bad input.
- Where a type is asked for (a workflow's input, an activity's result, the roster's updates),
  a marker raises `UndecodablePayloadError`, and so does a failure that carries one
  (`WorkflowFailureConverter`): the workflow task fails and is retried, so configuring the
  missing key lets the workflow go on; an update is rejected before it is accepted.

Reasons are our own words from a fixed list, with at most a key id or an encoding name that
matches a strict pattern: never what the sender wrote. Normal payloads pay nothing extra: the
codec is asked once per list as before, and a marker is found by the encoding lookup the
converter makes anyway."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    FailureConverter,
    PayloadCodec,
    PayloadConverter,
)

from privacy.codec import KEY_ID, PayloadDecryptionError
from privacy.failures import RefusalsReadable

ENCODING = b"binary/undecodable"
REASON = "undecodable-reason"

UNKNOWN_KEY = b"unknown-key"
NOT_DECRYPTED = b"not-decrypted"
NOT_DECODED = b"not-decoded"

_SHOWN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,39}")


@dataclass(frozen=True)
class Undecodable:
    """What a handler that asked for no type receives for an input the worker could not
    decode; `reason` says why without any of the input."""

    reason: str


class UndecodablePayloadError(ValueError):
    """A payload that had to be decoded (a workflow's input, an activity's result or
    failure, a typed update input) could not be."""


def _shown(name: bytes) -> str:
    """A key id or encoding name as it may appear in a reason, or '' when it might be
    anything else (the sender chose these bytes)."""
    text = name.decode("ascii", errors="replace")
    return repr(text) if _SHOWN_NAME.fullmatch(text) else ""


def marker(reason: bytes, key_id: bytes = b"") -> Payload:
    return Payload(metadata={"encoding": ENCODING, REASON: reason, KEY_ID: key_id})


def marker_for(err: Exception) -> Payload:
    if isinstance(err, PayloadDecryptionError):
        return marker(UNKNOWN_KEY if err.unknown_key else NOT_DECRYPTED, err.key_id)
    return marker(NOT_DECODED)


def describe(payload: Payload) -> str:
    """Why the payload could not be used, in a sentence staff can act on."""
    metadata = payload.metadata
    encoding = metadata.get("encoding", b"")
    if encoding == ENCODING:
        reason, key = metadata.get(REASON, b""), _shown(metadata.get(KEY_ID, b""))
        named = f"key {key}" if key else "the key it names"
        if reason == UNKNOWN_KEY:
            if not metadata.get(KEY_ID):
                return "input could not be decrypted (it names no key)"
            return f"input could not be decrypted ({named} is not configured)"
        if reason == NOT_DECRYPTED:
            return f"input could not be decrypted (it was altered, or not encrypted with {named})"
        return "input could not be decoded"
    if encoding == b"json/plain":
        return "input is not valid JSON"
    name = _shown(encoding)
    return f"input has an encoding this worker does not read{f' ({name})' if name else ''}"


class GuardedCodec(PayloadCodec):
    """`inner`, whose decoding never raises: a payload it cannot decode becomes a marker."""

    def __init__(self, inner: PayloadCodec) -> None:
        self.inner = inner

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.inner.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        try:
            return await self.inner.decode(payloads)
        except Exception:
            pass  # at least one does not decode: each on its own, to mark only those
        decoded = []
        for payload in payloads:
            try:
                decoded.extend(await self.inner.decode([payload]))
            except Exception as err:
                decoded.append(marker_for(err))
        return decoded


class _MarkerConverter(EncodingPayloadConverter):
    """Reads markers where a type was asked for: never a value, always the reason."""

    @property
    def encoding(self) -> str:
        return ENCODING.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise UndecodablePayloadError(f"payload {describe(payload).removeprefix('input ')}")


class TolerantJSONConverter(PydanticJSONPlainPayloadConverter):
    """JSON read as one build reads what another wrote: a field of a model this build does
    not know is kept on the model (`extra="allow"` for this read), not refused, and written
    back as it came (contracts.strict `Carried`). A journey started on a newer build then
    runs on an older one after a rollback (docs/versioning.md, "Adding a field")."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        if type_hint is None or type_hint is Any:
            return super().from_payload(payload, type_hint)
        try:
            adapter = self._type_adapter(type_hint)
        except TypeError:  # an unhashable hint: the SDK's own path
            return super().from_payload(payload, type_hint)
        return adapter.validate_json(payload.data, extra="allow")


class WorkflowPayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, plus: markers raise where a type is asked for, every payload
    that cannot be converted is an `Undecodable` where none is, and fields this build does
    not know are kept (`TolerantJSONConverter`)."""

    json_converter: type[TolerantJSONConverter] = TolerantJSONConverter

    def __init__(self) -> None:
        super().__init__()
        tolerant = self.json_converter()
        converters = {
            name: tolerant if name == tolerant.encoding.encode() else c for name, c in self.converters.items()
        }
        self.converters = {**converters, ENCODING: _MarkerConverter()}

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        if type_hints:
            return super().from_payloads(payloads, type_hints)
        values: list[Any] = []
        for payload in payloads:
            try:
                values.extend(super().from_payloads([payload]))
            except Exception:
                values.append(Undecodable(describe(payload)))
        return values


class _MarkersFail(DefaultFailureConverter):
    """A failure (an activity's, a child's) that carries a marker fails the workflow task
    rather than reaching the workflow with its message or details replaced."""

    def from_failure(self, failure: Failure, payload_converter: PayloadConverter) -> BaseException:
        for payload in _failure_payloads(failure):
            if payload.metadata.get("encoding") == ENCODING:
                raise UndecodablePayloadError(f"failure {describe(payload).removeprefix('input ')}")
        return super().from_failure(failure, payload_converter)


def _failure_payloads(failure: Failure) -> list[Payload]:
    """The payloads of this failure itself (its causes are converted, and checked, one by one)."""
    found = [failure.encoded_attributes] if failure.HasField("encoded_attributes") else []
    match failure.WhichOneof("failure_info"):
        case "application_failure_info":
            found.extend(failure.application_failure_info.details.payloads)
        case "canceled_failure_info":
            found.extend(failure.canceled_failure_info.details.payloads)
        case "timeout_failure_info":
            found.extend(failure.timeout_failure_info.last_heartbeat_details.payloads)
        case "reset_workflow_failure_info":
            found.extend(failure.reset_workflow_failure_info.last_heartbeat_details.payloads)
    return found


class WorkflowFailureConverter(_MarkersFail):
    pass


class WorkflowFailureConverterWithEncodedAttributes(_MarkersFail, DefaultFailureConverterWithEncodedAttributes):
    pass


class WorkflowFailureConverterRefusalsReadable(_MarkersFail, RefusalsReadable):
    pass


_FAILURE_CONVERTERS: dict[type[FailureConverter], type[FailureConverter]] = {
    DefaultFailureConverter: WorkflowFailureConverter,
    DefaultFailureConverterWithEncodedAttributes: WorkflowFailureConverterWithEncodedAttributes,
    RefusalsReadable: WorkflowFailureConverterRefusalsReadable,
}


def workflow_converter(converter: DataConverter) -> DataConverter:
    """`converter` as workers and replayers use it: what it cannot decode is a marker, not
    an exception (see the module). Writes exactly what `converter` writes."""
    if converter.payload_converter_class is WorkflowPayloadConverter:
        return converter
    if converter.payload_converter_class is not PydanticPayloadConverter:
        raise TypeError(f"expected the pydantic payload converter, got {converter.payload_converter_class.__name__}")
    failures = _FAILURE_CONVERTERS.get(converter.failure_converter_class)
    if failures is None:
        raise TypeError(f"unexpected failure converter {converter.failure_converter_class.__name__}")
    codec = converter.payload_codec
    return dataclasses.replace(
        converter,
        payload_converter_class=WorkflowPayloadConverter,
        payload_codec=GuardedCodec(codec) if codec is not None else None,
        failure_converter_class=failures,
    )
