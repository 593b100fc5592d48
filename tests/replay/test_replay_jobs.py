"""`onboarding replay --jobs N` replays in N processes and says exactly what one process
says: the same count, the same verdicts, the incompatible journeys named with their event,
progress on stderr. The histories are encrypted (tests/conftest.py sets the codec keys), so
the jobs decode them with the client's codec or fail."""

from __future__ import annotations

import asyncio
import io
import uuid

from cli.main import parser
from replay.cli import replay_command
from tests.harness.support import (
    always_open,
    make_deal,
    start_journey,
    told,
    wait_for_status,
    write_playbook,
)

INCOMPATIBLE = '''
from datetime import timedelta
from typing import Any

from temporalio import workflow


@workflow.defn(name="OnboardingWorkflow")
class OnboardingWorkflow:
    """Code that waits first where the recorded journeys scheduled an activity."""

    @workflow.run
    async def run(self, input: Any) -> None:
        await workflow.sleep(timedelta(hours=1))
'''


async def replay_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await replay_command(parser().parse_args(["replay", *argv]), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def test_jobs_give_the_same_verdicts_as_one_process(dev_env, tmp_path, monkeypatch, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks) as task_queue:
        handles = [await start_journey(client, task_queue, make_deal()) for _ in range(5)]
        for handle in handles:
            await wait_for_status(handle, told("first_action"))
        query = f"WorkflowType = 'OnboardingWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'"
        deadline = asyncio.get_running_loop().time() + 20
        while (await client.count_workflows(query)).count != len(handles):  # visibility catches up
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        address = client.service_client.config.target_host

        for jobs in ("1", "2"):
            code, out, err = await replay_cli("--address", address, "--query", query, "--jobs", jobs)
            assert code == 0, out + err
            assert "5 histories replayed: 5 compatible, 0 incompatible" in out
            assert "replayed 5 (5 ok, 0 failed)" in err  # the progress line

        name = f"incompatible_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(INCOMPATIBLE)
        monkeypatch.syspath_prepend(str(tmp_path))  # the jobs import it by name, as the parent does
        code, out, err = await replay_cli(
            "--address", address, "--query", query, "--jobs", "2", "--workflow", f"{name}:OnboardingWorkflow"
        )
        assert code == 1, out + err
        assert "5 histories replayed: 0 compatible, 5 incompatible" in out
        listed = out.split("Incompatible with this code:")[1]
        assert all(h.id in listed for h in handles)
        assert "at event" in out and "(not located" not in out
