"""Worker Deployment Versioning on the dev server: the worker runs as the version named in
its environment; the rollout, ramp and rollback commands of docs/versioning.md move an
AUTO_UPGRADE journey between builds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid

import pytest
from temporalio.api.enums.v1 import VersioningBehavior as ApiVersioningBehavior
from temporalio.common import VersioningBehavior

from activities.settings import ActivitySettings
from contracts.signals import ActionTaken, Cancel
from tests.conftest import TEMPORAL_CLI
from tests.harness.support import always_open, make_deal, start_journey, wait_for_status, write_playbook
from worker import build_worker, deployment_from_env
from workflows.onboarding import OnboardingWorkflow


def test_deployment_version_comes_from_the_environment():
    assert deployment_from_env({}) is None
    config = deployment_from_env({"ONBOARDING_DEPLOYMENT_NAME": "onboarding", "ONBOARDING_BUILD_ID": "2026-11-23.1"})
    assert config is not None and config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == ("onboarding", "2026-11-23.1")
    assert config.default_versioning_behavior is VersioningBehavior.AUTO_UPGRADE
    with pytest.raises(ValueError, match="both"):
        deployment_from_env({"ONBOARDING_BUILD_ID": "x"})


async def cli(address: str, *args: str) -> dict:
    """A `temporal worker deployment` command as docs/versioning.md writes it. A version is
    known to the server only once its pollers have reached it, so retry briefly."""
    command = [str(TEMPORAL_CLI), "worker", "deployment", *args, "--address", address]
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        done = await asyncio.to_thread(
            subprocess.run, [*command, "--output", "json"], capture_output=True, text=True, timeout=30
        )
        if done.returncode == 0:
            return json.loads(done.stdout) if done.stdout.strip() else {}
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{' '.join(command)} failed: {done.stderr}")
        await asyncio.sleep(0.2)


async def build_of(handle) -> tuple[int, str]:
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.behavior, info.deployment_version.build_id


async def runs_on(handle, build_id: str) -> None:
    """An AUTO_UPGRADE journey moves at its next workflow task. Give it tasks (a repeated
    event id: ignored as a duplicate, nothing else changes) until it has run on `build_id`,
    bounded: the new routing reaches the task queues a moment after the command returns."""
    deadline = asyncio.get_running_loop().time() + 20
    while (await build_of(handle))[1] != build_id:
        assert asyncio.get_running_loop().time() < deadline, (
            f"journey never ran on {build_id}: {await build_of(handle)}"
        )
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        await asyncio.sleep(0.2)


async def test_rollout_ramp_and_rollback_on_the_dev_server(dev_env, tmp_path):
    client = dev_env.client
    address = client.service_client.config.target_host
    name = f"onboarding-{uuid.uuid4().hex[:6]}"
    task_queue = f"deploy-{uuid.uuid4().hex[:6]}"
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    settings = ActivitySettings(SMTP_URL=None, ONBOARDING_DATA_DIR=tmp_path / "data")

    def worker(build_id: str):
        env = {"ONBOARDING_DEPLOYMENT_NAME": name, "ONBOARDING_BUILD_ID": build_id}
        return build_worker(
            client, settings, task_queue=task_queue, playbooks=playbooks, deployment_config=deployment_from_env(env)
        )

    async with worker("build-1"):
        await cli(address, "set-current-version", "--deployment-name", name, "--build-id", "build-1", "--yes")
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        assert await build_of(handle) == (ApiVersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE, "build-1")

        async with worker("build-2"):
            # ramp: a share of workflow tasks goes to the new build
            await cli(
                address,
                "set-ramping-version",
                "--deployment-name",
                name,
                "--build-id",
                "build-2",
                "--percentage",
                "25",
                "--yes",
            )
            described = await cli(address, "describe", "--name", name)
            assert "build-2" in json.dumps(described.get("routingConfig", described))
            # roll out: build-2 becomes current, the running journey follows at its next task
            await cli(address, "set-current-version", "--deployment-name", name, "--build-id", "build-2", "--yes")
            await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
            await runs_on(handle, "build-2")
            # roll back: build-1 is current again, and the journey goes back with it
            await cli(address, "set-current-version", "--deployment-name", name, "--build-id", "build-1", "--yes")
            await runs_on(handle, "build-1")
            status = await handle.query(OnboardingWorkflow.status)
            assert status.stage == "first_value"  # one journey, carried across both builds
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
