"""Business time (workflows/business_hours.py): when a proactive message may go out (inside
the customer's business hours, one per business day), and when a duration written in business
time ends, across weekends, public holidays, daylight saving changes and time zones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.durations import Duration
from contracts.playbook import BusinessHours, Calendar, Milestone
from playbooks.calendars import closed_days
from workflows.acknowledgement import deadline
from workflows.business_hours import after, describe, next_send_time

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


# ------------------------------------------------------------------ durations in business time
# (workflows/business_hours.py `after`): only open hours count, in the zone of whoever the
# time is counted for, skipping the playbook calendar's closed days.

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
GERMAN_HOLIDAYS_2026 = closed_days(Calendar(country="DE"), 2026)


def berlin(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=BERLIN).astimezone(UTC)


def duration(value) -> Duration:
    return Milestone.model_validate({**MILESTONE, "window_hours": value}).window_hours


MILESTONE = {
    "key": "first",
    "title": "First",
    "action": {"title": "Do it", "instruction": "Do it.", "link": "https://example.com/a", "events": ["done"]},
    "direction": {"subject": "s", "body": "{{ cta_url }}"},
    "help": {"subject": "s", "body": "{{ cta_url }}"},
}


def test_a_number_is_calendar_hours_as_before():
    friday_3pm = berlin(2026, 11, 27, 15)
    assert after(friday_3pm, duration(48), "Europe/Berlin", HOURS) == friday_3pm + timedelta(hours=48)
    assert after(friday_3pm, duration("48 hours"), "Europe/Berlin", HOURS) == friday_3pm + timedelta(hours=48)


def test_a_friday_15_00_close_with_a_window_of_4_business_hours_ends_monday_11_00():
    # two hours on Friday (15:00-17:00), the weekend does not count, two more on Monday
    friday_3pm = berlin(2026, 11, 27, 15)
    assert after(friday_3pm, duration("4 business hours"), "Europe/Berlin", HOURS) == berlin(2026, 11, 30, 11)
    # in calendar time the same 4 hours end at 19:00 on Friday night
    assert after(friday_3pm, duration(4), "Europe/Berlin", HOURS) == berlin(2026, 11, 27, 19)


def test_a_duration_longer_than_a_year_of_opening_hours_ends_after_the_year_not_in_an_error():
    """2,000 business hours of a one-hour day are valid in a playbook (the bound counts hours)
    but need years: workflow code must not raise (a journey would fail its task forever), so
    the wait ends at the year's last closing time."""
    one_hour = BusinessHours(start=time(9), end=time(10))
    friday_3pm = berlin(2026, 11, 27, 15)
    ends = after(friday_3pm, duration("2000 business hours"), "Europe/Berlin", one_hour)
    assert ends == berlin(2027, 11, 27, 10)
    assert ends.tzinfo == friday_3pm.tzinfo


def test_business_days_are_days_of_opening_hours():
    friday_3pm = berlin(2026, 11, 27, 15)
    assert after(friday_3pm, duration("2 business days"), "Europe/Berlin", HOURS) == berlin(2026, 12, 1, 15)
    assert after(friday_3pm, duration("1 business day"), "Europe/Berlin", HOURS) == berlin(2026, 11, 30, 15)
    # a start at night counts from the next opening
    saturday = berlin(2026, 11, 28, 23)
    assert after(saturday, duration("1 business day"), "Europe/Berlin", HOURS) == berlin(2026, 11, 30, 17)


def test_a_public_holiday_is_skipped():
    # Thursday 24 Dec 15:00 in Berlin: Christmas (Fri 25) and the 26th are German holidays
    assert date(2026, 12, 25) in GERMAN_HOLIDAYS_2026 and date(2026, 12, 24) not in GERMAN_HOLIDAYS_2026
    thursday = berlin(2026, 12, 24, 15)
    ends = after(thursday, duration("4 business hours"), "Europe/Berlin", HOURS, GERMAN_HOLIDAYS_2026)
    assert ends == berlin(2026, 12, 28, 11)
    # without the calendar's closed days, Christmas Day would count
    assert after(thursday, duration("4 business hours"), "Europe/Berlin", HOURS) == berlin(2026, 12, 25, 11)
    # Easter: Good Friday and Easter Monday both closed
    maundy_thursday = berlin(2026, 4, 2, 16)
    ends = after(maundy_thursday, duration("1 business day"), "Europe/Berlin", HOURS, GERMAN_HOLIDAYS_2026)
    assert ends == berlin(2026, 4, 7, 16)


def test_a_proactive_message_waits_past_a_public_holiday():
    christmas_eve_evening = berlin(2026, 12, 24, 18)
    sent = next_send_time(christmas_eve_evening, "Europe/Berlin", HOURS, None, GERMAN_HOLIDAYS_2026)
    assert sent == berlin(2026, 12, 28, 9)


def test_a_dst_week_keeps_local_opening_hours():
    # Berlin leaves summer time on Sunday 25 Oct 2026: Friday 15:00 is 13:00 UTC, Tuesday 15:00 is 14:00 UTC
    friday_3pm = berlin(2026, 10, 23, 15)
    ends = after(friday_3pm, duration("2 business days"), "Europe/Berlin", HOURS)
    assert ends.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 27, 15)
    assert ends - friday_3pm == timedelta(hours=97)  # the night of the change is an hour longer
    # spring forward (29 Mar 2026): the same local time, an hour less in between
    spring = berlin(2026, 3, 27, 15)
    ends = after(spring, duration("2 business days"), "Europe/Berlin", HOURS)
    assert ends.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 31, 15)
    assert ends - spring == timedelta(hours=95)
    # US daylight saving starts two weeks before Europe's: New York's opening hours move, Berlin's not
    ny_friday = datetime(2026, 3, 6, 15, tzinfo=NEW_YORK).astimezone(UTC)
    ends = after(ny_friday, duration("4 business hours"), "America/New_York", HOURS)
    assert ends.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 9, 11)


def test_the_same_duration_ends_at_another_moment_in_the_owners_zone():
    # an SLA of 8 business hours from Tuesday 16:00 in Berlin (10:00 in New York)
    opened = berlin(2026, 12, 1, 16)
    in_berlin = after(opened, duration("8 business hours"), "Europe/Berlin", HOURS)
    in_new_york = after(opened, duration("8 business hours"), "America/New_York", HOURS)
    assert in_berlin == berlin(2026, 12, 2, 16)  # 1 hour Tuesday, 7 Wednesday
    assert in_new_york.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 12, 2, 10)  # 7 + 1
    # in calendar time the owner would hear at midnight
    assert after(opened, duration(8), "America/New_York", HOURS).astimezone(NEW_YORK).hour == 18


def test_the_owner_acknowledgement_skips_closed_days_too():
    thursday = berlin(2026, 12, 24, 15)
    assert deadline(thursday, "Europe/Berlin", HOURS, 4, GERMAN_HOLIDAYS_2026) == berlin(2026, 12, 28, 11)
    assert deadline(thursday, "Europe/Berlin", HOURS, 4) == berlin(2026, 12, 25, 11)  # as before, without a calendar
