"""Bodies the HTTP starters accept and answer (the deal body is contracts.deal.DealClosed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from contracts.signals import ActionFailed, ActionTaken, HelpRequested
from starters.problems import FieldError


class ProductEvent(BaseModel):
    """A product event. `account_id` may stand in for `deal_id` (deal_id wins when both)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=256)
    type: Literal["taken", "failed", "help"]
    deal_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    # validate_default: the "required when" checks below must also run when these are absent
    account_id: str | None = Field(default=None, min_length=1, max_length=128, validate_default=True)
    action: str | None = Field(default=None, min_length=1, max_length=128, validate_default=True)
    occurred_at: datetime | None = None
    reason: str = Field(default="", max_length=1000, description="for type=failed")
    message: str = Field(default="", max_length=2000, description="for type=help")
    source: str = Field(default="product", max_length=64)

    @field_validator("account_id")
    @classmethod
    def _who(cls, value: str | None, info: ValidationInfo) -> str | None:
        # An invalid deal_id is absent from info.data too, hence the wording.
        if value is None and info.data.get("deal_id") is None:
            raise ValueError("required unless a valid deal_id is given")
        return value

    @field_validator("action")
    @classmethod
    def _what(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if value is None and kind in ("taken", "failed"):
            raise ValueError(f"required when type is '{kind}'")
        return value

    def signal(self) -> tuple[str, BaseModel]:
        """The journey signal this event becomes; event_id travels along for de-duplication."""
        if self.type == "taken":
            assert self.action is not None
            return "action_taken", ActionTaken(
                action=self.action, event_id=self.event_id, occurred_at=self.occurred_at, source=self.source
            )
        if self.type == "failed":
            assert self.action is not None
            return "action_failed", ActionFailed(action=self.action, reason=self.reason, event_id=self.event_id)
        return "help_requested", HelpRequested(message=self.message, event_id=self.event_id)


class HubSpotEvent(BaseModel):
    """One entry of HubSpot's webhook array; fields this service does not use are kept."""

    model_config = ConfigDict(extra="allow")

    objectId: int = Field(ge=1)
    subscriptionType: str = Field(min_length=1, max_length=128)
    # The generic format (`object.propertyChange`) names the object's type here: "0-3" = deal.
    objectTypeId: str | None = Field(default=None, max_length=64)
    propertyName: str | None = Field(default=None, max_length=256)
    propertyValue: str | None = Field(default=None, max_length=1024)
    eventId: int | None = None
    occurredAt: int | None = None


HubSpotBatch = TypeAdapter(Annotated[list[HubSpotEvent], Field(min_length=1, max_length=1000)])


class DealAccepted(BaseModel):
    workflow_id: str
    created: bool = Field(description="true only when this delivery created the journey")


class HubSpotStart(BaseModel):
    workflow_id: str
    created: bool


class HubSpotAccepted(BaseModel):
    journeys: list[HubSpotStart]
    ignored: int = Field(description="events acknowledged but not a closed-won deal stage change")


class PipedriveAccepted(BaseModel):
    journeys: list[HubSpotStart] = Field(description="the journey a deal that became won starts (at most one)")
    ignored: int = Field(description="1 when the event is not a deal becoming won")


class EventDeliveryOut(BaseModel):
    workflow_id: str
    outcome: Literal["signalled", "created_waiting_for_deal", "journey_closed"]


DUPLICATE = "true: the same event id reached this journey before; this is that delivery's answer, nothing was signalled"


class EventAccepted(BaseModel):
    event_id: str
    signal: str
    deliveries: list[EventDeliveryOut]
    duplicate: bool | None = Field(default=None, description=DUPLICATE)


class Health(BaseModel):
    """What `/healthz` found: `degraded` names the dependency that is down."""

    status: Literal["ok", "degraded"]
    temporal: str = Field(description="`reachable`, or why not")
    records: str = Field(description="`reachable`, or why not (the records database: docs/records.md)")
    down: list[Literal["temporal", "records"]] = Field(default_factory=list, description="the dependencies down")


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class SegmentEventAccepted(BaseModel):
    message_id: str
    signal: str
    deliveries: list[EventDeliveryOut]
    duplicate: bool | None = Field(default=None, description=DUPLICATE)


class SegmentAccepted(BaseModel):
    accepted: list[SegmentEventAccepted]
    ignored: int = Field(description="calls acknowledged but not mapped (other events, non-track calls)")


class SegmentCallRejected(BaseModel):
    index: int = Field(description="the call's position in the batch")
    message_id: str | None
    errors: list[FieldError] = Field(description="each Segment field in the way, by name and reason")


class SegmentBatchAccepted(BaseModel):
    queued: int = Field(description="mapped calls queued for delivery to their journeys")
    ignored: int = Field(description="calls acknowledged but not mapped (other events, non-track calls)")
    rejected: list[SegmentCallRejected] = Field(description="calls that cannot be used; the others are queued")
    intake: list[str] = Field(description="the workflow(s) delivering the queued calls (one per part of the batch)")
