"""The lab walks the second product line (tests/fixtures/payroll: English and German, its
durations in business time, closed on German public holidays and the team's days off) with
two personas pinned to the days that matter: a close the working day before the next closed
day (a public holiday, or Christmas Eve), and a close in the week the clocks change in
Berlin. The 2 business days of the first milestone's window end on the second working day
after the close, at the close's local time, whatever the holidays and the clock change; the
playbook's own personas still pass their expectations beside them.

The dates are found from the real clock (the lab's starts there), so this holds in any year.
It runs the console script as a user would (its own time-skipping server)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from playbooks import calendars
from playbooks.loader import load_playbook

ONBOARDING = Path(sys.executable).parent / "onboarding"
PAYROLL = Path(__file__).resolve().parents[1] / "fixtures" / "payroll"
BERLIN = ZoneInfo("Europe/Berlin")
CLOSE_HOUR = 16


def closed_days() -> set[date]:
    calendar = load_playbook(PAYROLL / "payroll.yaml").playbook.calendar
    assert calendar is not None
    return set(calendars.closed_days(calendar, datetime.now(UTC).year))


def working(day: date, closed: set[date]) -> bool:
    return day.weekday() < 5 and day not in closed


def working_days_after(day: date, count: int, closed: set[date]) -> date:
    while count:
        day += timedelta(days=1)
        count -= working(day, closed)
    return day


def before_the_next_closed_day(closed: set[date]) -> date:
    """The next working day (from the day after tomorrow) followed by a closed weekday."""
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    while not (working(day, closed) and day + timedelta(days=1) in closed and (day + timedelta(days=1)).weekday() < 5):
        day += timedelta(days=1)
    return day


def in_the_next_dst_week(closed: set[date]) -> date:
    """The last working day before the next Sunday Berlin's clocks change on."""
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    while (
        datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN).utcoffset()
        == (datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN) + timedelta(days=1)).utcoffset()
    ):
        day += timedelta(days=1)
    # `day` is the Saturday before the change (its noon and the Sunday's differ in offset)
    close = day - timedelta(days=1)
    while not working(close, closed):
        close -= timedelta(days=1)
    return close


def pinned(name: str, on: date) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"A Berlin customer who never acts; the deal closes {on.isoformat()} at {CLOSE_HOUR}:00.",
        "deal": {
            "product": "payroll",
            "account": {
                "id": f"PIN-{name}",
                "name": "Brot & Lohn GmbH",
                "timezone": "Europe/Berlin",
                "locale": "de-DE",
            },
            "contacts": [{"email": "anna.weber@brot.example", "name": "Anna Weber", "role": "champion"}],
            "closes": {"date": on.isoformat(), "at": f"{CLOSE_HOUR}:00"},
        },
        "owner": {"acknowledges_after": "30m"},
        "customer": "never",
        "horizon": "12d",
    }


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    closed = closed_days()
    holiday_eve, dst_week = before_the_next_closed_day(closed), in_the_next_dst_week(closed)
    directory = tmp_path_factory.mktemp("business-time") / "playbooks"
    directory.mkdir()
    shutil.copy(PAYROLL / "payroll.yaml", directory)
    personas = directory / "personas" / "payroll"
    shutil.copytree(PAYROLL / "personas" / "payroll", personas)
    for name, on in (("holiday-eve", holiday_eve), ("dst-week", dst_week)):
        (personas / f"{name}.yaml").write_text(yaml.safe_dump(pinned(name, on), sort_keys=False, allow_unicode=True))
    command = [str(ONBOARDING), "simulate", "--check", "--json", "--playbook", str(directory / "payroll.yaml")]
    command += ["--playbooks", str(directory), "--roster", str(PAYROLL / "owners.yaml")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    walks = {w["persona"]: w for w in json.loads(run.stdout)["personas"]}
    return {"walks": walks, "closed": closed, "holiday-eve": holiday_eve, "dst-week": dst_week}


def sent(walk: dict[str, Any], kind: str) -> datetime:
    [moment] = [
        datetime.fromisoformat(t["at"]).astimezone(BERLIN)
        for t in walk["touches"]
        if t["what"] == "message" and t["lane"] == "customer" and t["kind"] == kind
    ]
    return moment


@pytest.mark.parametrize("persona", ["holiday-eve", "dst-week"])
def test_the_window_of_2_business_days_ends_on_the_second_working_day_at_the_close_time(walked, persona):
    walk, closes, closed = walked["walks"][persona], walked[persona], walked["closed"]
    direction, clarify = sent(walk, "direction"), sent(walk, "clarify")
    assert (direction.date(), direction.hour, direction.minute) == (closes, CLOSE_HOUR, 0)
    due = working_days_after(closes, 2, closed)
    assert (clarify.date(), clarify.hour, clarify.minute) == (due, CLOSE_HOUR, 0), walk["touches"]
    # ... and the follow-up's one business day after it
    escalated = [
        datetime.fromisoformat(t["at"]).astimezone(BERLIN) for t in walk["touches"] if t["what"] == "escalation"
    ]
    assert escalated and escalated[0].date() == working_days_after(due, 1, closed)
    assert not any(datetime.fromisoformat(t["at"]).astimezone(BERLIN).date() in closed for t in walk["touches"])


def test_the_holiday_walk_skips_a_closed_weekday(walked):
    closes = walked["holiday-eve"]
    assert closes + timedelta(days=1) in walked["closed"]
    assert working_days_after(closes, 2, walked["closed"]) > closes + timedelta(days=2)


def test_the_dst_walk_crosses_the_clock_change(walked):
    walk = walked["walks"]["dst-week"]
    assert sent(walk, "direction").utcoffset() != sent(walk, "clarify").utcoffset()


def test_the_playbooks_own_personas_keep_their_expectations(walked):
    walks = walked["walks"]
    assert {"fast-payer", "german-payer", "silent-payroll"} <= set(walks)
    verdicts = [v for name in ("fast-payer", "german-payer", "silent-payroll") for v in walks[name]["verdicts"]]
    assert verdicts and all(v["held"] for v in verdicts)
