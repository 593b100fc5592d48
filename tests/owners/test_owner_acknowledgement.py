"""Workflow v2 (patch `owner-acknowledgement`): the owner acknowledges before the kickoff, a
silent owner is replaced (time-skipping server). v1 is retired: no journey starts on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.playbook import BusinessHours
from contracts.signals import Cancel, OwnerAcknowledged
from contracts.status import OnboardingState
from owners.roster import load_roster
from tests.harness.support import (
    MINUTE,
    advance_until,
    assert_replays,
    make_deal,
    move_to_next_monday,
    sent,
    start_journey,
    status,
    told,
    write_playbook,
)
from workflows import acknowledgement, versions
from workflows.onboarding import OnboardingWorkflow

LISBON = ZoneInfo("Europe/Lisbon")  # leo's zone: the owner's business hours count


def ack_hours(hours: float):
    def change(playbook):
        playbook["owner_acknowledgement"] = {"hours": hours, "before_kickoff": True}

    return change


def waiting(s):
    return s.reason.startswith("waiting for owner acknowledgement")


async def has_patch_marker(handle, patch: str = versions.V3) -> bool:
    history = await handle.fetch_history()
    return any(
        e.HasField("marker_recorded_event_attributes") and patch.encode() in e.SerializeToString()
        for e in history.events
    )


def test_deadline_counts_business_hours_in_the_owner_zone():
    hours = BusinessHours()  # 09:00-17:00, Monday to Friday
    friday_3pm = datetime(2026, 11, 27, 15, 0, tzinfo=LISBON)
    assert acknowledgement.deadline(friday_3pm, "Europe/Lisbon", hours, 4) == datetime(
        2026, 11, 30, 11, 0, tzinfo=LISBON
    )
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=LISBON)
    assert acknowledgement.deadline(saturday, "Europe/Lisbon", hours, 4) == datetime(2026, 11, 30, 13, 0, tzinfo=LISBON)
    # 2 business days of 8 hours from Tuesday 16:00 New York: Thursday 16:00
    ny = ZoneInfo("America/New_York")
    assert acknowledgement.deadline(datetime(2026, 12, 1, 16, 0, tzinfo=ny), "America/New_York", hours, 16) == datetime(
        2026, 12, 3, 16, 0, tzinfo=ny
    )


async def test_new_journey_waits_for_the_owner_then_kicks_off(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", ack_hours(4))
    async with journeys(client, playbooks=playbooks) as task_queue:
        await move_to_next_monday(ts_env, hour=10, tz="Europe/Lisbon")
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Europe/Lisbon"}))
        waits = await advance_until(ts_env, handle, waiting, step=MINUTE)
        assert waits.state is OnboardingState.awaiting_action and waits.owner == "leo"
        assert "Leo Martins (leo) has until Mon" in waits.reason and "14:00 Europe/Lisbon" in waits.reason
        assert not sent(waits)

        await handle.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by="maya"))  # not the owner
        await ts_env.sleep(timedelta(hours=1))
        still = await status(handle)
        assert waiting(still) and not sent(still)

        await handle.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by="Leo.Martins@vendor.example"))
        kicked = await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        assert kicked.owner == "leo"
        acked_at = next(e.at for e in kicked.timeline if e.event == "owner acknowledged" and e.detail.startswith("Leo"))
        assert timedelta(0) <= sent(kicked)[0] - acked_at < MINUTE  # at once, inside business hours
        assert any(e.detail == "owner Leo Martins acknowledged" for e in kicked.timeline)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
        assert await has_patch_marker(handle)
        await assert_replays(handle)


async def test_silent_owner_is_replaced_and_the_kickoff_goes_out(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", ack_hours(4))
    async with journeys(client, playbooks=playbooks) as task_queue:
        # Friday 15:00 Lisbon: two business hours today, two on Monday
        monday = await move_to_next_monday(ts_env, hour=15, tz="Europe/Lisbon")
        await ts_env.sleep(timedelta(days=4))
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Europe/Lisbon"}))
        await advance_until(ts_env, handle, waiting, step=MINUTE)
        kicked = await advance_until(
            ts_env, handle, told("first_action"), step=timedelta(minutes=30), limit=timedelta(days=5)
        )
        assert kicked.owner == "maya"
        replaced = next(e for e in kicked.timeline if "did not acknowledge" in e.detail)
        assert (
            replaced.detail == "Leo Martins did not acknowledge within 4 business hours; owner reassigned to Maya Chen"
        )
        expected = monday + timedelta(days=7, hours=11)  # the next Monday 11:00
        assert timedelta(0) <= replaced.at.astimezone(LISBON) - expected < timedelta(seconds=5)
        assert timedelta(0) <= sent(kicked)[0] - replaced.at < MINUTE
        # leo's late acknowledgement changes nothing
        await handle.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by="leo"))
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        result = await handle.result()
        assert result.owner == "maya"
        await assert_replays(handle)


async def test_silent_owner_stays_when_nobody_else_is_eligible(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", ack_hours(4))
    roster = load_roster()
    only_leo = roster.model_copy(update={"owners": [o for o in roster.owners if o.id == "leo"]})
    async with journeys(client, playbooks=playbooks, roster=lambda: only_leo) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, waiting, step=MINUTE)
        kicked = await advance_until(
            ts_env, handle, told("first_action"), step=timedelta(minutes=30), limit=timedelta(days=5)
        )
        assert kicked.owner == "leo"
        assert any(
            e.detail
            == "Leo Martins did not acknowledge within 4 business hours; no other eligible owner, so Leo Martins keeps it"
            for e in kicked.timeline
        )
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
        await assert_replays(handle)
