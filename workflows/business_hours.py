"""When a proactive customer message may go out: inside the customer's business hours, and
at most one per customer per business day. Pure functions, safe inside the workflow."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.playbook import WEEKDAYS, BusinessHours


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def next_send_time(now: datetime, tz: str, hours: BusinessHours, full_day: date | None) -> datetime:
    """The earliest moment at or after `now` inside business hours on a business day other
    than `full_day` (the day whose proactive quota is used up). Same zone as `now`."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for offset in range(15):  # two weeks covers any valid set of business days
        day = local.date() + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in hours.days or day == full_day:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        candidate = max(opens, local) if offset == 0 else opens
        if candidate < closes:
            return candidate.astimezone(now.tzinfo)
    raise ValueError("no business day in the next two weeks; check business_hours.days")


def describe(moment: datetime, tz: str) -> str:
    """'Tue 09:00 Asia/Tokyo (00:00 UTC)': how staff and timer summaries show a time."""
    local = moment.astimezone(ZoneInfo(tz))
    utc = moment.astimezone(ZoneInfo("UTC"))
    return f"{local:%a %d %b %H:%M} {tz} ({utc:%a %H:%M} UTC)"
