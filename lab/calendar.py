"""Business time in the customer's zone, as the playbook defines it: for expectations such
as `escalated: {within: 6 business days}` and for showing local times."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.expectations import WEEKDAY_NAMES, Duration
from contracts.playbook import BusinessHours


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def shown(moment: datetime, tz: str) -> tuple[str, str]:
    """('Fri 20 Nov 17:30', 'Fri 06:30 UTC'): a moment in the customer's zone and in UTC."""
    return f"{local(moment, tz):%a %d %b %H:%M}", f"{moment.astimezone(UTC):%a %d %b %H:%M} UTC"


def in_business_hours(moment: datetime, tz: str, hours: BusinessHours, closed: Collection[date] = ()) -> bool:
    """Inside opening hours on a business day, not a closed day (a public holiday of the
    playbook's calendar, as the journey's snapshot resolved it)."""
    here = local(moment, tz)
    open_day = WEEKDAY_NAMES[here.weekday()] in hours.days and here.date() not in closed
    return open_day and hours.start <= here.time() < hours.end


def business_day(moment: datetime, tz: str) -> date:
    return local(moment, tz).date()


def deadline(
    start: datetime, duration: Duration, tz: str, hours: BusinessHours, closed: Collection[date] = ()
) -> datetime:
    """`start` plus the duration: calendar time, or business hours/days of the playbook's
    calendar (a business day is one day's opening hours; `closed` days do not count)."""
    if duration.business is None:
        return start + timedelta(seconds=duration.seconds)
    day_length = datetime.combine(date.min, hours.end) - datetime.combine(date.min, hours.start)
    remaining = day_length * duration.amount if duration.business == "days" else timedelta(hours=duration.amount)
    zone = ZoneInfo(tz)
    here = start.astimezone(zone)
    for offset in range(3700):  # ten years of days: more than any expectation needs
        day = here.date() + timedelta(days=offset)
        if WEEKDAY_NAMES[day.weekday()] not in hours.days or day in closed:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
        begin = max(opens, start.astimezone(UTC))
        if begin >= closes:
            continue
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise ValueError(f"{duration} does not fit in ten years of business hours")


def spoken(seconds: float | None) -> str:
    """3d 4h 05m; '-' for never."""
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m" if minutes else f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
