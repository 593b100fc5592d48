"""worker.py: JSON logs without contact details, clean shutdown on SIGTERM/SIGINT."""

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from contracts.signals import Cancel, HelpRequested
from contracts.status import OnboardingState
from tests.harness.support import advance_until, make_deal, start_journey
from workflows.onboarding import OnboardingWorkflow

ROOT = Path(__file__).resolve().parents[2]


async def test_logs_are_json_lines_without_contact_details(ts_env, tmp_path, json_logs, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(
            ts_env,
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        secret_note = "call me on +1 555 0100 or ana.private@acme.example"
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message=secret_note, event_id="h-1"))
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(minutes=1))
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    out = json_logs.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]  # every line is one JSON object
    transitions = [line for line in lines if line["event"] == "journey transition"]
    assert {t["state"] for t in transitions} >= {"awaiting_action", "escalated", "closed"}
    assert all(t["temporal_workflow"]["workflow_id"] == handle.id for t in transitions)  # the SDK's workflow context
    [task] = [line for line in lines if line["event"] == "escalation.task"]
    assert task["escalation_level"] == 1 and task["level"] == "info"
    for text in ("ana@acme.example", "Ana Ruiz", "ana.private@acme.example", "555 0100"):
        assert text not in out


def test_worker_stops_cleanly_on_sigterm(dev_env, tmp_path):
    env = dict(
        os.environ,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE="default",
        ONBOARDING_DATA_DIR=str(tmp_path),
    )
    proc = subprocess.Popen(
        [sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:  # blocks until the worker reports it polls
            if '"worker.started"' in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert '"worker.stopped"' in out
    assert "Fatal Python error" not in err
