"""A failing replay says which command the new code produced against what the history holds,
at the event where they part ways, and gives the advice that fits the cause: an unguarded
change, a rollback (a patch or a payload this build cannot read), an undecodable payload."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload

from privacy.converter import data_converter_for
from privacy.keys import new_key_spec, parse_keys
from replay import diagnosis
from replay.corpus import CORPUS, replay_files
from tests.harness.support import load_edited_copy
from tests.harness.versions import OnboardingWorkflowV39

CANCEL = CORPUS / "v3.10" / "cancel.json"
PATCHED_ADVICE = "Guard the change with workflow.patched"


def second_kickoff(source: str) -> str:
    """An activity of an existing type inserted: the kickoff is sent twice."""
    anchor = "                await steps.direct(m)\n"
    assert anchor in source
    return source.replace(anchor, anchor + anchor, 1)


def second_assignment(source: str) -> str:
    anchor = "        owners = held or await self._assign_owner(deal)\n"
    assert anchor in source
    return source.replace(anchor, anchor + "        await self._assign_owner(deal)\n", 1)


async def test_an_inserted_activity_of_an_existing_type_is_reported_where_it_was_inserted(tmp_path):
    """The second `send_message` of the kickoff goes where the history started the window's
    timer (event 41): the replayer's error names that event, and so does the report, with the
    new code's command beside it. The history's next send_message (a later, unrelated one) is
    not where it points."""
    [problem] = await replay_files([CANCEL], [load_edited_copy(tmp_path, second_kickoff)])
    message = problem.message()
    assert "HistoryEvent(id: 41, TimerStarted)" in problem.mismatch
    assert "  at event 41 TIMER_STARTED" in message, message
    assert (
        "the new code: activity 'send_message' (email direction 'Upload your first dataset' to the customer)" in message
    )
    assert "it stopped at" not in message  # the report and the replayer name the same event
    assert problem.cause == diagnosis.UNGUARDED and PATCHED_ADVICE in message


async def test_an_inserted_activity_is_named_though_the_replayer_stops_at_a_marker(tmp_path):
    """A second owner assignment: the replayer only says a patch marker has no command. The
    report names the extra `assign_owner` against what the history holds there, and the
    activity the history schedules next."""
    [problem] = await replay_files([CANCEL], [load_edited_copy(tmp_path, second_assignment)])
    message = problem.message()
    assert "patch marker encountered for change due-while-held" in problem.mismatch
    assert "  at event 25 MARKER_RECORDED marker 'core_patch' (patch 'due-while-held')" in message, message
    assert "the new code: activity 'assign_owner' (assign one owner (smb))" in message
    assert "its next activity: event 28 ACTIVITY_TASK_SCHEDULED activity 'send_message'" in message
    assert problem.cause == diagnosis.UNGUARDED and PATCHED_ADVICE in message


async def test_a_rollback_is_told_apart_from_an_unguarded_change():
    """The v3.9 build replaying a v3.10 journey that carries the v3.10 patch: not a change to
    guard, a build that does not know the patch."""
    target = CORPUS / "v3.10" / "help-coalesced.json"
    [problem] = await replay_files([target], [OnboardingWorkflowV39])
    message = problem.message()
    assert problem.cause == diagnosis.ROLLBACK, message
    assert "(patch 'coalesce-identical-help')" in problem.event
    assert "this build does not know the patch" in message
    assert "a rollback" in message and "Deploy the build that knows it again" in message
    assert PATCHED_ADVICE not in message


def edited_history(tmp_path: Path, change) -> Path:
    data = json.loads(CANCEL.read_text())
    payloads = data["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
    change(payloads)
    path = tmp_path / "cancel.json"  # the journey's id comes from the file's name
    path.write_text(json.dumps(data))
    return path


async def test_a_payload_this_build_cannot_read_names_the_field(tmp_path):
    def amount_as_words(payloads: list[dict]) -> None:
        journey = json.loads(base64.b64decode(payloads[0]["data"]))
        journey["deal"]["amount"] = "lots"
        payloads[0]["data"] = base64.b64encode(json.dumps(journey).encode()).decode()

    [problem] = await replay_files([edited_history(tmp_path, amount_as_words)])
    message = problem.message()
    assert problem.cause == diagnosis.UNREADABLE_FIELD, message
    assert "at event 1 WORKFLOW_EXECUTION_STARTED" in message
    assert "This build cannot read field 'deal.amount'" in message
    assert PATCHED_ADVICE not in message


async def test_an_undecodable_payload_asks_for_the_codec_keys(tmp_path):
    converter = data_converter_for(parse_keys(new_key_spec("elsewhere-1")))
    assert converter.payload_codec is not None
    encrypted: list[Payload] = []

    def encrypt(payloads: list[dict]) -> None:
        payloads[:] = [MessageToDict(p) for p in encrypted]

    plain = json.loads(CANCEL.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    encrypted += await converter.payload_codec.encode([ParseDict(p, Payload()) for p in plain["payloads"]])
    [problem] = await replay_files([edited_history(tmp_path, encrypt)])
    message = problem.message()
    assert problem.cause == diagnosis.UNDECODABLE, message
    assert "the history:  an encrypted payload" in message
    assert "ONBOARDING_CODEC_KEYS" in message and ".data/codec-keys" in message
    assert PATCHED_ADVICE not in message


def test_a_failing_replay_prints_the_report_not_the_sdk_warnings(tmp_path):
    """Locating one mismatch replays its history several times: the SDK's warning for each
    failing workflow task (a Rust struct, a traceback) stays off the console."""
    import subprocess
    import sys

    edited = load_edited_copy(tmp_path, second_kickoff)
    code = (
        "import asyncio, sys, importlib\n"
        "from pathlib import Path\n"
        "from replay.corpus import as_text, replay_files\n"
        f"wf = importlib.import_module({edited.__module__!r}).OnboardingWorkflow\n"
        "print(as_text(asyncio.run(replay_files([Path(sys.argv[1])], [wf]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(CANCEL)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert "at event 41 TIMER_STARTED" in done.stdout, done.stderr[-2000:]
    assert "Failing workflow task" not in done.stderr and "Failed activation" not in done.stderr, done.stderr[-2000:]
