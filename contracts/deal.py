"""The deal, as a CRM describes it: what a journey starts from, whichever way it arrives
(the deal-closed webhook, a CRM's own webhook, the journey reading it from the CRM)."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import EmailStr, Field, field_validator

from contracts import crms
from contracts.strict import Carried, Strict


class Account(Strict):
    id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=256)
    timezone: str = "UTC"
    locale: str = "en-US"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as err:  # ZoneInfoNotFoundError, ValueError on odd keys
            raise ValueError(f"unknown IANA time zone {value!r}") from err
        return value


class Contact(Strict):
    email: EmailStr
    name: str = Field(default="", max_length=256)
    role: str = Field(default="", max_length=64)
    # The contact's own locale (`de-DE`); empty: the account's. Picks the messages' language.
    locale: str = Field(default="", max_length=35)
    # For the formal greeting (`{{ salutation }}`, docs/playbooks.md): "Frau", "Herr", "Ms",
    # "Dr." as the CRM holds it, and the family name (empty: the last word of `name`).
    form_of_address: str = Field(default="", max_length=32)
    family_name: str = Field(default="", max_length=128)


class DealClosed(Strict):
    """A closed-won deal: the generic webhook body, or what the CRM activity fetched."""

    deal_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    closed_at: datetime
    amount: float = Field(ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    segment: str = Field(default="smb", min_length=1, max_length=64)
    product: str = Field(default="", max_length=64)
    account: Account
    contacts: list[Contact] = Field(min_length=1)

    @field_validator("closed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("closed_at needs a time zone offset, e.g. 2026-11-20T15:04:05Z")
        return value

    @property
    def champion(self) -> Contact:
        """The contact who receives the customer messages: the champion, else the first."""
        return next((c for c in self.contacts if c.role == "champion"), self.contacts[0])

    @property
    def reader_locale(self) -> str:
        """The locale the customer reads in: the champion's own, else the account's."""
        return self.champion.locale or self.account.locale


# CRMs the journey reads a deal from (the registry's CRMs with a `fetch`, contracts/crms.py): the
# activity `fetch_<crm>_deal` (workflows/effects.py). The values are in histories: never renamed.
Crm = crms.Crm


class FetchDeal(Carried):
    """What `fetch_<crm>_deal` is asked: the CRM's id of the deal."""

    deal_id: str


# The sample deal: the deal-closed body of DESIGN.md section 4, in one file. The demo, the lab,
# the history recorder, the benchmarks and the tests start from it, changing what they need.
SAMPLE_DEAL_FILE = Path(__file__).resolve().parent.parent / "examples" / "deal-closed.json"


@functools.cache
def _sample_text() -> str:
    return SAMPLE_DEAL_FILE.read_text()


def sample_deal_body(**changes: Any) -> dict[str, Any]:
    """The sample deal-closed body (examples/deal-closed.json), a fresh copy, with `changes`
    applied; `account` changes are merged into the sample's account."""
    body: dict[str, Any] = json.loads(_sample_text())
    account = changes.pop("account", None)
    if account:
        body["account"].update(account)
    body.update(changes)
    return body
