"""Playbook experiments: variants validate with file, field and reason; a deal gets the same
variant every time (a retried activity, a replay), and the journey carries it into its
moments, its current details and the PlaybookVariant search attribute (dev server)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import ActivityEnvironment

from activities.playbook import PlaybookActivities
from contracts.playbook import SnapshotRequest
from contracts.search_attributes import PLAYBOOK_VARIANT
from playbooks import variants
from playbooks.loader import PlaybookError, load_all
from records.database import Database
from records.moments import MomentStore
from tests.harness.support import (
    assert_replays,
    make_deal,
    start_journey,
    told,
    wait_for_status,
    write_playbook,
)

SAMPLE = {"title": "Load the sample dataset", "instruction": "Load the sample dataset with one click.",
          "link": "https://app.example.com/datasets/sample", "events": ["sample_loaded_first"]}  # fmt: skip


def experiment(playbook, weights=(1, 1), names=("upload", "sample")):
    playbook["variants"] = [
        {"name": names[0], "weight": weights[0]},
        {"name": names[1], "weight": weights[1], "overrides": {"first_action": SAMPLE, "follow_up_wait_hours": 48}},
    ]


def always_open_experiment(playbook):
    playbook["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "proactive_per_day": 10}  # fmt: skip
    experiment(playbook)


def problem(tmp_path, change) -> str:
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def test_a_weight_that_is_not_positive_is_named(tmp_path):
    message = problem(tmp_path, lambda d: experiment(d, weights=(1, 0)))
    assert "test.yaml" in message and "variants.1.weight: Input should be greater than 0" in message


def test_duplicate_variant_names_are_named(tmp_path):
    message = problem(tmp_path, lambda d: experiment(d, names=("a", "a")))
    assert "test.yaml" in message and "variants: Value error, duplicate variant name(s) ['a']" in message


def test_overrides_that_break_the_playbook_are_named(tmp_path):
    def too_slow(d):
        experiment(d)
        d["variants"][1]["overrides"]["follow_up_wait_hours"] = 100  # the first window is 72 h

    message = problem(tmp_path, too_slow)
    assert (
        "test.yaml" in message
        and "variants: Value error, 1 ('sample').overrides: the playbook with them is not valid" in message
    )
    assert (
        "not valid: follow_ups.0.wait_hours: a follow-up waits less than the milestone window (100.0 >= 72.0)"
        in message
    )


def test_assignment_is_stable_per_deal_and_follows_the_weights(tmp_path):
    snapshot = load_all(write_playbook(tmp_path, lambda d: experiment(d, weights=(3, 1))))[0]
    picks = [variants.pick(snapshot, f"D-{i}") for i in range(4000)]
    assert picks == [variants.pick(snapshot, f"D-{i}") for i in range(4000)]
    assert 0.72 < Counter(picks)["upload"] / 4000 < 0.78
    chosen = variants.assign(snapshot, "D-7")
    assert chosen.variant == variants.pick(snapshot, "D-7") and chosen.digest == snapshot.digest
    sample = next(variants.assign(snapshot, f"D-{i}") for i, p in enumerate(picks) if p == "sample")
    assert sample.playbook.milestones[0].action.title == "Load the sample dataset"
    assert {f.wait_hours for m in sample.playbook.milestones for f in m.follow_ups} == {48}


async def test_a_retried_snapshot_activity_picks_the_same_variant(tmp_path):
    acts = PlaybookActivities(write_playbook(tmp_path, experiment))
    env = ActivityEnvironment()
    env.info = env.info.__class__(**{**env.info.__dict__, "workflow_id": "onboarding-D-42"})
    first = await env.run(acts.snapshot_playbook, SnapshotRequest(segment="smb", product="analytics"))
    again = await env.run(acts.snapshot_playbook, SnapshotRequest(segment="smb", product="analytics"))
    named = await ActivityEnvironment().run(
        acts.snapshot_playbook, SnapshotRequest(segment="smb", product="analytics", deal_id="D-42")
    )
    assert first.variant is not None and first.variant == again.variant == named.variant


async def test_the_journey_carries_its_variant_through_a_replay(dev_env, tmp_path, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open_experiment)
    snapshot = load_all(playbooks)[0]
    deals = [make_deal(f"V-{i}") for i in range(6)]
    expected = {d.deal_id: variants.pick(snapshot, d.deal_id) for d in deals}
    assert set(expected.values()) == {"upload", "sample"}  # both arms among these deals
    async with journeys(client, playbooks=playbooks) as task_queue:
        handles = [await start_journey(client, task_queue, d) for d in deals]
        for deal, handle in zip(deals, handles, strict=True):
            await wait_for_status(handle, told("first_action"), seconds=60)
            metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            assert (
                f"**Playbook:** {snapshot.playbook.name} · variant `{expected[deal.deal_id]}`"
                in metadata.current_details
            )
            deadline = asyncio.get_running_loop().time() + 20
            while (await handle.describe()).typed_search_attributes.get(PLAYBOOK_VARIANT) != expected[deal.deal_id]:
                assert asyncio.get_running_loop().time() < deadline  # bounded: visibility catches up
                await asyncio.sleep(0.05)
            await assert_replays(handle)
    db = Database.from_settings(None, tmp_path / "data")
    try:
        for deal in deals:
            recorded = await MomentStore(db).list(deal_id=deal.deal_id)
            assert recorded and {m.variant for m in recorded} == {expected[deal.deal_id]}
    finally:
        await db.dispose()
