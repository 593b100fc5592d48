"""Segment's webhook destination: `track` calls become product events.

Segment signs each request with `X-Signature`, the hex HMAC-SHA1 keyed with the destination's
shared secret of the JSON it sends for one call: the raw body when the body is one call, only
the first call when, with batching enabled on the Webhooks (Actions) destination, the body is
a JSON array of calls (`verify_segment`). A configurable mapping turns a track
call (its event name, and optionally property values) into our `taken` / `failed` / `help`
event, and names where the deal or account id is; `messageId` is the event id the journey
de-duplicates on. Calls no rule maps (and every non-track call) are acknowledged and
counted as ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starters.models import ProductEvent
from starters.problems import FieldError, Problem
from starters.signatures import SignatureError

SIGNATURE_HEADER = "x-signature"
# Segment's maximum batch size on Webhooks (Actions); its default is 1,000.
MAX_BATCH = 4000
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class SegmentRule(BaseModel):
    """One track event (optionally only when some properties have given values) -> one of
    our event types. Paths are dotted, into the whole call: `properties.deal_id`,
    `context.groupId`, `userId`."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1)
    when: dict[str, str | int | float | bool] = Field(default_factory=dict)
    type: Literal["taken", "failed", "help"]
    action: str | None = None
    action_path: str | None = None
    reason_path: str = "properties.reason"
    message_path: str = "properties.message"

    def matches(self, call: dict[str, Any]) -> bool:
        return call.get("event") == self.event and all(lookup(call, path) == value for path, value in self.when.items())


class SegmentMapping(BaseModel):
    """SEGMENT_MAPPING (JSON): the rules, first match wins, and where the ids are."""

    model_config = ConfigDict(extra="forbid")

    rules: list[SegmentRule] = Field(default_factory=list)
    deal_id_path: str = "properties.deal_id"
    account_id_path: str = "properties.account_id"


class SegmentCall(BaseModel):
    """The fields of a Segment call this service reads; the rest (context, integrations,
    sentAt, ...) is kept for the mapping's paths."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=32)
    messageId: str = Field(min_length=1, max_length=256)
    event: str | None = Field(default=None, max_length=512)
    userId: str | int | None = None
    anonymousId: str | int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None


def verify_segment(secrets: Sequence[str], body: bytes, headers: Mapping[str, str]) -> None:
    """Accept what Segment signs: HMAC-SHA1 of `JSON.stringify(payload[0].data)`
    (segmentio/action-destinations, destinations/webhook/index.ts, `extendRequest`). One call:
    that is the body. A batch: the body is `JSON.stringify` of the calls' array, so the first
    call's signed JSON is exactly its bytes in the body, compared as they are (a Python
    re-serialisation would differ from JavaScript's in number formats and escapes).

    In a batch only the first call is signed: the rest is as trustworthy as TLS and the
    secrecy of earlier requests make it (docs/http.md, "Segment product events")."""
    if not secrets:
        raise SignatureError("no Segment shared secret is configured on this service")
    signature = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER)
    if not signature:
        raise SignatureError("missing header: X-Signature")
    given = signature.strip().lower().encode("ascii", "replace")
    signed = [body]
    first = first_call_bytes(body)
    if first is not None:
        signed.append(first)
    # every secret against every form, always: the time taken says nothing about which matched
    matched = [
        hmac.compare_digest(hmac.new(secret.encode(), candidate, hashlib.sha1).hexdigest().encode(), given)
        for secret in secrets
        for candidate in signed
    ]
    if not any(matched):
        raise SignatureError("no matching signature")


def first_call_bytes(body: bytes) -> bytes | None:
    """The first element of a JSON array body, byte for byte as it is in the body; None when
    the body is not an array with a first element."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    start = _skip_whitespace(text, 0)
    if not text.startswith("[", start):
        return None
    start = _skip_whitespace(text, start + 1)
    try:
        _, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return text[start:end].encode("utf-8")


def _skip_whitespace(text: str, position: int) -> int:
    found = _JSON_WHITESPACE.match(text, position)
    return found.end() if found else position


def sign_segment(secret: str, body: bytes) -> dict[str, str]:
    """The header Segment sends for one call, whose JSON is `body` (for tests and local tools;
    a batch is signed with its first call's JSON, `first_call_bytes`)."""
    return {"X-Signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def lookup(call: Mapping[str, Any], path: str) -> Any:
    value: Any = call
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class Rejected:
    """A call of a batch that cannot be used: its position, its messageId when it has one,
    and each Segment field in the way (names and reasons, never values)."""

    index: int
    message_id: str | None
    errors: list[FieldError]
    # the call as sent, kept encrypted in the records for a retry (starters/refusals.py)
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass
class Mapped:
    """What the calls of a body become: product events (in the sender's order), the event
    names (or call types) ignored, and the calls refused."""

    events: list[ProductEvent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def batch_calls(raw: list[Any]) -> list[SegmentCall | Rejected]:
    """Each element of a batch, validated on its own: one bad call does not refuse the others.
    An empty batch or one over Segment's maximum is a 422 for the whole body."""
    if not raw or len(raw) > MAX_BATCH:
        message = "a batch holds at least one call" if not raw else f"a batch holds at most {MAX_BATCH} calls"
        error = FieldError(field="(body)", message=message, type="too_short" if not raw else "too_long")
        raise Problem(422, "invalid-body", "The body does not match the schema", message, errors=[error])
    out: list[SegmentCall | Rejected] = []
    for index, item in enumerate(raw):
        try:
            out.append(SegmentCall.model_validate(item))
        except ValidationError as err:
            message_id = item.get("messageId") if isinstance(item, dict) else None
            errors = [
                FieldError(field=".".join(str(p) for p in (index, *e["loc"])), message=e["msg"], type=e["type"])
                for e in err.errors(include_input=False, include_url=False)
            ]
            out.append(Rejected(index, message_id if isinstance(message_id, str) else None, errors, item))
    return out


def map_calls(calls: Sequence[SegmentCall | Rejected], mapping: SegmentMapping, batch: bool) -> Mapped:
    """Each call's fate, on its own: a product event, ignored (unmapped or not a track call),
    or rejected naming the Segment fields in the way (prefixed with its index in a batch)."""
    mapped = Mapped()
    for index, call in enumerate(calls):
        if isinstance(call, Rejected):
            mapped.rejected.append(call)
            continue
        prefix = f"{index}." if batch else ""
        if call.type != "track":
            mapped.ignored.append(call.type)
            continue
        data = call.model_dump()
        if call.event is None or (call.userId is None and call.anonymousId is None):
            missing = "event" if call.event is None else "userId"
            message = "required for a track call" if missing == "event" else "userId or anonymousId is required"
            error = FieldError(field=prefix + missing, message=message, type="missing")
            mapped.rejected.append(Rejected(index, call.messageId, [error], data))
            continue
        rule = next((r for r in mapping.rules if r.matches(data)), None)
        if rule is None:
            mapped.ignored.append(call.event)
            continue
        try:
            mapped.events.append(_event(call, data, rule, mapping))
        except ValidationError as err:
            names = _source_paths(rule, mapping)
            errors = []
            for e in err.errors(include_input=False, include_url=False):
                loc = ".".join(str(part) for part in e["loc"])
                errors.append(FieldError(field=prefix + names.get(loc, loc), message=e["msg"], type=e["type"]))
            mapped.rejected.append(Rejected(index, call.messageId, errors, data))
    return mapped


def refusal(rejected: list[Rejected]) -> Problem:
    """422 naming each Segment field that keeps a call from being used."""
    errors = [e for r in rejected for e in r.errors]
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    return Problem(422, "invalid-body", "A Segment call cannot be used", f"invalid field(s): {fields}", errors=errors)


def _event(call: SegmentCall, data: dict[str, Any], rule: SegmentRule, mapping: SegmentMapping) -> ProductEvent:
    action = rule.action if rule.action is not None else _scalar(lookup(data, rule.action_path or "event"))
    fields: dict[str, Any] = {
        "event_id": call.messageId,
        "type": rule.type,
        "deal_id": _scalar(lookup(data, mapping.deal_id_path)),
        "account_id": _scalar(lookup(data, mapping.account_id_path)),
        "action": action,
        "occurred_at": call.timestamp,
        "source": "segment",
    }
    if rule.type == "failed":
        fields["reason"] = _text(lookup(data, rule.reason_path), 1000)
    if rule.type == "help":
        fields["message"] = _text(lookup(data, rule.message_path), 2000)
    return ProductEvent.model_validate(fields)


def _source_paths(rule: SegmentRule, mapping: SegmentMapping) -> dict[str, str]:
    # ProductEvent's error locations, named as the Segment fields they came from
    return {
        "event_id": "messageId",
        "deal_id": mapping.deal_id_path,
        "account_id": f"{mapping.deal_id_path} or {mapping.account_id_path}",
        "action": rule.action_path or "event",
        "occurred_at": "timestamp",
    }


def _scalar(value: Any) -> Any:
    # Ids often arrive as numbers; anything else is passed on for validation to name.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


def _text(value: Any, limit: int) -> str:
    # The customer's words are kept (truncated), never refused for their length.
    return "" if value is None else str(value)[:limit]
