"""A playbook's durations in calendar or business time (contracts/durations.py) and its
calendar of public holidays (playbooks/calendars.py): a number is calendar hours as it always
was, and snapshots of such playbooks are the same JSON as before; words say business time;
a form the engine does not read is refused naming the field and the forms it reads."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.playbook import PlaybookActivities
from contracts.durations import Duration
from contracts.playbook import Calendar, PlaybookSnapshot, SnapshotRequest
from playbooks import calendars
from playbooks.loader import PlaybookError, load_all
from tests.harness.support import write_playbook


def loaded(tmp_path, change) -> PlaybookSnapshot:
    write_playbook(tmp_path, change)
    [snapshot] = load_all(tmp_path)
    return snapshot


def refused(tmp_path, change) -> str:
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def business(d):
    first = d["milestones"][0]
    first["window_hours"] = "2 business days"
    first["follow_ups"] = [{**first["follow_ups"][0], "wait_hours": "1 business day"}]
    d["milestones"][1]["window_hours"] = "96 hours"
    d["escalation"]["sla_hours"] = "8 business hours"
    d["owner_acknowledgement"] = {"hours": "2 hours"}


def test_numbers_stay_calendar_hours_and_their_snapshot_is_the_json_it_was(tmp_path):
    [shipped] = [s for s in load_all() if s.playbook.name == "default"]
    first = shipped.playbook.milestones[0]
    assert first.window_hours == Duration(amount=72) and not first.window_hours.business
    assert shipped.playbook.escalation.sla_hours == 24
    # the owner's acknowledgement was business hours as a number, and stays so
    assert shipped.playbook.acknowledgement().hours.unit == "business hours"
    dumped = json.loads(shipped.model_dump_json())
    assert dumped["playbook"]["milestones"][0]["window_hours"] == 72.0
    assert dumped["playbook"]["escalation"]["sla_hours"] == 24.0
    assert "calendar" not in dumped["playbook"] and "closed_days" not in dumped  # no calendar: no new keys


def test_words_say_calendar_or_business_time_and_read_back_as_written(tmp_path):
    snapshot = loaded(tmp_path, business)
    book = snapshot.playbook
    first = book.milestones[0]
    assert (first.window_hours.amount, first.window_hours.unit) == (2, "business days")
    assert (first.follow_ups[0].wait_hours.amount, first.follow_ups[0].wait_hours.unit) == (1, "business days")
    assert book.milestones[1].window_hours == Duration(amount=96, bare=False)  # calendar, written in words
    assert (book.escalation.sla_hours.amount, book.escalation.sla_hours.unit) == (8, "business hours")
    assert book.acknowledgement().hours.unit == "hours"  # "2 hours": calendar time, said so
    dumped = json.loads(snapshot.model_dump_json())
    assert dumped["playbook"]["milestones"][0]["window_hours"] == "2 business days"
    assert dumped["playbook"]["milestones"][0]["follow_ups"][0]["wait_hours"] == "1 business day"
    assert dumped["playbook"]["escalation"]["sla_hours"] == "8 business hours"
    assert PlaybookSnapshot.model_validate(dumped) == snapshot  # a journey decodes what it was given
    assert str(book.escalation.sla_hours) == "8 business hours" and str(first.window_hours) == "2 business days"


def test_a_form_the_engine_does_not_read_names_the_field_and_the_forms_it_reads(tmp_path):
    def odd(d):
        d["milestones"][0]["window_hours"] = "2 business weeks"
        d["escalation"]["sla_hours"] = "2 days"
        d["milestones"][1]["follow_ups"][0]["wait_hours"] = "0 business hours"
        d["owner_acknowledgement"] = {"hours": "a day"}

    message = refused(tmp_path, odd)
    assert (
        "milestones.0.window_hours: expected a number of hours like 48, or '48 hours', '16 business hours', "
        "'2 business days'; got '2 business weeks'"
    ) in message
    # "2 days" is ambiguous: the hours to write, or the business days meant
    assert (
        "escalation.sla_hours: expected a number of hours, like 48 (2 days); '2 days' is 48: write sla_hours: 48, "
        "or '2 business days' for business time"
    ) in message
    assert "milestones.1.follow_ups.0.wait_hours: Value error, 0 business hours: a duration is above 0" in message
    assert "owner_acknowledgement.hours: expected a number of hours like 48" in message


def test_a_follow_up_waits_less_than_its_window_when_both_are_in_one_unit(tmp_path):
    def longer(d):
        d["milestones"][0]["window_hours"] = "2 business days"
        d["milestones"][0]["follow_ups"][0]["wait_hours"] = "3 business days"

    message = refused(tmp_path, longer)
    assert "a follow-up waits less than the milestone window (3 business days >= 2 business days)" in message
    # calendar against business time depends on when each starts: not compared
    mixed = loaded(tmp_path / "mixed", lambda d: d["milestones"][0].update(window_hours="1 business day"))
    assert mixed.playbook.milestones[0].follow_ups[0].wait_hours == 24


def test_a_calendar_names_a_country_the_holiday_library_knows(tmp_path):
    message = refused(tmp_path / "a", lambda d: d.update(calendar={"country": "XX"}))
    assert "calendar.country: 'XX' is not a country with public holidays here: use an ISO 3166 code" in message
    message = refused(tmp_path / "b", lambda d: d.update(calendar={"country": "DE", "subdivision": "ZZ"}))
    assert "calendar.subdivision: 'ZZ' is not a subdivision of DE: one of BB, BE, BW, BY" in message
    message = refused(tmp_path / "c", lambda d: d.update(calendar={"country": "de"}))
    assert "calendar.country: String should match pattern" in message
    both = {"country": "DE", "closed": [date(2026, 12, 24)], "open": [date(2026, 12, 24)]}
    assert "2026-12-24 is both closed and open: list it once" in refused(
        tmp_path / "d", lambda d: d.update(calendar=both)
    )


def test_closed_days_are_the_countrys_holidays_with_the_playbooks_own_and_without_its_open_ones():
    calendar = loaded_calendar({"country": "DE", "closed": ["2026-12-24", "2026-12-31"], "open": ["2026-10-03"]})
    days = calendars.closed_days(calendar, 2026)
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)} <= set(days)
    assert date(2026, 10, 3) not in days  # German Unity Day, worked here
    assert date(2027, 1, 1) in days and date(2028, 12, 25) in days and date(2029, 1, 1) not in days
    assert list(days) == sorted(days)
    # a subdivision adds its own: Epiphany in Bavaria, not in Berlin
    assert date(2026, 1, 6) in calendars.closed_days(loaded_calendar({"country": "DE", "subdivision": "BY"}), 2026)
    assert date(2026, 1, 6) not in calendars.closed_days(loaded_calendar({"country": "DE", "subdivision": "BE"}), 2026)


def loaded_calendar(data) -> Calendar:
    return Calendar.model_validate(data)


async def test_the_snapshot_carries_the_closed_days_from_the_journeys_own_year(tmp_path):
    def german(d):
        d["applies_to"] = {"segments": ["*"], "products": ["*"]}
        d["calendar"] = {"country": "DE", "closed": ["2031-12-24"]}

    write_playbook(tmp_path, german)
    activities = PlaybookActivities(tmp_path)
    env = ActivityEnvironment()
    env.info = env.info.__class__(
        **{**env.info.__dict__, "current_attempt_scheduled_time": datetime(2031, 3, 1, 9).astimezone()}
    )
    snapshot = await env.run(activities.snapshot_playbook, SnapshotRequest(segment="smb", product="analytics"))
    assert date(2031, 12, 25) in snapshot.closed_days and date(2031, 12, 24) in snapshot.closed_days
    assert date(2030, 12, 25) not in snapshot.closed_days and date(2033, 12, 25) in snapshot.closed_days
    assert "closed_days" in json.loads(snapshot.model_dump_json())
    # without a calendar, nothing: the snapshot is what it was
    plain = await env.run(
        PlaybookActivities(write_playbook(tmp_path / "plain")).snapshot_playbook,
        SnapshotRequest(segment="smb", product="analytics"),
    )
    assert plain.closed_days == ()


def test_the_validation_command_lists_what_runs_in_business_time_and_the_calendar(tmp_path):
    import io

    from cli import main as onboarding
    from cli import playbooks as playbooks_cli

    def german(d):
        business(d)
        d["calendar"] = {"country": "DE", "subdivision": "BY", "closed": [date(2026, 12, 24)]}

    write_playbook(tmp_path, german)
    args = onboarding.parser().parse_args(["playbooks", "--dir", str(tmp_path)])
    out = io.StringIO()
    assert playbooks_cli.run(args, out, io.StringIO()) == 0
    assert (
        "          business time: escalation.sla_hours (8 business hours), milestones.0.window_hours "
        "(2 business days), milestones.0.follow_ups.0.wait_hours (1 business day); "
        "calendar: DE-BY public holidays, 1 closed and 0 open days of its own\n"
    ) in out.getvalue()


async def test_a_customer_in_one_of_the_calendars_countries_counts_its_holidays(tmp_path):
    """`countries: [AT]`: a customer reading `de-AT` counts without Austria's holidays (8
    December is one, not a German one), any other customer and every owner without the
    calendar's own `country`'s; the team's own closed days hold for all."""

    def two_countries(d):
        d["applies_to"] = {"segments": ["*"], "products": ["*"]}
        d["calendar"] = {"country": "DE", "countries": ["AT"], "closed": ["2031-12-31"]}

    write_playbook(tmp_path, two_countries)
    env = ActivityEnvironment()
    env.info = env.info.__class__(
        **{**env.info.__dict__, "current_attempt_scheduled_time": datetime(2031, 3, 1, 9).astimezone()}
    )
    snapshot = await env.run(
        PlaybookActivities(tmp_path).snapshot_playbook, SnapshotRequest(segment="smb", product="analytics")
    )
    austrian, german = snapshot.customer_closed_days("de-AT"), snapshot.customer_closed_days("de-DE")
    assert date(2031, 12, 8) in austrian and date(2031, 12, 8) not in german
    assert date(2031, 12, 31) in austrian and date(2031, 12, 31) in german
    assert snapshot.customer_closed_days("de") == snapshot.closed_days == german
    assert snapshot.customer_closed_days("en_AT") == austrian
    decoded = PlaybookSnapshot.model_validate_json(snapshot.model_dump_json())
    assert decoded.customer_closed_days("de-AT") == austrian
    message = refused(tmp_path / "bad", lambda d: d.update(calendar={"country": "DE", "countries": ["XX"]}))
    assert "calendar.countries: 'XX' is not a country with public holidays here" in message
    message = refused(tmp_path / "none", lambda d: d.update(calendar={"countries": ["AT"]}))
    assert "calendar.country: give the country whose holidays owners keep" in message
