"""Pipedrive webhooks v2: a deal whose status becomes `won` starts its journey.

Pipedrive proves who it is with the HTTP basic auth credentials set on the webhook (it has
no body signature). A v2 delivery is `{"meta": {...}, "data": {...}, "previous": {...}}`:
`meta.entity` and `meta.action` say what happened (`deal`, `change`), `data` is the deal
now, `previous` the values the change replaced (null for `create`: a deal created already
won, e.g. by an import, starts its journey too). Only the deal's id is used here: the
journey reads the deal, its organization and person from Pipedrive's API
(activities/pipedrive.py), retried durably.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starters.intake import validate
from starters.problems import validation_problem
from starters.signatures import SignatureError

REALM = 'Basic realm="pipedrive", charset="UTF-8"'


class PipedriveMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1, max_length=32)
    entity: str = Field(min_length=1, max_length=64)
    version: str | None = Field(default=None, max_length=16)
    id: str | int | None = None
    entity_id: str | int | None = None
    attempt: int | None = None


class PipedriveDeal(BaseModel):
    """`data` of a deal event: only the id and status are read."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(ge=1, le=2**53)
    status: str | None = Field(default=None, max_length=32)


class PipedriveEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    meta: PipedriveMeta
    data: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None

    def deal(self) -> PipedriveDeal | None:
        """The deal when this is a v2 deal created or changed; None for every other event."""
        if self.meta.entity != "deal" or self.meta.action not in ("create", "change"):
            return None
        if self.data is None:
            return None
        return PipedriveDeal.model_validate(self.data)

    def becomes_won(self, deal: PipedriveDeal) -> bool:
        """The deal is won from this event on: created already won (an import, a deal added
        straight into won: `create`, `previous` null), or its status moved to won (`change`,
        `previous` holds the changed fields' old values)."""
        if deal.status != "won":
            return False
        if self.meta.action == "create":
            return True
        before = (self.previous or {}).get("status")
        return "status" in (self.previous or {}) and before != "won"


def verify_basic(user: str | None, password: str | None, headers: Mapping[str, str]) -> None:
    if not user or not password:
        raise SignatureError("no Pipedrive webhook credentials are configured on this service")
    header = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError("missing HTTP basic credentials (Authorization: Basic ...)")
    try:
        given_user, sep, given_password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SignatureError("malformed Authorization header") from None
    # both compared, always, in constant time
    ok_user = hmac.compare_digest(given_user.encode(), user.encode())
    ok_password = hmac.compare_digest(given_password.encode(), password.encode())
    if not (sep and ok_user and ok_password):
        raise SignatureError("wrong HTTP basic credentials")


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The header Pipedrive sends (for tests and local tools)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def deal_change(data: Any) -> tuple[PipedriveEvent, PipedriveDeal | None]:
    """The event, and its deal when it is a deal change (its `data` then names each bad field)."""
    event = validate(PipedriveEvent, data)
    try:
        return event, event.deal()
    except ValidationError as err:
        errors = err.errors(include_input=False, include_url=False)
        raise validation_problem([{**e, "loc": ("data", *e["loc"])} for e in errors]) from None
