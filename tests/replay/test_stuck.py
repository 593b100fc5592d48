"""`onboarding stuck`: a journey whose workflow task keeps failing (here: a deploy that changed
a wait, so the new code cannot replay the journey's history) is listed in one step, with
the attempt, the build and the nondeterminism named; a journey that merely waits is not.
On the dev server (visibility: Temporal's `TemporalReportedProblems`)."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

from cli.main import parser
from contracts.signals import ActionTaken
from replay.stuck import STUCK_QUERY, Stuck, find_stuck, stuck_command
from tests.harness.support import (
    always_open,
    load_edited_copy,
    make_deal,
    start_journey,
    wait_for_status,
    write_playbook,
)
from tests.replay.test_replay_corpus import longer_kickoff_window
from workflows.onboarding import OnboardingWorkflow


def command(client, *extra: str) -> argparse.Namespace:
    address = client.service_client.config.target_host
    return parser().parse_args(["stuck", "--address", address, "--namespace", client.namespace, *extra])


async def test_a_journey_failing_its_workflow_task_is_listed_with_its_failure(dev_env, tmp_path, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks, keep_journeys=True) as task_queue:
        stuck = await start_journey(client, task_queue, make_deal())
        waiting = await start_journey(client, task_queue, make_deal())
        for handle in (stuck, waiting):
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")
    narrowed = f"TaskQueue = '{task_queue}'"  # the shared dev server holds other tests' journeys
    out = io.StringIO()
    assert await stuck_command(command(client, "--query", narrowed), out=out) == 0
    assert out.getvalue() == "no journey is failing its workflow task\n"

    changed = load_edited_copy(tmp_path, longer_kickoff_window)  # a deploy that changed a wait
    async with journeys(client, playbooks=playbooks, keep_journeys=True, task_queue=task_queue, journey=changed):
        await stuck.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        deadline = asyncio.get_running_loop().time() + 120
        while not await find_stuck(client, narrowed):  # Temporal marks it after a few failed attempts
            assert asyncio.get_running_loop().time() < deadline, "the failing journey was never listed"
            await asyncio.sleep(1)
        out = io.StringIO()
        assert await stuck_command(command(client, "--query", narrowed), out=out) == 1
    text = out.getvalue()
    assert text.startswith("1 journey(s) failing their workflow task")
    assert f"  {stuck.id} (run {stuck.result_run_id}): attempt " in text
    assert "on an unversioned worker, state awaiting_action" in text
    assert "nondeterminism: this build cannot replay the journey's history" in text
    assert "[TMPRL1100] Nondeterminism error" in text
    assert waiting.id not in text
    assert 'How to recover them: docs/support.md, "A journey whose workflow task keeps failing".' in text
    for handle in (stuck, waiting):
        await handle.terminate("test over")


def test_the_support_guide_s_saved_list_is_the_query_the_command_runs():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "support.md").read_text()
    assert f"```sql\n{STUCK_QUERY}\n```" in guide


def test_each_failure_is_named_for_what_recovers_it():
    def stuck(cause: str, failure: str) -> Stuck:
        return Stuck("onboarding-D-1", "r-1", "awaiting_action", 6, "2026-11-23.2", cause, failure)

    nondeterminism = stuck("NON_DETERMINISTIC_ERROR", "[TMPRL1100] Nondeterminism error: ...")
    assert nondeterminism.kind() == "nondeterminism: this build cannot replay the journey's history"
    schema = stuck(
        "WORKFLOW_WORKER_UNHANDLED_FAILURE",
        "Failed decoding arguments: 1 validation error for PlaybookSnapshot playbook.milestones.0.window_hours ...",
    )
    assert schema.kind() == "schema incompatibility: this build cannot decode a payload in the journey's history"
    assert schema.lines()[0] == "  onboarding-D-1 (run r-1): attempt 6 on build 2026-11-23.2, state awaiting_action"
    assert stuck("WORKFLOW_WORKER_UNHANDLED_FAILURE", "boom").kind() == "workflow task failure"
