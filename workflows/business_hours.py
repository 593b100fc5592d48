"""Business time: when a proactive customer message may go out (inside the customer's
business hours, at most one per customer per business day), and when a duration written in
business time ends (`48 business hours`, `2 business days`: only open hours count, in the
zone of the customer or the owner it is counted for, skipping the playbook calendar's closed
days). Pure functions over plain dates, safe inside the workflow: the closed days come
resolved in the journey's playbook snapshot (playbooks/calendars.py)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.durations import Duration
from contracts.playbook import WEEKDAYS, BusinessHours


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def is_open(day: date, hours: BusinessHours, closed: Collection[date] = ()) -> bool:
    """Whether `day` is a business day: one of the playbook's days, not a closed day."""
    return WEEKDAYS[day.weekday()] in hours.days and day not in closed


def next_send_time(
    now: datetime, tz: str, hours: BusinessHours, full_day: date | None, closed: Collection[date] = ()
) -> datetime:
    """The earliest moment at or after `now` inside business hours on a business day other
    than `full_day` (the day whose proactive quota is used up) and the `closed` days (public
    holidays). Same zone as `now`."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    # two weeks cover any valid set of business days; closed days add to them
    for offset in range(15 + len(closed)):
        day = local.date() + timedelta(days=offset)
        if not is_open(day, hours, closed) or day == full_day:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        candidate = max(opens, local) if offset == 0 else opens
        if candidate < closes:
            return candidate.astimezone(now.tzinfo)
    raise ValueError("no business day in the next two weeks; check business_hours.days")


def after(
    start: datetime, duration: Duration, tz: str, hours: BusinessHours, closed: Collection[date] = ()
) -> datetime:
    """`start` plus `duration`: calendar hours as they pass, or business hours or days of the
    calendar (zone `tz`, the playbook's days and opening hours, not the `closed` days; a
    business day is one day's opening hours). Same zone as `start`."""
    if not duration.business:
        return start + timedelta(hours=duration.amount)
    if duration.unit == "business days":
        day = datetime.combine(date.min, hours.end) - datetime.combine(date.min, hours.start)
        return open_time_after(start, day * duration.amount, tz, hours, closed)
    return open_time_after(start, timedelta(hours=duration.amount), tz, hours, closed)


def open_time_after(
    start: datetime, span: timedelta, tz: str, hours: BusinessHours, closed: Collection[date] = ()
) -> datetime:
    """The moment `span` of open time has passed since `start`; time outside business hours
    and on closed days does not count. Ends at a closing time rather than the next opening
    when the span runs out exactly then. Same zone as `start`."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    remaining = span
    # A year of days (and the closed ones) covers any duration a playbook allows with opening
    # hours of a usual length. One that does not fit (2,000 business hours of a one-hour day)
    # ends when the year is scanned: a journey waits a year, it never fails its workflow task.
    horizon = 366 + len(closed)
    for offset in range(horizon):
        day = local.date() + timedelta(days=offset)
        if not is_open(day, hours, closed):
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
    last_day = local.date() + timedelta(days=horizon - 1)
    return datetime.combine(last_day, hours.end, tzinfo=zone).astimezone(start.tzinfo)


def describe(moment: datetime, tz: str) -> str:
    """'Tue 09:00 Asia/Tokyo (00:00 UTC)': how staff and timer summaries show a time."""
    local = moment.astimezone(ZoneInfo(tz))
    utc = moment.astimezone(ZoneInfo("UTC"))
    return f"{local:%a %d %b %H:%M} {tz} ({utc:%a %H:%M} UTC)"
