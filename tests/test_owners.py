"""assign_owner: least-loaded eligible available owner, deterministic ties, clear failure;
load counted through Temporal visibility on the dev server."""

import uuid
from datetime import date

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

from activities.owners import AssignOwnerRequest, choose, visibility_load
from playbooks.roster import Roster
from workflows.search_attributes import OWNER

ROSTER = Roster.model_validate(
    {
        "manager": {"id": "dana", "name": "Dana", "email": "dana@vendor.example"},
        "owners": [
            {"id": "maya", "name": "Maya", "email": "maya@vendor.example", "segments": ["smb"], "capacity": 2, "backup": "leo"},
            {"id": "leo", "name": "Leo", "email": "leo@vendor.example", "segments": ["smb", "enterprise"], "capacity": 5,
             "out_of_office": [{"start": "2026-12-24", "end": "2027-01-02"}]},
            {"id": "priya", "name": "Priya", "email": "priya@vendor.example", "segments": ["enterprise"]},
        ],
    }
)


def request(segment="smb", day=date(2026, 11, 24), **kw):
    return AssignOwnerRequest(deal_id="D-1", segment=segment, as_of=day, **kw)


def test_least_loaded_eligible_owner_wins():
    assert choose(ROSTER, request(), {"maya": 1, "leo": 3}).id == "maya"
    assert choose(ROSTER, request(), {"maya": 2, "leo": 3}).id == "leo"  # maya is at capacity


def test_ties_are_broken_by_id():
    assert choose(ROSTER, request(), {"maya": 1, "leo": 1}).id == "leo"


def test_out_of_office_and_segment_are_respected():
    assert choose(ROSTER, request(day=date(2026, 12, 28)), {}).id == "maya"
    assert choose(ROSTER, request(segment="enterprise", day=date(2026, 12, 28)), {}).id == "priya"


def test_nobody_eligible_fails_clearly():
    with pytest.raises(ApplicationError, match="no eligible owner for segment 'smb' on 2026-12-28"):
        choose(ROSTER, request(day=date(2026, 12, 28)), {"maya": 2})
    with pytest.raises(ApplicationError, match="no eligible owner for segment 'mid-market'"):
        choose(ROSTER, request(segment="mid-market"), {})


def test_explicit_choice_is_checked_against_the_roster():
    assert choose(ROSTER, request(preferred="priya"), {}).id == "priya"
    with pytest.raises(ApplicationError, match="no owner with id 'zed'"):
        choose(ROSTER, request(preferred="zed"), {})
    with pytest.raises(ApplicationError, match="'leo' is out of office on 2026-12-28"):
        choose(ROSTER, request(preferred="leo", day=date(2026, 12, 28)), {})


def test_roster_references_are_validated():
    with pytest.raises(ValueError, match=r"owners.0.backup: no owner with id 'ghost'"):
        Roster.model_validate({"owners": [{"id": "a", "name": "A", "email": "a@v.example", "backup": "ghost"}]})


async def test_visibility_counts_running_journeys_per_owner(dev_env):
    client = dev_env.client
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    other = f"owner-{uuid.uuid4().hex[:6]}"
    # Journeys are started without a worker: they stay Running, which is all visibility needs.
    for i in range(3):
        await client.start_workflow(
            "OnboardingWorkflow",
            {"deal_id": f"load-{owner}-{i}"},
            id=f"onboarding-load-{owner}-{i}",
            task_queue=f"idle-{owner}",
            search_attributes=TypedSearchAttributes([SearchAttributePair(OWNER, owner)]),
        )
    count = visibility_load(client)
    import asyncio

    for _ in range(100):  # visibility is eventually consistent; bounded re-read
        loads = await count([owner, other])
        if loads[owner] == 3:
            break
        await asyncio.sleep(0.1)
    assert loads == {owner: 3, other: 0}
    for i in range(3):
        await client.get_workflow_handle(f"onboarding-load-{owner}-{i}").terminate("test over")
