"""When a proactive message may go out (workflows/business_hours.py): inside the customer's
business hours, one per business day, across weekends and daylight saving changes."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from contracts.playbook import BusinessHours
from workflows.business_hours import describe, next_send_time

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = BusinessHours()


def tokyo(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=TOKYO).astimezone(UTC)


def test_inside_business_hours_sends_now():
    now = tokyo(2026, 11, 24, 10, 30)  # Tuesday
    assert next_send_time(now, "Asia/Tokyo", HOURS, None) == now


def test_night_waits_for_the_morning():
    # a window that ends at 03:00 in Tokyo: the message waits for 09:00 that day
    now = tokyo(2026, 11, 26, 3)  # Thursday 03:00
    assert next_send_time(now, "Asia/Tokyo", HOURS, None) == tokyo(2026, 11, 26, 9)


def test_after_hours_moves_to_next_business_day():
    friday_evening = tokyo(2026, 11, 27, 18)
    assert next_send_time(friday_evening, "Asia/Tokyo", HOURS, None) == tokyo(2026, 11, 30, 9)


def test_weekend_skipped():
    saturday_noon = tokyo(2026, 11, 28, 12)
    assert next_send_time(saturday_noon, "Asia/Tokyo", HOURS, None) == tokyo(2026, 11, 30, 9)


def test_a_day_whose_quota_is_used_is_skipped():
    now = tokyo(2026, 11, 24, 10)
    assert next_send_time(now, "Asia/Tokyo", HOURS, date(2026, 11, 24)) == tokyo(2026, 11, 25, 9)


def test_closing_time_is_exclusive():
    assert next_send_time(tokyo(2026, 11, 24, 17), "Asia/Tokyo", HOURS, None) == tokyo(2026, 11, 25, 9)


def test_custom_days_and_hours():
    hours = BusinessHours(start=time(8), end=time(12), days=["sat"])
    assert next_send_time(tokyo(2026, 11, 24, 10), "Asia/Tokyo", hours, None) == tokyo(2026, 11, 28, 8)


def test_daylight_saving_gap_in_new_york():
    # 2026-03-08: clocks jump 02:00 -> 03:00 in New York; 09:00 is still 09:00 local
    ny = ZoneInfo("America/New_York")
    sunday_night = datetime(2026, 3, 8, 23, tzinfo=ny).astimezone(UTC)
    sent = next_send_time(sunday_night, "America/New_York", HOURS, None)
    assert sent.astimezone(ny).replace(tzinfo=None) == datetime(2026, 3, 9, 9)


def test_describe_shows_local_and_utc():
    assert describe(tokyo(2026, 11, 24, 9), "Asia/Tokyo") == "Tue 24 Nov 09:00 Asia/Tokyo (Tue 00:00 UTC)"
