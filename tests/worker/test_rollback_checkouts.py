"""A rollback across two real checkouts: a newer build (a `git worktree` of this commit with a
playbook field added and a limit widened, committed there) runs journeys as `python -m
worker`; then this checkout, the older build, takes them over. Tested on a dev server of
its own (the workers poll the production task queue `onboarding`).

- the older build's worker starts on the newer build's playbook file (a warning names the
  field) and goes on with the journey the newer build started; when it continues the
  journey as new, the newer build's field is still in the carried snapshot;
- its `onboarding replay` calls that journey compatible, and names the one whose snapshot
  holds a value it cannot read a schema incompatibility, field and all, not a `patched()`
  matter (docs/versioning.md, "Adding a field")."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
import yaml
from temporalio.api.enums.v1 import EventType

import worker
from activities.settings import ActivitySettings
from cli.main import parser
from contracts.journey import TASK_QUEUE
from contracts.signals import ActionTaken
from replay import record
from replay.cli import replay_command
from replay.corpus import decided as record_decided
from tests.harness import privacy_keys
from tests.harness.support import always_open, default_playbook, make_deal, start_journey, wait_for_status
from tests.harness.traffic import WorkerProcess
from workflows.onboarding import OnboardingWorkflow

ROOT = Path(__file__).resolve().parents[2]

# The newer build: a milestone may carry a `badge`, and its window may be up to a year long.
NEWER = {
    "contracts/playbook.py": [
        (
            "    window_hours: WindowDuration = calendar_hours(72)\n",
            "    window_hours: WindowDuration = calendar_hours(72)\n    badge: str | None = None\n",
        ),
    ],
    "contracts/durations.py": [
        (
            'Duration, BeforeValidator(_parse("hours")), AfterValidator(_bounded(24 * 90, zero=False))',
            'Duration, BeforeValidator(_parse("hours")), AfterValidator(_bounded(24 * 365, zero=False))',
        ),
    ],
}


@pytest.fixture
def newer_checkout(tmp_path):
    """This commit checked out beside this one, with the newer build's change committed there."""
    path = tmp_path / "newer"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), "HEAD"], check=True)
    try:
        for name, edits in NEWER.items():
            schema = path / name
            source = schema.read_text()
            for old, new in edits:
                assert old in source, f"update this test to {name}'s shape"
                source = source.replace(old, new)
            schema.write_text(source)
        git = ["git", "-C", str(path), "-c", "user.name=test", "-c", "user.email=test@example.com"]
        subprocess.run([*git, "commit", "-qam", "Milestones: a badge, and windows up to a year"], check=True)
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


@pytest_asyncio.fixture
async def own_dev_server():
    env = await record.dev_server(privacy_keys.CONVERTER)
    try:
        yield env
    finally:
        await env.shutdown()


def playbooks(directory: Path) -> Path:
    """As the newer build's authors wrote them: the fallback with a badge on its first
    milestone, and a product whose first window is 125 days."""
    directory.mkdir(parents=True)
    general = default_playbook()
    always_open(general)
    general.update(name="general", fallback=True)
    general["milestones"][0]["badge"] = "first-upload"
    (directory / "general.yaml").write_text(yaml.safe_dump(general, sort_keys=False))
    long = default_playbook()
    always_open(long)
    long.update(name="long", applies_to={"segments": ["*"], "products": ["longplan"]})
    long["milestones"][0]["window_hours"] = 3000
    (directory / "long.yaml").write_text(yaml.safe_dump(long, sort_keys=False))
    return directory


async def carried_playbook(client, handle) -> dict:
    """The playbook in the current run's input (a continued run's carried state), as written."""
    described = await handle.describe()
    history = await client.get_workflow_handle(handle.id, run_id=described.run_id).fetch_history()
    started = next(e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    [payload] = await client.data_converter.payload_codec.decode(
        list(started.workflow_execution_started_event_attributes.input.payloads)
    )
    return json.loads(payload.data)["carried"]["playbook"]["playbook"]


async def decided(client, handle) -> None:
    """Until the journey's current run has completed a workflow task (a run continued as new a
    moment ago has not: `onboarding replay` leaves such a run out), bounded."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        run = (await handle.describe()).run_id
        if record_decided(await client.get_workflow_handle(handle.id, run_id=run).fetch_history()):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{handle.id}: its run {run} never decided anything"
        await asyncio.sleep(0.1)


async def test_a_rollback_keeps_the_journeys_the_newer_build_started(newer_checkout, own_dev_server, tmp_path):
    client = own_dev_server.client
    address = client.service_client.config.target_host
    directory = playbooks(tmp_path / "playbooks")
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": client.namespace,
        "ONBOARDING_PLAYBOOKS_DIR": str(directory),
        "ONBOARDING_DATA_DIR": str(tmp_path / "data-newer"),
        "PYTHONPATH": str(newer_checkout),  # the newer checkout's code, not this one's
    }
    env.pop("SMTP_URL", None)
    env.pop("ONBOARDING_METRICS_ADDRESS", None)
    newer = WorkerProcess(env, tmp_path, cwd=newer_checkout)
    await newer.start()
    try:
        badged = await start_journey(client, TASK_QUEUE, make_deal(), continue_as_new_after=1)
        long = await start_journey(client, TASK_QUEUE, make_deal(product="longplan"))
        for handle in (badged, long):
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        assert (await carried_playbook(client, badged))["milestones"][0]["badge"] == "first-upload"
        newer_run = (await badged.describe()).run_id
        for handle in (badged, long):  # each current run has decided something: replay checks it
            await decided(client, handle)
    finally:
        newer.kill()

    # the older build's check before the rollback: one journey replays, one cannot be read
    out = io.StringIO()
    args = parser().parse_args(["replay", "--address", address, "--namespace", client.namespace, "--jobs", "1"])
    assert await replay_command(args, out=out, err=io.StringIO()) == 1
    report = out.getvalue()
    assert "2 histories replayed: 1 compatible, 1 incompatible" in report
    assert f"{long.id}: does not decode in the current code" in report, report
    assert "schema incompatibility: a PlaybookSnapshot in the history does not decode" in report
    assert "playbook.milestones.0.window_hours: Value error, 3000h: at most 2160 hours (90 days)" in report
    assert "Guard the change with workflow.patched" not in report
    assert badged.id not in report.split("Incompatible with this code:")[1]

    # the rollback: the older build's worker starts on the newer playbook file and goes on
    with structlog.testing.capture_logs() as logs:
        worker.check_playbooks(directory)
    assert any(e["event"] == "playbook.unknown_fields" and e["fields"] == ["milestones.0.badge"] for e in logs)
    settings = ActivitySettings(SMTP_URL=None, ONBOARDING_DATA_DIR=tmp_path / "data-older")
    async with worker.build_worker(client, settings, playbooks=directory):
        await badged.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        status = await wait_for_status(badged, lambda s: s.stage == "first_value")
        assert status.state.value == "awaiting_action"
        # continued as new by the older build: the newer build's field is still there
        deadline = asyncio.get_running_loop().time() + 20
        while (await badged.describe()).run_id == newer_run:  # continued as new after the status answered
            assert asyncio.get_running_loop().time() < deadline, "the older build never continued the journey as new"
            await asyncio.sleep(0.1)
        assert (await carried_playbook(client, badged))["milestones"][0]["badge"] == "first-upload"
        for handle in (badged, long):
            await handle.terminate("test over")
