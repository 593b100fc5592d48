"""Durations in business time on the real journey (time-skipping server, effects in memory,
lab/fakes.py): a window of 4 business hours from a Friday 15:00 close ends Monday 11:00, not
on Friday night; a follow-up's `1 business day` waits a day of opening hours; an escalation's
SLA of 8 business hours is counted in the owner's zone and reaches the next level inside the
owner's business hours; a public holiday of the playbook's country is skipped. Every date is
found from the test server's clock (these tests hold in any year), and each history replays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest_asyncio
import yaml
from temporalio.testing import WorkflowEnvironment

from contracts.playbook import WEEKDAYS
from lab.fakes import FakeEffects as Effects
from owners.roster import load_roster
from playbooks import calendars
from playbooks.loader import load_playbook
from tests.conftest import ts_env as shared_ts_env
from tests.harness.support import (
    advance_until,
    close_and_replay,
    make_deal,
    start_journey,
    status,
    wait_for_status,
    write_playbook,
)
from workflows.business_hours import after

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
FRIDAY = 4
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest_asyncio.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own, its clock at today's date: the suite's
    shared one has skipped decades ahead by the time these run, and the holiday calendars
    know public holidays only up to about 2100."""
    async for env in shared_ts_env.__wrapped__():  # type: ignore[attr-defined]
        yield env


def in_business_time(d: dict[str, Any]) -> None:
    """The default playbook (09:00-17:00 Monday to Friday, one proactive message a day) with
    its first milestone's window and follow-ups, and the escalation SLA, in business time."""
    first = d["milestones"][0]
    first["window_hours"] = "4 business hours"
    for follow_up in first["follow_ups"]:
        follow_up["wait_hours"] = "1 business day"
    d["escalation"]["sla_hours"] = "8 business hours"


def german(d: dict[str, Any]) -> None:
    in_business_time(d)
    d["calendar"] = {"country": "DE"}


def berlin_deal():
    return make_deal(account={"timezone": "Europe/Berlin", "locale": "de-DE"})


def maya_owns_every_deal() -> Effects:
    """The fake world with the shipped roster, Leo serving only enterprise: Maya (New York)
    owns the journey, Leo (Lisbon) is her backup."""
    roster = load_roster()
    owners = [o.model_copy(update={"segments": ["enterprise"]}) if o.id == "leo" else o for o in roster.owners]
    return Effects(roster=roster.model_copy(update={"owners": owners}))


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    assert moment > now, (moment, now)
    await env.sleep(moment.astimezone(UTC) - now.astimezone(UTC))


def at_local(day: date, hour: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def kinds(effects: Effects) -> list[str]:
    return [k for k, _ in effects.touches]


def assert_touches(effects: Effects, expected: list[tuple[str, datetime]]) -> None:
    """In this order, each within a minute after its time (a timer fires on its minute)."""
    actual = effects.touches
    assert kinds(effects) == [k for k, _ in expected], actual
    late = [a - e for (_, a), (_, e) in zip(actual, expected, strict=True)]
    assert all(timedelta(0) <= d < MINUTE for d in late), (actual, expected)


async def until_sent(env: WorkflowEnvironment, handle, effects: Effects, kind: str, limit: timedelta) -> None:
    await advance_until(env, handle, lambda _: kind in kinds(effects), step=HOUR, limit=limit)


async def test_a_friday_close_hears_again_monday_and_the_sla_ends_in_the_owners_hours(ts_env, tmp_path, journeys):
    """Closed Friday 15:00 in Berlin: the direction at once; its 4 business hours end Monday
    11:00 (2 on Friday, 2 on Monday), when the clarify goes out; each follow-up waits one
    business day; after the redirect the owner (Maya, New York) gets the escalation Thursday
    11:00 Berlin (05:00 in New York) and its 8 business hours run 09:00-17:00 New York time,
    so the backup hears Thursday 17:00 New York, not at 19:00 Berlin time on Thursday as 8
    calendar hours would have it."""
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", in_business_time)
    world = maya_owns_every_deal()
    async with journeys(client, effects="fake", playbooks=playbooks, fake=world) as (queue, effects):
        now = (await ts_env.get_current_time()).astimezone(BERLIN)
        friday = now.date() + timedelta(days=(FRIDAY - now.weekday()) % 7 or 7)
        await skip_to(ts_env, at_local(friday, 15))
        handle = await start_journey(client, queue, berlin_deal())
        await until_sent(ts_env, handle, effects, "escalation 1", timedelta(days=8))
        assert (await status(handle)).owner == "maya"
        monday = friday + timedelta(days=3)
        thursday = monday + timedelta(days=3)
        escalated = await status(handle)
        sla_ends = at_local(thursday, 17, NEW_YORK)
        assert escalated.next_action is not None and escalated.next_action.due_at == sla_ends.astimezone(UTC)
        await until_sent(ts_env, handle, effects, "escalation 2", timedelta(days=2))
        assert_touches(
            effects,
            [
                ("direction", at_local(friday, 15)),
                ("clarify", at_local(monday, 11)),  # 4 business hours; in calendar hours: Monday 09:00
                ("simplify", at_local(monday + timedelta(days=1), 11)),  # one business day later
                ("redirect", at_local(monday + timedelta(days=2), 11)),
                ("escalation 1", at_local(thursday, 11)),
                ("escalation 2", sla_ends),  # the owner's business hours, in the owner's zone
            ],
        )
        await close_and_replay(handle)


def next_holiday_after_a_working_day(after: date, country: str = "DE", only_there: str = "") -> tuple[date, date, date]:
    """The first public holiday of `country` after `after` on a weekday whose day before is a
    working day there (and, with `only_there`, a working day in that other country): (the
    day before, the holiday, the next working day after it)."""
    years = range(after.year, after.year + 3)
    closed = holidays.country_holidays(country, years=years)
    elsewhere = holidays.country_holidays(only_there, years=years) if only_there else {}

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in closed

    def wanted(day: date) -> bool:
        return day in closed and day.weekday() < 5 and working(day - timedelta(days=1)) and day not in elsewhere

    day = after + timedelta(days=2)
    while not wanted(day):
        day += timedelta(days=1)
    following = day + timedelta(days=1)
    while not working(following):
        following += timedelta(days=1)
    return day - timedelta(days=1), day, following


async def test_a_public_holiday_of_the_playbooks_country_does_not_count(ts_env, tmp_path, journeys):
    """`calendar: {country: DE}`: closed at 15:00 the working day before a German public
    holiday, the 4 business hours run 2 that day and 2 on the next working day after the
    holiday (the snapshot resolved the holidays of the journey's own year, from the server's
    clock); with the holiday counted the clarify would go out on the holiday itself."""
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", german)
    async with journeys(client, effects="fake", playbooks=playbooks) as (queue, effects):
        now = (await ts_env.get_current_time()).astimezone(BERLIN)
        before, holiday, after = next_holiday_after_a_working_day(now.date())
        await skip_to(ts_env, at_local(before, 15))
        handle = await start_journey(client, queue, berlin_deal())
        await until_sent(ts_env, handle, effects, "clarify", timedelta(days=6))
        assert_touches(effects, [("direction", at_local(before, 15)), ("clarify", at_local(after, 11))])
        assert holiday not in {t.astimezone(BERLIN).date() for _, t in effects.touches}
        await close_and_replay(handle)


def austrian(d: dict[str, Any]) -> None:
    german(d)
    d["calendar"]["countries"] = ["AT"]


async def test_a_customer_in_another_of_the_calendars_countries_counts_its_holidays(ts_env, tmp_path, journeys):
    """`calendar: {country: DE, countries: [AT]}` and a customer reading `de-AT` in Vienna:
    closed at 15:00 the working day before an Austrian public holiday that is a working day
    in Germany, the 4 business hours skip it (Austria's calendar), as the German one would
    not."""
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", austrian)
    vienna = ZoneInfo("Europe/Vienna")
    async with journeys(client, effects="fake", playbooks=playbooks) as (queue, effects):
        now = (await ts_env.get_current_time()).astimezone(vienna)
        before, holiday, after = next_holiday_after_a_working_day(now.date(), "AT", only_there="DE")
        await skip_to(ts_env, at_local(before, 15, vienna))
        deal = make_deal(account={"timezone": "Europe/Vienna", "locale": "de-AT"})
        handle = await start_journey(client, queue, deal)
        await until_sent(ts_env, handle, effects, "clarify", timedelta(days=6))
        assert_touches(effects, [("direction", at_local(before, 15, vienna)), ("clarify", at_local(after, 11, vienna))])
        assert holiday.weekday() < 5 and holiday not in holidays.country_holidays("DE", years=holiday.year)
        await close_and_replay(handle)


PAYROLL = Path(__file__).resolve().parents[1] / "fixtures" / "payroll" / "payroll.yaml"


async def test_on_the_dev_server_the_real_worker_skips_the_calendars_closed_days(dev_env, tmp_path, journeys):
    """The real stack: the dev server on the real clock, the worker's own activities. The
    payroll playbook (business time, German holidays) with its opening hours around the clock
    and the next two days closed: the kickoff goes out at once, and its window of 2 business
    days ends 2 open days later, the 2 closed days (and any German holiday) not counted. The
    snapshot the worker took carries the closed days of the server's year."""
    today = datetime.now(BERLIN).date()
    closed = [today + timedelta(days=1), today + timedelta(days=2)]
    data = yaml.safe_load(PAYROLL.read_text())
    data["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": list(WEEKDAYS), "proactive_per_day": 10}
    data["calendar"]["closed"] = closed
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "payroll.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    client = dev_env.client
    async with journeys(client, playbooks=directory) as task_queue:
        handle = await start_journey(
            client, task_queue, make_deal(product="payroll", account={"timezone": "Europe/Berlin"})
        )
        told = await wait_for_status(handle, lambda s: s.waiting_on == "customer" and s.next_action is not None)
        [direction] = [e.at for e in told.timeline if e.event == "sent direction"]
        assert told.next_action is not None and told.next_action.due_at is not None
        due = told.next_action.due_at
        snapshot = load_playbook(directory / "payroll.yaml")
        assert snapshot.playbook.calendar is not None
        days = calendars.closed_days(snapshot.playbook.calendar, direction.year)
        assert set(closed) <= set(days) and date(direction.year, 12, 25) in days
        expected = after(
            direction,
            snapshot.playbook.milestones[0].window_hours,
            "Europe/Berlin",
            snapshot.playbook.business_hours,
            days,
        )
        assert due == expected
        assert due - direction >= timedelta(days=4) - timedelta(seconds=10)  # 2 open days and the 2 closed ones
        await handle.signal("cancel", {"reason": "test over"})
        await handle.result()


def test_the_holiday_helper_finds_a_holiday_between_two_working_days():
    before, holiday, after = next_holiday_after_a_working_day(date(2026, 12, 7))
    assert (before, holiday, after) == (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28))
