"""`make run` pieces: the dev server command line, and reruns on an existing SQLite file.

The whole stack is not started here (slow, fixed ports); the dev server is, on free ports.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts.support_lists import LISTS
from devstack.__main__ import (
    DEV_WEBHOOK_SECRET,
    Config,
    child_env,
    dev_server_command,
    support_lines,
    temporal_binary,
)
from devstack.search_attributes import (
    SEARCH_ATTRIBUTES,
    SearchAttributeConflict,
    ensure_registered,
    registered,
)
from devstack.testing import connect, dev_server

EXPECTED = {
    "OnboardingStage": "Keyword",
    "OnboardingState": "Keyword",
    "OnboardingOwner": "Keyword",
    "DealId": "Keyword",
    "CustomerId": "Keyword",
    "Segment": "Keyword",
    "NextActionDue": "Datetime",
    "EscalationLevel": "Int",
    "OwnerOverCapacity": "Bool",
    "PlaybookVariant": "Keyword",
    "OnboardingAssignee": "Keyword",
}


def test_search_attribute_list_matches_the_design() -> None:
    assert dict(SEARCH_ATTRIBUTES) == EXPECTED
    assert len(SEARCH_ATTRIBUTES) == len(EXPECTED)  # no duplicates


def test_dev_server_command_line() -> None:
    cmd = dev_server_command("/venv/bin/temporal", ".data/temporal.db")
    assert cmd[:3] == ["/venv/bin/temporal", "server", "start-dev"]

    def value(flag: str) -> str:
        return cmd[cmd.index(flag) + 1]

    assert value("--db-filename") == ".data/temporal.db"
    assert (value("--port"), value("--ui-port"), value("--ip")) == ("7233", "8233", "127.0.0.1")
    assert value("--namespace") == "default"
    pairs = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--search-attribute"]
    assert sorted(pairs) == sorted(f"{n}={k}" for n, k in EXPECTED.items())


def test_make_run_uses_the_temporal_binary_next_to_the_interpreter() -> None:
    assert temporal_binary().name == "temporal"
    assert temporal_binary().exists()


def test_child_env_points_at_the_local_stack() -> None:
    cfg = Config(data_dir=Path("/x/.data"))
    env = child_env(cfg, {"PATH": "/bin", "TEMPORAL_API_KEY": "k", "TEMPORAL_ADDRESS": "cloud:7233"})
    assert env["TEMPORAL_ADDRESS"] == "127.0.0.1:7233"
    assert env["TEMPORAL_NAMESPACE"] == "default"
    assert env["SMTP_URL"] == "smtp://127.0.0.1:1025"
    assert env["ONBOARDING_DATA_DIR"] == "/x/.data"
    assert "TEMPORAL_API_KEY" not in env
    assert env["ONBOARDING_WEBHOOK_SECRET"] == DEV_WEBHOOK_SECRET
    assert DEV_WEBHOOK_SECRET.startswith("whsec_")
    mine = child_env(cfg, {"ONBOARDING_WEBHOOK_SECRET": "whsec_bWluZQ=="})
    assert mine["ONBOARDING_WEBHOOK_SECRET"] == "whsec_bWluZQ=="


def test_make_run_prints_the_support_links_landing_on_its_web_ui() -> None:
    cfg = Config(data_dir=Path("/x/.data"))
    assert child_env(cfg, {})["TEMPORAL_UI_URL"] == "http://localhost:8233"
    printed = "\n".join(support_lines("http://localhost:8000"))
    assert "http://localhost:8000/support " in printed
    for living in LISTS:
        assert f"http://localhost:8000/support/{living.path} " in printed


# --- the real dev server -------------------------------------------------------------------


async def test_rerun_on_the_same_sqlite_file_keeps_data_and_attributes(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    with dev_server(db) as address:
        client = await connect(address)
        assert await registered(client, "default") == EXPECTED
        await client.start_workflow("OnboardingWorkflow", "x", id="onboarding-D-keep", task_queue="nobody-polls")
    # Second start on the same file: must not fail on attributes that exist.
    with dev_server(db) as address:
        client = await connect(address)
        assert await registered(client, "default") == EXPECTED
        assert await ensure_registered(client, "default") == []
        desc = await client.get_workflow_handle("onboarding-D-keep").describe()
        assert desc.workflow_type == "OnboardingWorkflow"


async def test_rerun_adds_attributes_the_old_file_lacks(tmp_path: Path) -> None:
    """`--search-attribute` is ignored on an existing file, so `make run` reconciles."""
    db = tmp_path / "temporal.db"
    with dev_server(db, drop=("EscalationLevel", "NextActionDue")) as address:
        await connect(address)
    with dev_server(db) as address:
        client = await connect(address)
        have = await registered(client, "default")
        assert "EscalationLevel" not in have and "NextActionDue" not in have  # the CLI's part
        added = await ensure_registered(client, "default")
        assert sorted(added) == ["EscalationLevel", "NextActionDue"]
        assert await registered(client, "default") == EXPECTED

        with pytest.raises(SearchAttributeConflict, match="EscalationLevel is Int, expected Keyword"):
            await ensure_registered(client, "default", (("EscalationLevel", "Keyword"),))


# --- make demo -------------------------------------------------------------------------------


def test_demo_deal_is_a_valid_deal_closed_body() -> None:
    from datetime import datetime

    from contracts.deal import DealClosed
    from contracts.journey import JourneyInput
    from devstack.demo import default_deal_id, demo_deal

    now = datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)
    deal_id = default_deal_id(now)
    assert deal_id == "D-DEMO-20261120-150405"
    deal = DealClosed.model_validate(demo_deal(deal_id, now))
    assert deal.closed_at == now and deal.champion.email == "ana@acme.example"
    JourneyInput.model_validate({"deal_id": deal_id, "deal": demo_deal(deal_id, now)})


async def test_demo_starts_one_journey_idempotently(tmp_path: Path) -> None:
    from contracts.journey import JourneyInput
    from devstack.demo import demo_account, start_demo
    from records.accounts import AccountDirectory
    from records.database import Database
    from tests.harness.privacy_keys import CONVERTER

    with dev_server(tmp_path / "temporal.db") as address:
        await connect(address)
        kw: dict[str, Any] = dict(
            address=address, namespace="default", ui_url="http://localhost:8233", acknowledge_within=0.5
        )
        records = Database.from_settings(None, tmp_path / "data")
        try:
            wf_id, link, owner = await start_demo("D-42", **kw, records=records)
            # staff find the demo's customer by its company name, as a webhook's
            found = await AccountDirectory(records).find(demo_account("D-42")["name"].upper())
            assert [(m.deal_id, m.account_id) for m in found.matches] == [("D-42", "A-42")]
        finally:
            await records.dispose()
        assert wf_id == "onboarding-D-42" and owner is None  # no worker: nobody assigned yet
        assert link == "http://localhost:8233/namespaces/default/workflows/onboarding-D-42"
        assert (await start_demo("D-42", **kw))[0] == wf_id  # rerun: same journey, no error

        client = await Client.connect(address, data_converter=CONVERTER)
        runs = [w async for w in client.list_workflows('WorkflowId = "onboarding-D-42"')]
        assert len(runs) == 1 and runs[0].task_queue == "onboarding"
        history = await client.get_workflow_handle(wf_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.workflow_type.name == "OnboardingWorkflow"
        [payload] = started.input.payloads
        [journey] = await CONVERTER.decode([payload], [JourneyInput])
        assert journey.deal_id == "D-42" and journey.deal.account.model_dump(include={"id", "name"}) == demo_account(
            "D-42"
        )


def test_every_demo_journey_is_a_customer_of_its_own() -> None:
    from devstack.demo import demo_account

    accounts = [demo_account(f"D-DEMO-20261120-1504{second:02d}") for second in range(12)]
    assert len({a["id"] for a in accounts}) == len({a["name"] for a in accounts}) == 12
    assert all(a["id"] != "ACME-1" for a in accounts)
    assert demo_account("D-42")["id"] == "A-42"


async def test_demo_plays_the_owner_so_the_kickoff_goes_out(tmp_path: Path) -> None:
    from activities.settings import ActivitySettings
    from devstack.demo import start_demo
    from tests.harness.privacy_keys import CONVERTER
    from worker import build_worker

    with dev_server(tmp_path / "temporal.db") as address:
        await connect(address)
        client = await Client.connect(address, data_converter=CONVERTER)
        settings = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path / "data")
        async with build_worker(client, settings):  # task queue `onboarding`, shipped playbook
            wf_id, _, owner = await start_demo(
                "D-43", address=address, namespace="default", ui_url="http://x", zone="Pacific/Kiritimati"
            )
            assert owner == "leo"
            handle = client.get_workflow_handle(wf_id)
            for _ in range(200):  # bounded: the worker reacts to the signal asynchronously
                timeline = (await handle.query("status"))["timeline"]
                if any(e["event"] == "owner acknowledged" for e in timeline):
                    break
                await asyncio.sleep(0.05)
            assert any(e["event"] == "owner acknowledged" and e["detail"] == "leo" for e in timeline)
