"""The journey's signals (DESIGN.md section 4): what the product, the CRM, the owner and the
customer tell a running journey. The signal names are the handlers' names in
workflows/handlers.py; a signal that cannot be used is refused visibly, never by failing."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.deal import Crm
from contracts.strict import Strict


class DealInCrm(Strict):
    crm: Crm


class ActionTaken(Strict):
    action: str = Field(min_length=1, max_length=128)
    event_id: str = Field(min_length=1, max_length=256)
    occurred_at: datetime | None = None
    source: str = Field(default="product", max_length=64)


class ActionFailed(Strict):
    action: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)
    event_id: str = Field(min_length=1, max_length=256)


class HelpRequested(Strict):
    message: str = Field(default="", max_length=2000)
    event_id: str = Field(min_length=1, max_length=256)


class Cancel(Strict):
    reason: str = Field(default="deal lost", max_length=1000)


class OwnerAcknowledged(Strict):
    """Signal `owner_acknowledged`: the owner confirms they own the journey."""

    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)


class Unsubscribed(Strict):
    """The contact used the one-click unsubscribe link of a journey email (RFC 8058): no
    customer email goes out any more; the owner becomes the only touchpoint. Sent by the HTTP
    service (POST /unsubscribe/<token>); `contact_hash` is privacy.contacts.contact_hash."""

    contact_hash: str = Field(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")
    at: datetime
