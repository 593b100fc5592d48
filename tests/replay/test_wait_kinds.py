"""The corpus of the current version holds every kind of wait the journey has, and a journey
continuing as new while in each: a change on a path no history takes passes the gate (a
business-hours hold was such a path: the recorder ran with hours open around the clock).

The kinds come from the journey's own: the parties it waits on (`awaiting.WAITED_ON`), each
escalation level of the playbook, and the three reasons a proactive message is held
(`decisions.proactive_send_time`: the opening, a closed day, the daily cap). A history shows
a wait by the timer or task it starts (their summaries), the staff update or the signal it
waits for, and a run's hand-over by the state its successor starts with, read with the
journey's own `awaiting`."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHistory

from contracts.journey import JourneyInput
from replay import record
from replay.corpus import CORPUS, load_history, replay_files
from tests.harness.support import load_edited_copy
from workflows import awaiting

LEVELS = len(record.recording_playbook()["escalation"]["levels"])
HELD = ("held for the opening", "held over closed days", "held for the daily cap")


def expected_kinds() -> set[str]:
    kinds = set()
    for party in awaiting.WAITED_ON:
        if party == awaiting.HUMAN:
            kinds |= {f"{party}: escalation level {n}" for n in range(1, LEVELS + 1)} | {f"{party}: no playbook"}
        elif party == awaiting.JOURNEY:
            kinds |= {f"{party}: {why}" for why in HELD}
        else:
            kinds.add(party)
    across = {k.split(":")[0] for k in kinds if not k.startswith(awaiting.HUMAN)}
    across |= {k for k in kinds if k.startswith(awaiting.HUMAN)}
    return kinds | {f"continue-as-new while waiting on {k}" for k in across}


def _summary(event) -> str:
    data = event.user_metadata.summary.data
    return json.loads(data) if data else ""


_HELD_UNTIL = re.compile(r"^hold the (?P<step>\w+) for business hours: \w{3} (?P<day>\d\d \w{3})")
_TASK_LEVEL = re.compile(r"^human task for .* level (?P<level>\d+)\)$")


def waits_in(history: WorkflowHistory) -> set[str]:
    """The kinds of wait a recorded run went through."""
    kinds, started = set(), history.events[0].workflow_execution_started_event_attributes
    journey = JourneyInput.model_validate_json(started.input.payloads[0].data)
    zone = ZoneInfo((journey.carried.deal if journey.carried else journey.deal or _deal()).account.timezone)
    for event in history.events:
        summary = _summary(event)
        if event.HasField("timer_started_event_attributes"):
            if summary.startswith("wait for '"):
                kinds.add(awaiting.CUSTOMER)
            elif summary == "owner acknowledgement due":
                kinds.add(awaiting.OWNER)
            elif summary.startswith("no playbook"):
                kinds.add(f"{awaiting.HUMAN}: no playbook")
            elif held := _HELD_UNTIL.match(summary):
                kinds.add(f"{awaiting.JOURNEY}: {_why_held(held, event.event_time.ToDatetime(), zone)}")
        elif event.HasField("activity_task_scheduled_event_attributes") and (task := _TASK_LEVEL.match(summary)):
            kinds.add(f"{awaiting.HUMAN}: escalation level {task['level']}")
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            if event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == "pause":
                kinds.add(awaiting.STAFF)
        elif event.workflow_execution_signaled_event_attributes.signal_name == "deal_closed":
            kinds.add(awaiting.DEAL)
    if started.continued_execution_run_id:
        kinds.add(f"continue-as-new while waiting on {_handed_over_in(journey)}")
    return kinds


def _deal():
    from contracts.deal import DealClosed, sample_deal_body

    return DealClosed.model_validate(sample_deal_body(deal_id="x"))


def _why_held(held: re.Match[str], at: datetime, zone: ZoneInfo) -> str:
    local = at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    until = datetime.strptime(f"{held['day']} {local.year}", "%d %b %Y").date()
    if held["step"] == "direction" and until == local.date():
        return "held for the opening"
    return "held over closed days" if (until - local.date()).days >= 2 else "held for the daily cap"


def _handed_over_in(journey: JourneyInput) -> str:
    """The wait the previous run was in when it handed over: what its successor starts waiting on."""
    s = journey.carried
    if s is None:
        return f"{awaiting.HUMAN}: no playbook" if journey.held is not None else awaiting.DEAL
    m = s.playbook.playbook.milestones[s.progress.index] if s.progress is not None else None
    party = awaiting.awaiting(s, m, s.inbox.timeline[-1].at if s.inbox.timeline else datetime.now()).party
    if party == awaiting.HUMAN and s.escalation is not None:
        return f"{party}: escalation level {s.escalation.level}"
    return party


def corpus_waits(version: str = record.VERSION) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((CORPUS / version).glob("*.json")):
        for kind in waits_in(load_history(path)):
            found.setdefault(kind, []).append(path.name)
    return found


def test_the_current_corpus_holds_every_kind_of_wait():
    found = corpus_waits()
    missing = expected_kinds() - found.keys()
    assert not missing, (
        f"no history in tests/histories/{record.VERSION} waits on {sorted(missing)}: add a scenario to "
        "replay/record.py and record it (docs/versioning.md)"
    )


def test_the_kinds_come_from_the_journey():
    kinds = expected_kinds()
    assert {f"{awaiting.HUMAN}: escalation level {n}" for n in (1, 2, 3)} <= kinds
    assert f"continue-as-new while waiting on {awaiting.JOURNEY}" in kinds
    assert awaiting.NOBODY not in {k.split(":")[0] for k in kinds}


def later_kickoff_when_held(source: str) -> str:
    """A change on the hold path only: a held message now waits a minute longer."""
    anchor = "                s.next_send = ScheduledSend(step=step, at=send_at)  # the journey waits on itself\n"
    assert anchor in source
    return source.replace(anchor, anchor + "                await workflow.sleep(60)\n")


async def test_a_change_on_the_hold_path_fails_the_gate(tmp_path: Path):
    """The blind spot closed: an edit that changes a command only while a message is held for
    business hours replays every history of the previous corpus but not the held ones."""
    broken = load_edited_copy(tmp_path, later_kickoff_when_held, module="steps")
    held = [
        CORPUS / record.VERSION / "kickoff-held-for-opening.json",
        CORPUS / record.VERSION / "held-for-the-weekend.json",
    ]
    problems = await replay_files(held, [broken])
    assert {Path(p.label).name for p in problems} == {p.name for p in held}
    assert all("workflow.patched" in p.message() for p in problems), [p.message() for p in problems]
    assert not await replay_files([CORPUS / record.VERSION / "cancel.json"], [broken])
