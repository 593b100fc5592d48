"""The journey explorer (lab/explore/): generated journeys walked through the real workflow on
the time-skipping server and checked against the journey's promises. The `make test` tier
walks at least 200 journeys with a fixed seed. A failing persona the explorer writes is replayed by `onboarding simulate`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.explore.persona_out import write
from lab.explore.promises import Broken
from lab.explore.run import explore
from lab.explore.scenario import SHIPPED_PLAYBOOK, Scenario, persona_yaml
from lab.explore.walk import walk_isolated
from lab.personas import Persona, PersonaFile, load_persona
from lab.simulate import plan, simulate
from owners.roster import load_roster

# The `make test` tier: every promise held, nothing tolerated.
TIER_EXAMPLES = 200
TIER_SEED = 23


def test_the_tier_keeps_every_promise_over_200_generated_journeys(tmp_path):
    began = time.monotonic()
    result = explore(TIER_EXAMPLES, TIER_SEED, load_roster(), out=tmp_path)
    seconds = time.monotonic() - began
    broken = "\n".join(map(str, result.finding.broken)) if result.finding else ""
    written = result.finding.written.text if result.finding and result.finding.written else ""
    assert result.finding is None, f"{broken}\n{written}"
    assert result.generated >= TIER_EXAMPLES, result
    assert len(result.stalled) <= TIER_EXAMPLES // 50, result.stalled  # the lab walks nearly all of them
    print(
        f"explored {result.generated} journeys in {seconds:.0f} s; tolerated {dict(result.tolerated)}; "
        f"{len(result.stalled)} stalled the lab"
    )


def _persona(**fields) -> Persona:
    return Persona.model_validate({"name": "explore-1", **fields})


def test_a_written_persona_is_what_was_walked_and_simulate_walks_it_again(tmp_path):
    """The file holds the journey exactly (schema round trip), and `onboarding simulate`'s
    planning and walk of it send what the explorer's walk sent, at the same local times."""
    persona = _persona(
        deal={"account": {"timezone": "Asia/Kathmandu"}, "closes": {"day": "fri", "at": "16:59"}, "amount": 250001},
        customer=[
            {"at": "2h", "do": "failed", "action": "dataset_uploaded", "event_id": "e1"},
            {"at": "3h", "do": "failed", "action": "dataset_uploaded", "event_id": "e1"},
            {"after": "clarify", "at": "1m", "do": "help", "message": "stuck"},
            {"at": "4d", "do": "unsubscribe"},
        ],
        staff={"resolve": "retry", "after": "5h"},
        staff_actions=[{"at": "26h", "do": "pause"}, {"at": "30h", "do": "resume"}],
        horizon="6d",
    )
    playbook = {"business_hours": {"start": "09:00", "end": "17:00", "days": ["mon", "tue"], "proactive_per_day": 2}}
    from lab.explore.scenario import base_playbook

    scenario = Scenario(persona=persona, playbook={**base_playbook(), **playbook})
    written = write(scenario, [Broken(promise=3, step="at the end", detail="example")], tmp_path)
    assert written.persona.read_text().startswith("# Found by `onboarding explore`")
    assert load_persona(written.persona).persona == persona
    assert "--playbook" in written.command and str(written.playbook) in written.command

    (walked,) = asyncio.run(walk_isolated(load_roster(), [scenario]))
    plans = plan([load_persona(written.persona)], playbook=written.playbook, all_personas=False)
    report = asyncio.run(simulate(plans, load_roster()))
    assert walked.record is not None and not walked.stuck

    def sent(touches) -> list[tuple[str, str, str]]:
        start = touches[0].at
        return [
            (t.what, t.kind, str(round((t.at - start).total_seconds() / 60)))
            for t in touches
            if t.what in ("message", "escalation")
        ]

    assert sent(report.personas[0].touches) == sent(walked.record.touches)
    assert walked.record.escalations, "the high-value kickoff goes to a human"


def _next_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


def test_a_pinned_close_date_starts_the_journey_at_that_local_moment_across_a_dst_change():
    """`closes: {date, at}` moves the lab's clock ahead to that day (here the Friday before
    the US spring-forward of 2027 or the next year's, far ahead of the real time)."""
    year = max(2027, datetime.now(UTC).year + 1)
    march_8 = date(year, 3, 8)
    second_sunday = _next_weekday(march_8 - timedelta(days=1), 6)  # US DST starts then
    friday = second_sunday - timedelta(days=2)
    persona = _persona(
        deal={"account": {"timezone": "America/Chicago"}, "closes": {"date": friday.isoformat(), "at": "16:55"}},
        horizon="4d",
    )
    (walked,) = asyncio.run(walk_isolated(load_roster(), [Scenario(persona=persona)]))
    assert walked.record is not None and not walked.stuck
    from zoneinfo import ZoneInfo

    local = walked.record.started_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.date(), local.hour, local.minute) == (friday, 16, 55)
    # the follow-up that falls due across the change goes out at 09:00 local, now CDT
    follow_ups = [t for t in walked.record.customer_messages if t.kind != "direction"]
    assert all(t.at.astimezone(ZoneInfo("America/Chicago")).hour >= 9 for t in follow_ups)


def test_a_pinned_close_date_in_the_past_is_refused_before_anything_runs():
    persona = _persona(deal={"closes": {"date": "2020-03-12", "at": "10:00"}})
    with pytest.raises(LabError, match=r"deal\.closes: 2020-03-12 10:00 .* has passed on the lab's clock"):
        plan([PersonaFile(path=Path("past.yaml"), persona=persona)], playbook=SHIPPED_PLAYBOOK, all_personas=False)


def test_a_closes_needs_exactly_one_of_day_and_date():
    with pytest.raises(ValueError, match="exactly one of day"):
        _persona(deal={"closes": {"day": "mon", "date": "2027-03-12", "at": "10:00"}})
    with pytest.raises(ValueError, match="exactly one of day"):
        _persona(deal={"closes": {"at": "10:00"}})
    assert "day: mon" in persona_yaml(_persona(deal={"closes": {"day": "mon", "at": "10:00"}}))
