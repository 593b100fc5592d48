"""Salesforce Outbound Messages: the SOAP `notifications` envelope, read and answered.

A workflow rule or flow on Opportunity sends one envelope with up to 100 `Notification`
elements, each carrying the fields the admin chose. Salesforce retries an envelope for 24
hours until it gets `<Ack>true</Ack>`, so the answer says true only once every
notification is handled: started, or (one that cannot start) kept in the records for a
human (starters/refusals.py). A redelivery lands on the same journeys and is acknowledged
again.

The body is parsed with defusedxml: a DOCTYPE (and with it every entity-expansion bomb) is
refused before anything is expanded.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.deal import DealClosed
from starters.problems import FieldError, Problem, validation_problem

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")

ACK_TRUE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
)
ACK_FALSE = ACK_TRUE.replace(b"<Ack>true</Ack>", b"<Ack>false</Ack>")


class SalesforceFields(BaseModel):
    """Which Opportunity fields say closed-won and which carry the journey's deal.

    Outbound messages carry only the Opportunity's own fields, so the account's name and
    time zone and the primary contact come from formula fields the admin adds (docs/http.md).
    Configured as JSON in SALESFORCE_FIELDS; unnamed keys keep these defaults."""

    model_config = ConfigDict(extra="forbid")

    won: str = "IsWon"
    stage: str = "StageName"
    closed_won_stages: list[str] = Field(default_factory=lambda: ["Closed Won"])
    closed_at: str = "CloseDate"
    amount: str = "Amount"
    currency: str = "CurrencyIsoCode"
    segment: str = "Onboarding_Segment__c"
    product: str = "Onboarding_Product__c"
    account_id: str = "AccountId"
    account_name: str = "Account_Name__c"
    account_timezone: str = "Account_Timezone__c"
    contact_email: str = "Primary_Contact_Email__c"
    contact_name: str = "Primary_Contact_Name__c"
    default_segment: str = "smb"
    default_currency: str = "USD"

    def says_closed_won(self, fields: dict[str, str | None]) -> bool:
        won = (fields.get(self.won) or "").strip().lower() == "true"
        return won or (fields.get(self.stage) or "").strip() in self.closed_won_stages


class SalesforceNotification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Id: str = Field(min_length=1, max_length=64)
    sObject: dict[str, str | None]


class OutboundMessage(BaseModel):
    """The `notifications` element (SessionId is dropped at parse: it is a credential)."""

    model_config = ConfigDict(extra="forbid")

    OrganizationId: str = Field(pattern=r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
    ActionId: str = Field(default="", max_length=64)
    EnterpriseUrl: str | None = Field(default=None, max_length=2048)
    PartnerUrl: str | None = Field(default=None, max_length=2048)
    Notification: list[SalesforceNotification] = Field(min_length=1, max_length=100)


def require_xml(content_type: str) -> None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in XML_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"expected Content-Type text/xml (a SOAP outbound message), got {media or 'none'!r}"[:200],
        )


def parse_envelope(body: bytes) -> dict[str, Any]:
    """The `notifications` element as plain data, or 400 naming what is wrong."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _malformed("DTDs and entity declarations are refused") from None
    except (ParseError, ValueError) as err:
        raise _malformed(f"not well-formed XML ({str(err)[:120]})") from None
    body_element = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    if body_element is None:
        raise _malformed("expected a SOAP 1.1 Envelope with a Body")
    notifications = body_element.find(f"{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise _malformed(f"the Body holds no notifications element of namespace {OUTBOUND}")
    data: dict[str, Any] = {}
    for child in notifications:
        name = _local(child.tag)
        if name == "Notification":
            data.setdefault("Notification", []).append(_notification(child))
        elif name != "SessionId":
            data[name] = _text(child)
    return data


def verify_organization(data: dict[str, Any], configured: list[str]) -> str:
    """The message's organization id, when it is one of ours (15 or 18 characters: the
    15-character form is the case-sensitive prefix of the 18-character one)."""
    if not configured:
        raise Problem(401, "unknown-organization", "Organization not accepted", "SALESFORCE_ORG_IDS is empty")
    org = data.get("OrganizationId")
    if not isinstance(org, str) or not org:
        raise Problem(401, "unknown-organization", "Organization not accepted", "OrganizationId is missing")
    if not any(hmac.compare_digest(org[:15].encode(), known[:15].encode()) for known in configured):
        raise Problem(
            401, "unknown-organization", "Organization not accepted", "OrganizationId is not in SALESFORCE_ORG_IDS"
        )
    return org


def read_message(data: dict[str, Any]) -> OutboundMessage:
    try:
        return OutboundMessage.model_validate(data)
    except ValidationError as err:
        raise validation_problem(err.errors(include_input=False, include_url=False)) from None


@dataclass(frozen=True)
class RefusedNotification:
    """A closed-won notification that cannot start a journey: its ids, the Opportunity's
    values (kept encrypted in the records, never logged) and each field in the way."""

    index: int
    notification_id: str
    opportunity_id: str | None
    values: dict[str, str | None]
    errors: list[FieldError]


@dataclass
class ClosedWon:
    """What an outbound message holds: the deals to start (one per opportunity), how many
    notifications are not closed-won, and the closed-won ones that cannot start."""

    deals: list[DealClosed]
    ignored: int
    refused: list[RefusedNotification]


def closed_won_deals(message: OutboundMessage, fields: SalesforceFields) -> ClosedWon:
    """Each notification on its own: one that cannot start (no contact email, a bad time
    zone) does not hold back the others; it is named, with every field in its way."""
    deals: dict[str, DealClosed] = {}
    refused: list[RefusedNotification] = []
    ignored = 0
    for index, notification in enumerate(message.Notification):
        values = notification.sObject
        if not fields.says_closed_won(values):
            ignored += 1
            continue
        errors = deal_errors(values, fields, prefix=f"Notification.{index}.sObject.")
        if isinstance(errors, DealClosed):
            deals.setdefault(errors.deal_id, errors)
            continue
        refused.append(RefusedNotification(index, notification.Id, values.get("Id") or None, dict(values), errors))
    return ClosedWon(list(deals.values()), ignored, refused)


def deal_errors(
    values: dict[str, str | None], fields: SalesforceFields, prefix: str = ""
) -> DealClosed | list[FieldError]:
    """The deal of an Opportunity's values, or each field (named as in SALESFORCE_FIELDS) in
    the way."""
    try:
        return to_deal(values, fields)
    except ValidationError as err:
        where = _source_fields(fields)
        errors = []
        for e in err.errors(include_input=False, include_url=False):
            loc = ".".join(str(part) for part in e["loc"])
            errors.append(FieldError(field=prefix + where.get(loc, loc), message=e["msg"], type=e["type"]))
        return errors


def to_deal(values: dict[str, str | None], f: SalesforceFields) -> DealClosed:
    email = values.get(f.contact_email)
    data: dict[str, Any] = {
        "deal_id": values.get("Id"),
        "closed_at": _close_time(values.get(f.closed_at)),
        "amount": values.get(f.amount) or 0,
        "currency": (values.get(f.currency) or f.default_currency).upper(),
        "segment": values.get(f.segment) or f.default_segment,
        "product": values.get(f.product) or "",
        "account": {
            "id": values.get(f.account_id),
            "name": values.get(f.account_name) or values.get("Name"),
            "timezone": values.get(f.account_timezone) or "UTC",
        },
        "contacts": [{"email": email, "name": values.get(f.contact_name) or "", "role": "champion"}],
    }
    return DealClosed.model_validate(data)


def _source_fields(f: SalesforceFields) -> dict[str, str]:
    # DealClosed's error locations, named as the Opportunity fields they came from
    return {
        "deal_id": "Id",
        "closed_at": f.closed_at,
        "amount": f.amount,
        "currency": f.currency,
        "segment": f.segment,
        "product": f.product,
        "account.id": f.account_id,
        "account.name": f.account_name,
        "account.timezone": f.account_timezone,
        "contacts.0.email": f.contact_email,
        "contacts.0.name": f.contact_name,
    }


def _close_time(value: str | None) -> Any:
    """CloseDate is a date; the journey wants an instant: midnight UTC of that day."""
    if not value:
        return datetime.now(UTC)
    if len(value) == 10:
        return f"{value}T00:00:00Z"
    return value


def _notification(element: Element) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if name == "sObject":
            data["sObject"] = {_local(field.tag): _text(field) for field in child}
        else:
            data[name] = _text(child)
    return data


def _text(element: Element) -> str | None:
    if element.get(XSI_NIL) == "true":
        return None
    return (element.text or "").strip()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _malformed(why: str) -> Problem:
    return Problem(400, "malformed-xml", "Malformed SOAP message", f"the body is not an outbound message: {why}")
