"""`onboarding replay` against the dev server: running v3.1 and current journeys all replay on
the current code; code that deprecates a patch (v3.2 `fewer-commands`) while v3.1 journeys
still run is reported with the journeys it would break."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.common import TypedSearchAttributes

from cli.main import parser
from contracts.search_attributes import OWNER, STATE
from contracts.signals import OwnerAcknowledged
from replay.cli import replay_command
from tests.harness.support import (
    load_edited_copy,
    make_deal,
    start_journey,
    told,
    wait_for_status,
    write_playbook,
)
from tests.harness.versions import OnboardingWorkflowV31
from workflows.onboarding import OnboardingWorkflow

ROOT = Path(__file__).resolve().parents[2]


def always_open_with_acknowledgement(playbook):
    playbook["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 10,
    }
    playbook["owner_acknowledgement"] = {"hours": 4, "before_kickoff": True}


def patch_deprecated_too_early(source: str) -> str:
    """Deprecating `fewer-commands` while v3.1 journeys still run: the current ones replay,
    the v3.1 ones do not (docs/versioning.md, "Retiring a version")."""
    guard = "        run.versions = Versions.read(self._patched)\n"
    assert guard in source
    deprecated = (
        "        run.versions = Versions.read(\n"
        "            lambda p: workflow.deprecate_patch(p) or True if p == 'fewer-commands' else self._patched(p)\n"
        "        )\n"
    )
    return source.replace(guard, deprecated)


async def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await replay_command(parser().parse_args(["replay", *argv]), out=out, err=out)
    return code, out.getvalue()


async def visible(client, query: str, count: int) -> None:
    """Visibility is eventually consistent: wait (bounded) until the listing sees them all."""
    deadline = asyncio.get_running_loop().time() + 20
    while (await client.count_workflows(query)).count != count:
        assert asyncio.get_running_loop().time() < deadline, f"visibility never showed {count} for {query}"
        await asyncio.sleep(0.1)


async def recorded_attributes(handle, key) -> TypedSearchAttributes:
    """The search attributes once the server shows `key`. With a worker that keeps no journey
    in memory (these journeys outlive it), `status` can show a step a moment before `describe`
    shows that step's upsert (one run in about fifteen here). Bounded: an upsert that never comes
    fails the test."""
    deadline = asyncio.get_running_loop().time() + 20
    while (attrs := (await handle.describe()).typed_search_attributes).get(key) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{key.name} never recorded: {attrs}"
        await asyncio.sleep(0.1)
    return attrs


async def test_replay_reports_running_v31_and_current_journeys_compatible_and_names_broken_ones(
    dev_env, tmp_path, journeys
):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open_with_acknowledgement)
    task_queue = f"replay-cli-{uuid.uuid4().hex[:6]}"
    v31_ids, current_ids = [], []
    # the journeys keep running when the worker stops: the replay command reads them
    async with journeys(
        client, playbooks=playbooks, journey=OnboardingWorkflowV31, task_queue=task_queue, keep_journeys=True
    ):
        for _ in range(2):
            handle = await start_journey(client, task_queue, make_deal())
            await wait_for_status(handle, lambda s: s.reason.startswith("waiting for owner acknowledgement"))
            v31_ids.append(handle.id)
    async with journeys(client, playbooks=playbooks, task_queue=task_queue, keep_journeys=True):
        waiting = await start_journey(client, task_queue, make_deal())
        state = await wait_for_status(waiting, lambda s: s.reason.startswith("waiting for owner acknowledgement"))
        assert state.state.value == "awaiting_action" and not told("first_action")(state)
        attrs = await recorded_attributes(waiting, STATE)
        assert attrs.get(STATE) == "awaiting_action" and attrs.get(OWNER) == "leo"
        acknowledged = await start_journey(client, task_queue, make_deal())
        ack = await wait_for_status(acknowledged, lambda s: s.reason.startswith("waiting for owner acknowledgement"))
        # places are counted: the earlier journeys on this task queue hold leo's and maya's
        await acknowledged.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by=ack.owner))
        await wait_for_status(acknowledged, told("first_action"))
        current_ids += [waiting.id, acknowledged.id]

    query = f"WorkflowType = 'OnboardingWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'"
    await visible(client, query, 4)
    address = dev_env.client.service_client.config.target_host
    try:
        code, output = await run_cli("--address", address, "--query", query)
        assert code == 0, output
        assert "4 histories replayed: 4 compatible, 0 incompatible" in output

        broken = load_edited_copy(tmp_path, patch_deprecated_too_early)
        code, output = await run_cli(
            "--address", address, "--query", query, "--workflow", f"{broken.__module__}:OnboardingWorkflow"
        )
        assert code == 1, output
        assert "4 histories replayed: 2 compatible, 2 incompatible" in output
        listed = output.split("Incompatible with this code:")[1]
        assert all(i in listed for i in v31_ids) and not any(i in listed for i in current_ids), output
        # the first difference: a transition's upsert, all attributes (v3.1) vs only the changed ones
        assert "at event" in output and "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" in output, output
        assert "docs/versioning.md" in output
    finally:
        for workflow_id in v31_ids + current_ids:
            await client.get_workflow_handle(workflow_id).terminate("test over")


def test_console_script_help_and_bad_address():
    help_text = subprocess.run(
        [sys.executable, "-m", "cli", "replay", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "ExecutionStatus = 'Running'" in help_text and "--query" in help_text
    failed = subprocess.run(
        [sys.executable, "-m", "cli", "replay", "--address", "127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 2 and "cannot connect to Temporal" in failed.stderr


def test_replay_uses_the_dev_key_file_make_run_writes_when_no_key_is_configured(tmp_path):
    from privacy.keys import FILE_VARIABLE, KEYS_VARIABLE, dev_keys, load_keys
    from replay.cli import use_dev_keys

    data = tmp_path / "data"
    env = {"ONBOARDING_DATA_DIR": str(data)}
    assert use_dev_keys(env) is None and FILE_VARIABLE not in env  # no `make run` here yet
    spec = dev_keys(data)  # what `make run` writes
    assert use_dev_keys(env) == data / "codec-keys"
    keys = load_keys(env)
    assert keys is not None and keys.spec() == spec  # the histories decrypt with it
    configured = {KEYS_VARIABLE: "plaintext", "ONBOARDING_DATA_DIR": str(data)}
    assert use_dev_keys(configured) is None and FILE_VARIABLE not in configured  # configured keys win
