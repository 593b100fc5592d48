"""Owner acknowledgement (since workflow v2).

After assignment the owner confirms, with the `owner_acknowledged` signal, that they own
the journey, within the playbook's `owner_acknowledgement.hours` business hours in the
owner's time zone; an owner who stays silent is replaced by the next eligible one. From v3
on the kickoff goes out at once and the acknowledgement runs beside it, unless the playbook
says `before_kickoff: true`. Pure helpers, safe inside the
workflow."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from contracts.durations import Duration, in_business_hours
from contracts.owners import Person
from contracts.playbook import BusinessHours
from contracts.signals import OwnerAcknowledged
from workflows import business_hours

__all__ = ["OwnerAcknowledged", "acknowledged", "acknowledges", "deadline"]


def deadline(
    start: datetime, tz: str, hours: BusinessHours, duration: Duration | float, closed: Collection[date] = ()
) -> datetime:
    """`start` plus the acknowledgement's time in the owner's calendar: a plain number is
    business hours (the playbook's days and opening hours, in zone `tz`, not the `closed`
    days); "8 hours" is calendar time."""
    if not isinstance(duration, Duration):
        duration = in_business_hours(duration)
    return business_hours.after(start, duration, tz, hours, closed)


def acknowledges(by: str, owner: Person) -> bool:
    """Only the owner can acknowledge, by id or email (a UI user types either)."""
    return by.casefold() in (owner.id.casefold(), owner.email.casefold())


def acknowledged(by: list[str], owner: Person) -> bool:
    """Whether any of the acknowledgements received so far is the owner's."""
    return any(acknowledges(who, owner) for who in by)


def waiting_reason(owner: Person, until: datetime) -> str:
    return (
        f"waiting for owner acknowledgement: {owner.name} ({owner.id}) has until "
        f"{business_hours.describe(until, owner.timezone)}; the kickoff goes out after it"
    )


def _spoken(duration: Duration) -> str:
    # a plain number read "4 business hours" in every timeline before words existed
    return f"{duration.amount:g} business hours" if duration.bare else duration.text


def replaced_reason(old: Person, new: Person, hours: Duration) -> str:
    return f"{old.name} did not acknowledge within {_spoken(hours)}; owner reassigned to {new.name}"


def kept_reason(owner: Person, hours: Duration) -> str:
    return (
        f"{owner.name} did not acknowledge within {_spoken(hours)}; no other eligible owner, so {owner.name} keeps it"
    )
