"""The customer's input before the kickoff is answered as after it (v3.6, patch
`input-before-kickoff`).

A playbook can hold the kickoff for the owner's acknowledgement (`before_kickoff: true`).
The product may still report the customer's first attempts meanwhile (they found the
feature on their own). Before v3.6 that wait heard only the owner and the customer's
action: a failed attempt got its help, and a help request reached a human, only once the
kickoff went out, hours or a weekend later. Now a failed attempt gets its help at once (a
reply: not held for business hours), a help request escalates at once, to the owner who
has not acknowledged yet; the kickoff still goes out after the acknowledgement.

The other waits before the kickoff are checked as they were: the kickoff held for business
hours answers the same input at once (it always did), and a help request during the
high-value review joins that open escalation. Time-skipping server, effects in memory
(lab/fakes.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.signals import OwnerAcknowledged, Unsubscribed
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState, Status
from replay.corpus import CORPUS, as_text, load_history, replay_files
from tests.harness.support import assert_replays, close_and_replay, make_deal, skip_to_next, start_journey, status
from tests.harness.versions import OnboardingWorkflowV35
from tests.workflows.test_journey_holds import (
    CHICAGO,
    HOUR,
    TEN_MINUTES,
    assert_touches,
    failed,
    has_marker,
    helped,
    kinds,
    local,
    playbook,
    sleep_until,
    tuesday_10,
    until,
)
from tests.workflows.test_journey_waiting_on import same_moment, sunday_22
from workflows import versions
from workflows.onboarding import OnboardingWorkflow

FRIDAY = 4
LISBON = ZoneInfo("Europe/Lisbon")  # the owner's (Leo Martins's) zone: their business hours count


def in_lisbon(start: datetime, days: int, hour: int) -> datetime:
    return (start.astimezone(LISBON) + timedelta(days=days)).replace(hour=hour, minute=0)


def owner_first(data: dict[str, Any]) -> None:
    """Four business hours for the owner to acknowledge before the kickoff."""
    data["owner_acknowledgement"] = {"hours": 4, "before_kickoff": True}


async def friday_16(env) -> datetime:
    """Skip virtual time to the next Friday 16:00 in Chicago: the deal closes then."""
    return await skip_to_next(env, FRIDAY, 16, CHICAGO)


def waits_for_owner(s: Status) -> bool:
    return s.waiting_on == "owner" and s.reason.startswith("waiting for owner acknowledgement")


def acknowledged_by_leo() -> OwnerAcknowledged:
    return OwnerAcknowledged(by="leo")


# ------------------------------------------------------------------ the owner's wait


async def test_a_failure_while_the_kickoff_waits_for_the_owner_gets_help_at_once(ts_env, tmp_path, journeys):
    """Closed Tuesday 10:00 Chicago (16:00 in the owner's Lisbon): four business hours run to
    Wednesday 12:00 Lisbon. 11:00 the upload fails: help at 11:00, the journey still waits
    for the owner, due as before. 12:00 the owner acknowledges: the kickoff.
    13:00 a second failure: help, and (two failed attempts) the owner gets the escalation."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, owner_first)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)

        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        helped_ = await until(ts_env, handle, lambda _: "help" in kinds(effects), step=TEN_MINUTES)
        assert waits_for_owner(helped_) and helped_.state is OnboardingState.awaiting_action
        assert helped_.next_action is not None and same_moment(helped_.next_action.due_at, in_lisbon(tue, 1, 12))

        await sleep_until(ts_env, tue + 2 * HOUR)
        await handle.signal(OnboardingWorkflow.owner_acknowledged, acknowledged_by_leo())
        told = await until(ts_env, handle, lambda s: s.waiting_on == "customer", step=TEN_MINUTES)
        assert told.owner == "leo" and told.next_action is not None
        assert same_moment(told.next_action.due_at, tue + 2 * HOUR + timedelta(hours=72))  # the kickoff's window

        await sleep_until(ts_env, tue + 3 * HOUR)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        human = await until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=TEN_MINUTES)
        assert human.reason == "2 failed attempts at 'dataset_uploaded'"  # the one before the kickoff counts
        assert_touches(
            effects,
            [
                ("help", tue + HOUR),  # at once, before the kickoff
                ("direction", tue + 2 * HOUR),  # the kickoff, once the owner acknowledged
                ("help", tue + 3 * HOUR),
                ("escalation 1", tue + 3 * HOUR),
            ],
        )
        assert await has_marker(handle, versions.INPUT_BEFORE_KICKOFF)
        await close_and_replay(handle)


async def test_a_failure_on_saturday_while_the_owner_has_until_monday_gets_help_on_saturday(ts_env, tmp_path, journeys):
    """Closed Friday 16:00 Chicago: the owner's four business hours run to Monday 13:00 in
    Lisbon. Help is a reply to the customer's attempt, so it goes out Saturday 12:00, not
    held for Monday; the owner acknowledges Saturday 14:00 and the kickoff, a proactive
    message, waits for the customer's Monday 09:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, owner_first)) as (queue, effects):
        fri = await friday_16(ts_env)
        handle = await start_journey(client, queue, make_deal())
        waiting = await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)
        assert waiting.next_action is not None and same_moment(waiting.next_action.due_at, in_lisbon(fri, 3, 13))

        saturday = local(fri, 1, 12)
        await sleep_until(ts_env, saturday)
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        await until(ts_env, handle, lambda _: "help" in kinds(effects), step=TEN_MINUTES)
        await sleep_until(ts_env, saturday + 2 * HOUR)
        assert waits_for_owner(await status(handle)) and kinds(effects) == ["help"]
        await handle.signal(OnboardingWorkflow.owner_acknowledged, acknowledged_by_leo())
        await until(ts_env, handle, lambda s: s.waiting_on == "customer", step=TEN_MINUTES)
        assert_touches(effects, [("help", saturday), ("direction", local(fri, 3, 9))])
        await close_and_replay(handle)


async def test_a_help_request_while_the_kickoff_waits_for_the_owner_escalates_to_that_owner_at_once(
    ts_env, tmp_path, journeys
):
    """11:00 the customer asks for help: the owner who has not acknowledged yet gets the
    escalation at 11:00, due at its SLA. 12:00 the owner retries: the kickoff waits for their
    acknowledgement again, 12:30 they acknowledge and it goes out."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, owner_first)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)

        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects), step=TEN_MINUTES)
        assert human.state is OnboardingState.escalated and human.waiting_on == "human"
        assert human.reason.startswith("customer asked for help: our export has two")
        assert human.next_action is not None and human.next_action.title.startswith("Leo Martins (owner)")
        assert same_moment(human.next_action.due_at, tue + HOUR + timedelta(hours=24))

        await sleep_until(ts_env, tue + 2 * HOUR)
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="leo", note="called them")
        )
        again = await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)
        assert again.state is OnboardingState.awaiting_action and kinds(effects) == ["escalation 1"]

        await sleep_until(ts_env, tue + 2 * HOUR + timedelta(minutes=30))
        await handle.signal(OnboardingWorkflow.owner_acknowledged, acknowledged_by_leo())
        await until(ts_env, handle, lambda s: s.waiting_on == "customer", step=TEN_MINUTES)
        assert_touches(effects, [("escalation 1", tue + HOUR), ("direction", tue + 2 * HOUR + timedelta(minutes=30))])
        assert await has_marker(handle, versions.INPUT_BEFORE_KICKOFF)
        await close_and_replay(handle)


async def test_an_unsubscribe_while_the_kickoff_waits_for_the_owner_goes_to_the_owner_at_once(
    ts_env, tmp_path, journeys
):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, owner_first)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.unsubscribed, Unsubscribed(contact_hash="0123456789abcdef", at=tue))
        human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects), step=TEN_MINUTES)
        assert human.state is OnboardingState.escalated and human.unsubscribed
        assert human.reason.startswith("customer unsubscribed")
        assert_touches(effects, [("escalation 1", tue + HOUR)])
        await close_and_replay(handle)


# ------------------------------------------------------------------ the kickoff held for business hours


async def test_a_failure_while_the_kickoff_waits_for_monday_gets_help_at_once(ts_env, tmp_path, journeys):
    """Closed Sunday 22:00 (no owner wait): the kickoff waits for Monday 09:00; a failure at
    23:00 gets its help at 23:00 and the kickoff still goes out Monday 09:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        sunday = await sunday_22(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await until(ts_env, handle, lambda s: s.waiting_on == "journey", step=TEN_MINUTES)
        await sleep_until(ts_env, sunday + HOUR)
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        held = await until(ts_env, handle, lambda _: "help" in kinds(effects), step=TEN_MINUTES)
        assert held.state is OnboardingState.awaiting_action
        await until(ts_env, handle, lambda s: s.waiting_on == "customer", step=TEN_MINUTES)
        assert_touches(effects, [("help", sunday + HOUR), ("direction", local(sunday, 1, 9))])
        await close_and_replay(handle)


async def test_a_help_request_during_the_high_value_review_joins_it(ts_env, tmp_path, journeys):
    """The review before a high-value kickoff is an open escalation: a help request joins it
    (no second task) and the reviewer's decision settles it, as in any escalation."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal(amount=300_000, currency="USD"))
        await until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=TEN_MINUTES)
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        joined = await until(ts_env, handle, lambda s: any(e.event == "help requested" for e in s.timeline))
        assert joined.state is OnboardingState.escalated and joined.escalation_level == 1
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya", note="reviewed")
        )
        told = await until(ts_env, handle, lambda s: s.waiting_on == "customer", step=TEN_MINUTES)
        assert any(e.event == "handled with the escalation" for e in told.timeline)
        assert_touches(effects, [("escalation 1", tue), ("direction", tue + HOUR)])
        await close_and_replay(handle)


# ------------------------------------------------------------------ journeys already running (v3.5)


async def test_a_journey_waiting_for_the_owner_on_v3_5_replays_and_answers_at_the_kickoff(ts_env, tmp_path, journeys):
    """Started on a v3.5 worker: a failure at 11:00 while the kickoff waits for the owner is not
    answered (v3.5), and the history replays on this code. The v3.6 worker takes it over: the
    run keeps the wait it began (the patch reads as absent for it), so the help follows the
    kickoff at the acknowledgement, 12:00, as on v3.5; `status` answers throughout."""
    client, playbooks = ts_env.client, playbook(tmp_path, owner_first)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV35, keep_journeys=True
    ) as (queue, old):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES)
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        await until(ts_env, handle, lambda s: any(e.event == "action failed" for e in s.timeline), step=TEN_MINUTES)
        assert kinds(old) == []  # v3.5: not answered before the kickoff
        await assert_replays(handle)

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        assert waits_for_owner(await until(ts_env, handle, waits_for_owner, step=TEN_MINUTES))
        await sleep_until(ts_env, tue + 2 * HOUR)
        await handle.signal(OnboardingWorkflow.owner_acknowledged, acknowledged_by_leo())
        await until(ts_env, handle, lambda _: "help" in kinds(new), step=TEN_MINUTES)
        assert_touches(new, [("direction", tue + 2 * HOUR), ("help", tue + 2 * HOUR)])
        assert not await has_marker(handle, versions.INPUT_BEFORE_KICKOFF)
        await close_and_replay(handle)


OWNER_WAITS = [
    "owner-acknowledges",
    "owner-acknowledgement-times-out",
    *(f"owner-wait-across-runs.run{n}" for n in range(1, 5)),
]


def marked(path) -> bool:
    return any(
        e.HasField("marker_recorded_event_attributes")
        and versions.INPUT_BEFORE_KICKOFF.encode() in e.SerializeToString()
        for e in load_history(path).events
    )


async def test_the_v3_5_owner_waits_replay_on_v3_6_which_marks_every_owner_wait():
    """The v3.5 corpus's journeys that waited for the owner (no marker) replay on this code;
    on v3.6 every such wait carries the marker, the new scenarios included."""
    older = [CORPUS / "v3.5" / f"{name}.json" for name in OWNER_WAITS]
    problems = await replay_files(older)
    assert not problems, as_text(problems)
    assert not any(marked(p) for p in older)
    current = [
        CORPUS / "v3.6" / f"{name}.json" for name in [*OWNER_WAITS, "failure-before-kickoff", "help-before-kickoff"]
    ]
    assert all(marked(p) for p in current)
    assert not marked(CORPUS / "v3.6" / "owner-acknowledges-beside-kickoff.json")  # no wait before the kickoff
