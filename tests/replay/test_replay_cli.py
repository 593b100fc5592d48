"""`onboarding replay` against the dev server: running v1 and v2 journeys all replay on the
current code; code that drops v1 support too early is reported with the journeys it would
break."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import uuid
from pathlib import Path

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
from tests.harness.versions import OnboardingWorkflowV1, OnboardingWorkflowV2
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
    """Step 4 of the recipe done while v1 journeys still run: v2 journeys replay, v1 do not."""
    guard = "        elif self._patched(versions.OWNER_ACKNOWLEDGEMENT):\n"
    assert guard in source
    return source.replace(guard, "        elif workflow.deprecate_patch(versions.OWNER_ACKNOWLEDGEMENT) or True:\n")


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


async def test_replay_reports_running_v1_and_v2_journeys_compatible_and_names_broken_ones(dev_env, tmp_path, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open_with_acknowledgement)
    task_queue = f"replay-cli-{uuid.uuid4().hex[:6]}"
    v1_ids, v2_ids = [], []
    # the journeys keep running when the worker stops: the replay command reads them
    async with journeys(
        client, playbooks=playbooks, journey=OnboardingWorkflowV1, task_queue=task_queue, keep_journeys=True
    ):
        for _ in range(2):
            handle = await start_journey(client, task_queue, make_deal())
            await wait_for_status(handle, told("first_action"))  # v1: straight to the kickoff
            v1_ids.append(handle.id)
    async with journeys(
        client, playbooks=playbooks, journey=OnboardingWorkflowV2, task_queue=task_queue, keep_journeys=True
    ):
        waiting = await start_journey(client, task_queue, make_deal())
        state = await wait_for_status(waiting, lambda s: s.reason.startswith("waiting for owner acknowledgement"))
        assert state.state.value == "awaiting_action" and not told("first_action")(state)
        attrs = (await waiting.describe()).typed_search_attributes
        assert attrs.get(STATE) == "awaiting_action" and attrs.get(OWNER) == "leo"
        acknowledged = await start_journey(client, task_queue, make_deal())
        ack = await wait_for_status(acknowledged, lambda s: s.reason.startswith("waiting for owner acknowledgement"))
        # places are counted: the earlier journeys on this task queue hold leo's and maya's
        await acknowledged.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by=ack.owner))
        await wait_for_status(acknowledged, told("first_action"))
        v2_ids += [waiting.id, acknowledged.id]

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
        assert all(i in listed for i in v1_ids) and not any(i in listed for i in v2_ids), output
        assert "Nondeterminism" in output and "at event" in output and "docs/versioning.md" in output
    finally:
        for workflow_id in v1_ids + v2_ids:
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
