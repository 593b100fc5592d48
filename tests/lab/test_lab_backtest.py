"""`onboarding backtest` against histories recorded on a dev server (real clock, real
worker, real activities), from journeys driven by scripted customers.

The dev server runs on the real clock, so the recorded playbook counts in seconds: the
default playbook with business hours around the clock and a first milestone of 12 s with
3 s follow-ups. The candidate shortens the first window to a third (4 s), as 24 h is to
72 h. Customers act a second or more away from any timer, and the journeys start a
second apart, so the latency of a busy machine cannot change their path."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any

import yaml

from lab.backtest import default_query
from replay.record import SECOND, recording_playbook
from tests.harness.support import journey_worker, make_deal, start_journey, wait_for_status

ONBOARDING = Path(sys.executable).parent / "onboarding"


def seconds_playbook(first_window: float) -> dict[str, Any]:
    def change(data: dict[str, Any]) -> None:
        first = data["milestones"][0]
        first["window_hours"] = first_window * SECOND
        for follow_up in first["follow_ups"]:
            follow_up["wait_hours"] = 3 * SECOND
        data["expectations"] = {}

    return recording_playbook(change)


def sent(status, step: str) -> int:
    return sum(e.event == f"sent {step}" for e in status.timeline)


async def record_journeys(client, tmp_path: Path, customer_id: str) -> None:
    """Four customers on the recorded playbook: fast, slow (acts a second after the
    clarify), silent (escalated, then the deal is lost), and one who asks for help and is
    helped (staff retry) before acting."""
    playbooks = tmp_path / "recorded"
    playbooks.mkdir()
    (playbooks / "seconds.yaml").write_text(yaml.safe_dump(seconds_playbook(12), sort_keys=False))
    loop = asyncio.get_running_loop()
    async with journey_worker(client, tmp_path, playbooks=playbooks) as task_queue:
        # A warm worker, as in production: the first journey a fresh worker runs waits a
        # second for its sandbox, which would blur offsets measured in seconds.
        warm = await start_journey(client, task_queue, make_deal(f"BT-warm-{customer_id}"))
        await wait_for_status(
            warm,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        await warm.signal("cancel", {"reason": "warm-up over"})
        await warm.result()

        async def start(name: str):
            await asyncio.sleep(["fast", "slow", "silent", "help"].index(name))  # one new journey at a time
            deal = make_deal(f"BT-{name}-{customer_id}", account={"id": customer_id})
            handle = await start_journey(client, task_queue, deal)
            return handle, loop.time()

        async def at(t0: float, seconds: float) -> None:
            # the customer's own pace, on the real clock the dev server runs on
            await asyncio.sleep(max(0.0, t0 + seconds - loop.time()))

        async def fast() -> None:
            handle, t0 = await start("fast")
            await at(t0, 0.5)  # the product also reports events no playbook step waits for
            await handle.signal("action_taken", {"action": "report_exported", "event_id": "f-0"})
            await at(t0, 1)
            await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "f-1"})
            await wait_for_status(handle, lambda s: s.stage == "first_value")
            await handle.signal("cancel", {"reason": "recording over"})

        async def slow() -> None:
            handle, t0 = await start("slow")
            await wait_for_status(handle, lambda s: sent(s, "clarify") == 1, seconds=30)  # at 12 s
            await at(t0, 14)
            await handle.signal("action_taken", {"action": "sample_dataset_loaded", "event_id": "s-1"})
            await wait_for_status(handle, lambda s: s.stage == "first_value")
            await at(t0, 22.5)
            await handle.signal("cancel", {"reason": "recording over"})

        async def silent() -> None:
            handle, t0 = await start("silent")
            await wait_for_status(handle, lambda s: s.state.value == "escalated", seconds=30)
            await at(t0, 22.5)
            await handle.signal("cancel", {"reason": "deal lost"})

        async def helped() -> None:
            handle, t0 = await start("help")
            await at(t0, 1)
            await handle.signal("help_requested", {"message": "which file?", "event_id": "h-1"})
            await wait_for_status(handle, lambda s: s.state.value == "escalated")
            await at(t0, 2)
            await handle.execute_update(
                "resolve_escalation", {"decision": "retry", "by": "maya", "note": "sent a sample"}
            )
            await at(t0, 3)
            await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "h-2"})
            await wait_for_status(handle, lambda s: s.stage == "first_value")
            await handle.signal("cancel", {"reason": "recording over"})

        await asyncio.gather(fast(), slow(), silent(), helped())
        for name in ("fast", "slow", "silent", "help"):
            await client.get_workflow_handle(f"onboarding-BT-{name}-{customer_id}").result()


def backtest(address: str, customer_id: str, *extra: str | Path) -> tuple[list[dict], dict, str]:
    run = subprocess.run(
        [
            str(ONBOARDING),
            "backtest",
            "--address",
            address,
            "--query",
            f"CustomerId = '{customer_id}'",
            "--tolerance",
            "2.5s",
            "--jobs",
            "4",
            "--json",
            *map(str, extra),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    totals = lines[-1]
    assert "counterfactual" in totals["counterfactual"]
    return lines[:-1], totals["totals"], run.stdout


async def test_backtest_of_recorded_journeys(dev_env, tmp_path):
    client = dev_env.client
    customer_id = f"BT-{uuid.uuid4().hex[:8]}"
    await record_journeys(client, tmp_path, customer_id)
    address = client.service_client.config.target_host

    # the unchanged playbook (each journey's own recorded snapshot): the lab reproduces them
    journeys, totals, out = backtest(address, customer_id)
    assert totals["journeys"] == 4 and totals["problems"] == 0
    assert totals["differing"] == 0 and journeys == [], out
    assert totals["messages_before"] == totals["messages_after"] == 12
    assert totals["follow_ups_before"] == totals["follow_ups_after"] == 4
    assert totals["escalations_before"] == totals["escalations_after"] == 2
    assert totals["unplaced"] == {"action_taken report_exported": 1}  # behaviour the candidate cannot place

    # the candidate: first window a third as long
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(seconds_playbook(4), sort_keys=False))
    journeys, totals, out = backtest(address, customer_id, "--playbook", candidate)
    assert totals["journeys"] == 4 and totals["differing"] == 2, out
    assert (totals["follow_ups_before"], totals["follow_ups_after"]) == (4, 6)
    assert (totals["messages_before"], totals["messages_after"]) == (12, 14)
    assert (totals["escalations_before"], totals["escalations_after"]) == (2, 3)
    by_id = {j["workflow_id"]: j for j in journeys}
    slow = {c["token"]: c for c in by_id[f"onboarding-BT-slow-{customer_id}"]["changes"]}
    assert (
        slow["first_action.clarify"]["before_seconds"] > 11.5
        and 3.5 < slow["first_action.clarify"]["after_seconds"] < 5
    )
    assert (
        slow["first_action.simplify"]["before_seconds"] is None
        and 6.5 < slow["first_action.simplify"]["after_seconds"] < 8.5
    )
    assert slow["first_action.redirect"]["before_seconds"] is None
    assert slow["escalation first_action"]["before_seconds"] is None  # a human now, then the customer acts
    silent = {c["token"]: c for c in by_id[f"onboarding-BT-silent-{customer_id}"]["changes"]}
    assert (
        silent["first_action.clarify"]["before_seconds"] > 11.5 and silent["first_action.clarify"]["after_seconds"] < 5
    )
    assert (
        silent["escalation first_action"]["before_seconds"] > 20.5
        and silent["escalation first_action"]["after_seconds"] < 15
    )
    assert set(by_id) == {f"onboarding-BT-{n}-{customer_id}" for n in ("slow", "silent")}  # fast and help: unchanged
    assert by_id[f"onboarding-BT-slow-{customer_id}"]["before"]["outcome"]["follow_ups"] == 1
    assert by_id[f"onboarding-BT-slow-{customer_id}"]["after"]["outcome"]["follow_ups"] == 3


def test_default_query_selects_journeys_started_in_the_last_90_days():
    from datetime import datetime

    query = default_query(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert query == "WorkflowType = 'OnboardingWorkflow' AND StartTime > '2026-08-22T12:00:00Z'"
