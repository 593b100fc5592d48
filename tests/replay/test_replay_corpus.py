"""The replay gate: every recorded history replays against the current workflow code, and a
non-deterministic edit is caught with the file, the event and the mismatch named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from contracts.journey import workflow_id_for
from replay import record
from replay.corpus import CORPUS, as_text, corpus_files, decided, load_history, replay_files
from replay.seeds import replay_under_seeds
from tests.harness.support import load_edited_copy

ONBOARDING = Path(__file__).resolve().parents[2] / "workflows" / "onboarding.py"


def test_every_version_has_a_corpus():
    versions = {p.parent.name for p in corpus_files()}
    assert {"v3", record.VERSION} <= versions
    assert {p.stem for p in (CORPUS / "v3").glob("*.json")} >= {
        "advance-to-activated",
        "clarify-chain",
        "escalation-retry",
        "escalation-skip",
        "escalation-reassign",
        "escalation-close",
        "escalation-sla",
        "failed-attempts",
        "help-then-action",
        "cancel",
        "high-value-kickoff",
        "deal-details-late",
        "continue-as-new.run1",
        "continue-as-new.run2",
        "staff-reassign-owner",
        "staff-extend-deadline",
        "staff-pause-resume",
    }


def test_the_v3_10_corpus_holds_a_journey_that_coalesced_identical_help():
    """`help-coalesced` went down the v3.10 path: its marker, one help email for two identical
    failed attempts, then the second help and the retry (replayed by the gate below)."""
    history = load_history(CORPUS / "v3.10" / "help-coalesced.json")
    patches = [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert "coalesce-identical-help" in patches
    sends = [
        e
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_message"
    ]
    assert len(sends) == 4  # the direction, help (once for two), the second help, the retry


async def test_gate_every_recorded_history_replays():
    """Under each of the gate's hash seeds, in a process of its own (replay/seeds.py): an
    order that depends on the seed fails under one of them instead of by chance."""
    problems = await replay_under_seeds(corpus_files())
    if problems:
        pytest.fail(as_text(problems), pytrace=False)


def swap_first_two_activities(source: str) -> str:
    """Assign the owner before taking the playbook snapshot (both in `_start`)."""
    start = source.index("    async def _start(")
    end = source.index("\n    async def ", start + 1)
    body = source[start:end]
    a, b = "effects.snapshot(deal)", "effects.assign_owner(deal, workflow.now().date())"
    swapped = body.replace(a, "\0").replace(b, a).replace("\0", b)
    swapped = swapped.replace("first = snapshot.playbook", "first = owners.playbook")
    return source[:start] + swapped + source[end:]


def longer_kickoff_window(source: str) -> str:
    """A 'harmless' change of a wait: every direction now waits an hour before it goes out."""
    anchor = "                await steps.direct(m)\n"
    assert anchor in source
    return source.replace(anchor, "                await workflow.sleep(3600)\n" + anchor)


async def test_gate_names_file_event_and_mismatch_for_reordered_activities(tmp_path):
    broken = load_edited_copy(tmp_path, swap_first_two_activities)
    target = CORPUS / "v3" / "advance-to-activated.json"
    problems = await replay_files([target], [broken])
    assert len(problems) == 1
    message = problems[0].message()
    assert str(target) in message
    assert "at event 7 ACTIVITY_TASK_SCHEDULED activity 'snapshot_playbook'" in message
    assert (
        "Activity type of scheduled event 'snapshot_playbook' does not match activity type of activity command 'assign_owner'"
        in message
    )
    assert "docs/versioning.md" in message


async def test_gate_catches_a_changed_wait(tmp_path):
    broken = load_edited_copy(tmp_path, longer_kickoff_window)
    target = CORPUS / "v3" / "cancel.json"
    [problem] = await replay_files([target], [broken])
    assert str(target) in problem.message() and "docs/versioning.md" in problem.message()
    # the history sent the kickoff where the edited code starts a timer
    assert "ACTIVITY_TASK_SCHEDULED activity 'send_message'" in problem.event, problem.message()
    assert "Nondeterminism" in problem.mismatch


def shape(path: Path) -> list[str]:
    """What a journey did, independent of timing: activities, signals (a run of the same one
    counted once: the product events that grow a history to the continue-as-new suggestion
    take more or fewer), updates, the ending, then its patch markers (a marker is written in a run's first workflow task, which a
    signal may or may not precede)."""
    steps, markers = [], []
    for event in load_history(path).events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            steps.append("activity " + event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.HasField("workflow_execution_signaled_event_attributes"):
            signal = "signal " + event.workflow_execution_signaled_event_attributes.signal_name
            if not steps or steps[-1] != signal:  # a run of the same signal is one step
                steps.append(signal)
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            steps.append(
                "update " + event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            )
        elif event.HasField("marker_recorded_event_attributes"):
            markers.append("marker " + event.marker_recorded_event_attributes.marker_name)
    steps.append(EventType.Name(load_history(path).events[-1].event_type))
    return steps + sorted(markers)


async def test_rerecording_takes_the_same_paths_and_replays(dev_env, tmp_path):
    # owner-wait-across-runs: continued as new by the server's suggestion, once (it recorded
    # 2, 3 or 4 runs depending on timing before its history grew one event at a time)
    names = ["cancel", "escalation-reassign", "continue-as-new", "owner-wait-across-runs"]
    written = await record.record(dev_env.client, tmp_path / record.VERSION, names, suffix=f"-{uuid.uuid4().hex[:6]}")
    assert sorted(p.name for p in written) == sorted(
        p.name for p in (CORPUS / record.VERSION).glob("*.json") if p.stem.split(".")[0] in names
    )
    problems = await replay_files(written, converter=dev_env.client.data_converter)  # recorded encrypted
    assert not problems, as_text(problems)
    for path in written:
        assert shape(path) == shape(CORPUS / record.VERSION / path.name), path.name


def test_a_run_that_has_decided_nothing_is_skipped_not_waited_on(tmp_path):
    """The SDK's replayer waits forever, cancel included, on a history that holds only the
    run's start (a run just continued as new, fetched before its first task: seen as a hang
    of the roster's replay under load). Every replay here skips such a history. Run in a
    process of its own, so a regression fails on time instead of hanging the suite."""
    full = load_history(CORPUS / "v3.2" / "cancel.json")
    start_only = WorkflowHistory(full.workflow_id, list(full.events[:1]))
    assert decided(full) and not decided(start_only)
    path = tmp_path / "start-only.json"
    path.write_text(start_only.to_json())
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from replay.corpus import replay_files\n"
        "print(len(asyncio.run(replay_files([Path(sys.argv[1]), Path(sys.argv[2])]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(CORPUS / "v3.2" / "cancel.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "0"  # the whole run replays; the start alone is skipped


async def test_a_failing_scenario_is_reported_after_the_others_are_recorded(dev_env, tmp_path, monkeypatch):
    """One scenario that never reaches its step: the recorder still records the others, ends
    (it used to hang at shutdown with the others cancelled midway) and names the failure."""

    async def never_escalated(j: record.Journey) -> None:
        await j.told("first_action")
        raise RuntimeError(f"{j.scenario}: never reached 'escalated, level 9'")

    cancel = next(s for s in record.SCENARIOS if s.name == "cancel")
    monkeypatch.setattr(record, "SCENARIOS", [cancel, record.Scenario("stuck", never_escalated)])
    suffix = f"-{uuid.uuid4().hex[:6]}"
    with pytest.raises(RuntimeError) as failed:
        await asyncio.wait_for(record.record(dev_env.client, tmp_path, suffix=suffix), 120)
    await dev_env.client.get_workflow_handle(workflow_id_for("stuck" + suffix)).terminate("test over")
    assert "stuck: never reached 'escalated, level 9'" in str(failed.value)
    assert "cancel" not in str(failed.value).split("\n", 1)[1]
    assert (tmp_path / "cancel.json").exists() and not (tmp_path / "stuck.json").exists()


def test_make_histories_exits_0_after_recording(tmp_path):
    """`make histories` (python -m replay.record) ended with `Fatal Python error:
    PyGILState_Release` and exit 2 after a recording that had succeeded: the SDK core's
    threads outlived the event loop into interpreter finalisation."""
    done = subprocess.run(
        [sys.executable, "-m", "replay.record", "--out", str(tmp_path), "--only", "cancel", "unsubscribe"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 histories in" in done.stdout
    assert {p.name for p in (tmp_path / record.VERSION).glob("*.json")} == {"cancel.json", "unsubscribe.json"}
