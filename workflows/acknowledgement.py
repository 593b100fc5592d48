"""Owner acknowledgement (since workflow v2).

After assignment the owner confirms, with the `owner_acknowledged` signal, that they own
the journey, within the playbook's `owner_acknowledgement.hours` business hours in the
owner's time zone; an owner who stays silent is replaced by the next eligible one. From v3
on the kickoff goes out at once and the acknowledgement runs beside it, unless the playbook
says `before_kickoff: true`. Pure helpers, safe inside the
workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.owners import Person
from contracts.playbook import WEEKDAYS, BusinessHours
from contracts.signals import OwnerAcknowledged
from workflows import business_hours

__all__ = ["OwnerAcknowledged", "acknowledged", "acknowledges", "deadline"]


def deadline(start: datetime, tz: str, hours: BusinessHours, amount_hours: float) -> datetime:
    """`start` plus `amount_hours` of business hours (the playbook's days and opening
    hours, in zone `tz`). Time outside business hours does not count."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    remaining = timedelta(hours=amount_hours)
    # Each business day holds at least a second, so a year of days covers any allowed amount.
    for offset in range(366):
        day = local.date() + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in hours.days:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        begin = max(opens, local) if offset == 0 else opens
        # in UTC: subtracting two times of one zone would ignore a DST change
        begin_utc, closes_utc = begin.astimezone(UTC), closes.astimezone(UTC)
        if begin_utc >= closes_utc:
            continue
        if remaining <= closes_utc - begin_utc:
            return (begin_utc + remaining).astimezone(start.tzinfo)
        remaining -= closes_utc - begin_utc
    raise ValueError("owner acknowledgement does not fit in a year of business hours; check the playbook")


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


def replaced_reason(old: Person, new: Person, hours: float) -> str:
    return f"{old.name} did not acknowledge within {hours:g} business hours; owner reassigned to {new.name}"


def kept_reason(owner: Person, hours: float) -> str:
    return f"{owner.name} did not acknowledge within {hours:g} business hours; no other eligible owner, so {owner.name} keeps it"
