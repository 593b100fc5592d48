"""HubSpot's rule for a journey: a deal moved to a closed-won stage, in either of HubSpot's
formats (the legacy `deal.propertyChange` and the developer platform's generic
`object.propertyChange` on object type 0-3). Shared by the endpoint and by a retry of a
kept delivery (starters/refusals.py)."""

from __future__ import annotations

from starters.models import HubSpotEvent

# HubSpot's object type id of deals, in the generic format's `objectTypeId`.
DEAL_OBJECT_TYPE = "0-3"


def closes_deal(event: HubSpotEvent, closed_won_stages: list[str]) -> bool:
    """A deal moved to a closed-won stage: the only HubSpot event that starts a journey."""
    deal_change = event.subscriptionType == "deal.propertyChange" or (
        event.subscriptionType == "object.propertyChange" and event.objectTypeId == DEAL_OBJECT_TYPE
    )
    return deal_change and event.propertyName == "dealstage" and event.propertyValue in closed_won_stages
