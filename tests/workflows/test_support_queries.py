"""Every saved List Filter query in docs/support.md returns exactly the expected journeys on
the dev server (real visibility, real clock).

The queries are read out of the guide (blocks marked `<!-- list-filter: name -->`). One set
of journeys is driven into every state the lists tell apart; each query, with the guide's
example values replaced by real ones, must list exactly the journeys named below. This
run's journeys are told apart from other tests' on the shared server by their task queue,
AND-ed onto each query here (the guide's queries stay as staff paste them)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import yaml
from temporalio.client import Client, WorkflowHandle

from contracts.journey import workflow_id_for
from contracts.messages import MessageRequest
from contracts.signals import Cancel, HelpRequested
from contracts.staff import ReassignOwner
from contracts.status import OnboardingState
from owners.roster import Roster
from tests.harness.staff import fill, guide_queries, start_described_journey
from tests.harness.support import (
    default_playbook,
    journey_worker,
    leo_takes_every_deal,
    make_deal,
    status,
    wait_for_status,
)
from tests.harness.traffic import HeldSend
from workflows.onboarding import OnboardingWorkflow

ALWAYS_OPEN = {
    "start": "00:00",
    "end": "23:59:59",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "proactive_per_day": 10,
}


def _playbook(name: str, products: list[str], change=None) -> dict:
    data = default_playbook()
    data["name"] = name
    data["applies_to"] = {"segments": ["*"], "products": products}
    data["business_hours"] = dict(ALWAYS_OPEN)
    if change:
        change(data)
    return data


def _due_soon(data: dict) -> None:
    # due in two hours: inside "today" but far from "past due"
    first = data["milestones"][0]
    first["window_hours"] = 2
    for follow_up in first["follow_ups"]:
        follow_up["wait_hours"] = 1


def _stuck(data: dict) -> None:
    # a 3-second window: the clarify falls due at once, and its send never completes
    # (`ClarifyNeverSent`), so the journey sits in awaiting_action past its due time
    first = data["milestones"][0]
    first["window_hours"] = 3 / 3600
    first["follow_ups"] = first["follow_ups"][:1]
    first["follow_ups"][0]["wait_hours"] = 2 / 3600


def _unanswered(data: dict) -> None:
    # window and follow-up run out in seconds, then nobody answers the escalation: it
    # climbs owner -> backup -> manager within a few seconds
    first = data["milestones"][0]
    first["window_hours"] = 1.5 / 3600
    first["follow_ups"] = first["follow_ups"][:1]
    first["follow_ups"][0]["wait_hours"] = 1 / 3600
    data["escalation"]["sla_hours"] = 1 / 3600


def write_playbooks(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    books = {
        "standard": _playbook("standard", ["*"]),
        "due-soon": _playbook("due-soon", ["due-soon"], _due_soon),
        "stuck": _playbook("stuck", ["stuck"], _stuck),
        "unanswered": _playbook("unanswered", ["unanswered"], _unanswered),
    }
    for name, data in books.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def calm_zone(now: datetime) -> str:
    """A customer zone where it is not close to midnight, so the held follow-up of the
    'stuck' journey cannot go out while the test runs (it waits for the next local day)."""
    for zone in ("UTC", "America/Chicago", "Asia/Tokyo", "Europe/Berlin", "Pacific/Auckland"):
        if 1 <= now.astimezone(ZoneInfo(zone)).hour <= 21:
            return zone
    raise AssertionError("no calm zone")  # the zones above span the whole day


class ClarifyNeverSent(HeldSend):
    """The 'stuck' journey's clarify never goes out (as when the mail server is down): the
    journey stays on its own step, past the due time it shows."""

    async def _through(self, request: MessageRequest) -> None:
        if request.kind == "clarify" and request.deal_id.endswith("-S"):
            self.calls.append(request)
            await asyncio.Event().wait()  # until the worker stops


def clarify_never_sent(real: list) -> list:
    by_name = {a.__name__: a for a in real}
    return [*(a for a in real if a.__name__ != "send_message"), ClarifyNeverSent(by_name["send_message"]).send_message]


@dataclass
class Journeys:
    """This run's journeys, by the letter the expectations use."""

    run: str
    task_queue: str
    started: datetime
    handles: dict[str, WorkflowHandle] = field(default_factory=dict)

    def deal(self, key: str) -> str:
        return f"SUP-{self.run}-{key}"

    def customer(self, key: str) -> str:
        return f"CUST-{self.run}-{key}"

    def ids(self, keys: str) -> set[str]:
        return {workflow_id_for(self.deal(k)) for k in keys}


async def drive(client: Client, task_queue: str, run: str, started: datetime) -> Journeys:
    j = Journeys(run=run, task_queue=task_queue, started=started)
    zone = calm_zone(started)

    async def start(
        key: str, product: str = "analytics", customer: str | None = None, segment: str = "smb"
    ) -> WorkflowHandle:
        account = {"id": j.customer(customer or key), "timezone": zone}
        deal = make_deal(j.deal(key), product=product, segment=segment, account=account)
        handle = await start_described_journey(client, task_queue, deal)
        j.handles[key] = handle
        return handle

    def directed(s):  # told the one action: the journey waits on the customer, by a due time
        return s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None

    async def on_track():  # A: told the one action, due in 72 h; customer X
        await wait_for_status(await start("A", customer="X"), directed)

    async def lost():  # F: same customer X, deal lost
        handle = await start("F", customer="X")
        await wait_for_status(handle, directed)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        assert (await handle.result()).state is OnboardingState.closed

    async def due_soon():  # B: due in 2 h
        await wait_for_status(await start("B", "due-soon"), directed)

    async def stuck():  # S: due time passed, its clarify never sent
        handle = await start("S", "stuck")
        await wait_for_status(
            handle,
            lambda s: directed(s) and s.next_action.due_at < datetime.now(UTC) - timedelta(seconds=1),
        )
        assert (await status(handle)).state is OnboardingState.awaiting_action

    async def escalated_leo():  # E: customer asked for help; owner leo
        handle = await start("E")
        await wait_for_status(handle, directed)
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck on CSV", event_id="h-1"))
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)

    async def escalated_maya():  # M: reassigned to maya, then asked for help
        handle = await start("M")
        await wait_for_status(handle, directed)
        await handle.execute_update(OnboardingWorkflow.reassign_owner, ReassignOwner(owner="maya", by="dana"))
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="who do I call?", event_id="h-1"))
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated and s.owner == "maya")

    async def unanswered():  # U: escalated after every follow-up, unanswered up to the manager
        handle = await start("U", "unanswered")
        await wait_for_status(handle, lambda s: s.escalation_level == 3, seconds=30)

    async def activated():  # D: every milestone done
        handle = await start("D")
        await wait_for_status(handle, directed)
        for n, action in enumerate(["dataset_uploaded", "dashboard_shared", "teammates_invited"]):
            await handle.signal(OnboardingWorkflow.action_taken, {"action": action, "event_id": f"e-{n}"})
        assert (await handle.result()).state is OnboardingState.activated

    async def over_capacity():  # P holds priya's one place; O comes after it, over capacity
        await wait_for_status(await start("P", segment="crowded"), directed)
        await wait_for_status(await start("O", segment="crowded"), lambda s: directed(s) and s.owner_over_capacity)

    async def terminated():  # T: due in 2 h, then terminated by hand
        handle = await start("T", "due-soon")
        await wait_for_status(handle, directed)
        await handle.terminate(reason="removed by an engineer")

    await asyncio.gather(
        on_track(),
        lost(),
        due_soon(),
        stuck(),
        escalated_leo(),
        escalated_maya(),
        unanswered(),
        activated(),
        over_capacity(),
        terminated(),
    )
    return j


def one_full_owner() -> Roster:
    """leo takes every smb deal; priya serves only the `crowded` segment, with one place."""
    roster = leo_takes_every_deal()
    crowded = {"segments": ["crowded"], "capacity": 1}
    owners = [o.model_copy(update=crowded) if o.id == "priya" else o for o in roster.owners]
    return roster.model_copy(update={"owners": owners})


@pytest_asyncio.fixture(scope="module")
async def journeys(dev_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("support-queries")
    client = dev_env.client
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    async with journey_worker(
        client, tmp, playbooks=write_playbooks(tmp / "playbooks"), roster=one_full_owner, wrap=clarify_never_sent
    ) as task_queue:
        yield await drive(client, task_queue, uuid.uuid4().hex[:8], started)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cases(j: Journeys) -> dict[str, list[tuple[dict[str, str], str]]]:
    """Per guide query: (the guide's example values -> real values, the expected journeys)."""
    now = datetime.now(UTC)
    # The Monday of this run's start, not of now: a run across Monday 00:00 UTC would otherwise
    # lose the journeys it closed before midnight from "this week".
    monday = (j.started - timedelta(days=j.started.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "find-by-deal": [({"D-1001": j.deal("A")}, "A"), ({"D-1001": j.deal("T")}, "T")],
        "find-by-customer": [({"ACME-1": j.customer("X")}, "AF"), ({"ACME-1": j.customer("M")}, "M")],
        "stuck-past-due": [({"2026-11-24T15:00:00Z": iso(now)}, "S")],
        # by whom the escalation waits on now: U, leo's, went up to the manager (v3.8)
        "escalated-by-owner": [
            ({"maya": "maya"}, "M"),
            ({"maya": "leo"}, "E"),
            ({"maya": "dana"}, "U"),
            ({"maya": "priya"}, ""),
        ],
        "escalated-past-sla": [({}, "U")],
        # a day from just before this run's first journey: the 2-hour and the overdue actions
        # fall inside, the 72-hour ones after it
        "due-today": [
            (
                {
                    "2026-11-24T00:00:00-06:00": iso(j.started),
                    "2026-11-25T00:00:00-06:00": iso(j.started + timedelta(days=1)),
                },
                "BS",
            )
        ],
        "activated-this-week": [({"2026-11-23T00:00:00-06:00": iso(monday)}, "D")],
        "owner-open": [({"maya": "maya"}, "M"), ({"maya": "leo"}, "ABSEU"), ({"maya": "priya"}, "OP")],
        "over-capacity": [({}, "O")],
        "closed-this-week": [({"2026-11-23T00:00:00-06:00": iso(monday)}, "F")],
        "ended-abnormally": [({}, "T")],
    }


GUIDE = guide_queries()


def test_every_guide_query_has_expectations():
    expected = set(cases(Journeys(run="x", task_queue="q", started=datetime.now(UTC))))
    assert set(GUIDE) == expected, "docs/support.md and this test disagree on the saved queries"
    assert {"stuck-past-due", "escalated-by-owner", "due-today", "activated-this-week"} <= set(GUIDE)
    assert {"find-by-deal", "find-by-customer"} <= set(GUIDE)


async def listed(client: Client, query: str) -> set[str]:
    return {w.id async for w in client.list_workflows(query)}


@pytest.mark.parametrize("name", sorted(GUIDE))
async def test_guide_query_lists_exactly_the_expected_journeys(dev_env, journeys, name):
    for placeholders, keys in cases(journeys)[name]:
        query = fill(GUIDE[name], placeholders)
        scoped = f"({query}) AND TaskQueue = '{journeys.task_queue}'"
        expected = journeys.ids(keys)
        # visibility is eventually consistent: re-list until it settles, bounded
        deadline = asyncio.get_running_loop().time() + 15
        while (got := await listed(dev_env.client, scoped)) != expected:
            if asyncio.get_running_loop().time() > deadline:
                short = lambda ids: sorted(i.rsplit("-", 1)[-1] for i in ids)
                raise AssertionError(f"{name}: {query}\n  expected {short(expected)}, listed {short(got)}")
            await asyncio.sleep(0.1)
