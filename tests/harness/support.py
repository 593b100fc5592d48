"""Shared test helpers: deals, playbooks on disk, the one way to run a test's journeys
(`journey_worker`, the `journeys` fixture), the drive helpers of lab/drive.py (start, wait,
advance virtual time, take every action), and the replay check every journey test ends with."""

from __future__ import annotations

import contextlib
import importlib
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.settings import ActivitySettings
from contracts.deal import DealClosed, sample_deal_body
from contracts.journey import JourneyInput, workflow_id_for
from contracts.signals import Cancel
from contracts.status import Status
from lab.drive import MILESTONE_EVENTS as MILESTONE_EVENTS
from lab.drive import MINUTE as MINUTE
from lab.drive import advance_until as advance_until
from lab.drive import escalated as escalated
from lab.drive import status as status
from lab.drive import take_every_action as take_every_action
from lab.drive import told as told
from lab.drive import wait_until
from lab.fakes import FakeEffects
from owners.roster import Roster, load_roster
from owners.workflow import OwnerRosterWorkflow, roster_workflow_id
from playbooks.loader import DEFAULT_DIR
from privacy.undecodable import workflow_converter
from replay.corpus import decided
from runtime.sandbox import workflow_runner
from worker import activities, build_worker, roster_worker
from workflows.onboarding import OnboardingWorkflow


def make_deal(deal_id: str | None = None, **overrides: Any) -> DealClosed:
    return DealClosed.model_validate(sample_deal_body(deal_id=deal_id or f"D-{uuid.uuid4().hex[:8]}", **overrides))


def default_playbook() -> dict[str, Any]:
    """The default playbook as journey tests use it: without the owner-acknowledgement wait,
    since they time the kickoff (tests/owners/test_owner_acknowledgement.py turns it on)."""
    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    data["owner_acknowledgement"] = {"hours": 0}
    return data


def write_playbook(directory: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The default playbook without the owner-acknowledgement wait, changed by `change`, as
    the only playbook in `directory`."""
    data = default_playbook()
    if change:
        change(data)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def window_66h(playbook: dict[str, Any]) -> None:
    """Told Monday 09:00 (Tokyo), a 66-hour window ends Thursday 03:00: a due time at night."""
    playbook["milestones"][0]["window_hours"] = 66


def leo_takes_every_deal() -> Roster:
    """The shipped roster with maya serving only enterprise: every smb and mid-market journey
    goes to leo, as tests that name one owner for several journeys expect (places are
    counted, so the journeys of one test would otherwise be spread). Staff can still choose
    maya by hand."""
    roster = load_roster()
    owners = [o.model_copy(update={"segments": ["enterprise"]}) if o.id == "maya" else o for o in roster.owners]
    return roster.model_copy(update={"owners": owners})


@asynccontextmanager
async def journey_worker(
    client: Client,
    tmp_path: Path,
    *,
    effects: Literal["real", "fake"] = "real",
    playbooks: Path | None = None,
    smtp_url: str | None = None,
    roster=load_roster,
    fake: FakeEffects | None = None,
    journey: type = OnboardingWorkflow,
    task_queue: str | None = None,
    keep_journeys: bool = False,
    wrap: Callable[[list[Any]], list[Any]] | None = None,
) -> AsyncIterator[Any]:
    """The one way a test runs journeys: a worker on its own task queue (the `journeys`
    fixture binds `tmp_path`), the default playbook unless `playbooks` is given.

    - `effects="real"` (the worker's own activities: SMTP at `smtp_url`, the records in
      `tmp_path`, the owner-roster workflow over `roster`) yields the task queue;
    - `effects="fake"` (the fake world, lab/fakes.py: every effect kept in memory, in `fake`
      if given) yields (task queue, the FakeEffects).

    A deploy mid-journey, either way: start them on an earlier version (`journey`,
    tests/harness/versions.py) with `keep_journeys` (no journey cached, none terminated when
    the worker stops), then finish them on a worker given that `task_queue`. `wrap` changes
    the real activities (a test holds or replaces some by name, tests/harness/traffic.py)."""
    if playbooks is None:
        playbooks = write_playbook(tmp_path / "playbooks-default")
    if effects == "fake":
        async with _fake_worker(
            client, playbooks, fake, journey=journey, task_queue=task_queue, keep_journeys=keep_journeys
        ) as running:
            yield running
        return
    settings = ActivitySettings(SMTP_URL=smtp_url, ONBOARDING_DATA_DIR=tmp_path / "data")
    if journey is OnboardingWorkflow and task_queue is None and not keep_journeys and wrap is None:
        task_queue = f"test-{uuid.uuid4().hex[:8]}"
        worker = build_worker(client, settings, task_queue=task_queue, roster=roster, playbooks=playbooks)
        try:
            async with worker:
                yield task_queue
        finally:
            await _terminate_leftovers(task_queue, client)
        return
    task_queue = task_queue or f"test-{uuid.uuid4().hex[:8]}"
    real = list(activities(client, settings, roster=roster, playbooks=playbooks))
    # no sticky queue left behind by journeys a later worker takes over: the time-skipping
    # server does not hand a stopped worker's sticky tasks (queries included) back
    uncached: dict[str, Any] = {"max_cached_workflows": 0} if keep_journeys else {}
    try:
        async with (
            Worker(
                client,
                task_queue=task_queue,
                workflows=[journey, OwnerRosterWorkflow],
                activities=wrap(real) if wrap else real,
                workflow_runner=workflow_runner(),
                **uncached,
            ),
            roster_worker(client, task_queue, **uncached),
        ):
            yield task_queue
    finally:
        if not keep_journeys:
            await _terminate_leftovers(task_queue, client)


@asynccontextmanager
async def _fake_worker(
    client: Client,
    playbooks: Path,
    effects: FakeEffects | None = None,
    *,
    journey: type = OnboardingWorkflow,
    task_queue: str | None = None,
    keep_journeys: bool = False,
) -> AsyncIterator[tuple[str, FakeEffects]]:
    effects = effects or FakeEffects()
    task_queue = task_queue or f"fast-{uuid.uuid4().hex[:8]}"
    # journeys handed to a later worker leave no sticky queue behind: the time-skipping server
    # does not hand a stopped worker's sticky tasks (queries included) back
    options: dict[str, Any] = {"max_cached_workflows": 0} if keep_journeys else {}
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[journey],
            activities=effects.activities(playbooks),
            workflow_runner=workflow_runner(),
            **options,
        ):
            yield task_queue, effects
    finally:
        if not keep_journeys:
            await _terminate_leftovers(task_queue)


# Journeys started by start_journey, per task queue. A test that fails midway leaves its
# journey running with no worker; on the time-skipping server such a journey stops time
# from skipping for every later test, so the worker's teardown terminates it.
_STARTED: dict[str, list[WorkflowHandle]] = {}


async def _terminate_leftovers(task_queue: str, client: Client | None = None) -> None:
    if client is not None:  # the task queue's owner roster (owners/workflow.py) ends with it
        _STARTED.setdefault(task_queue, []).append(client.get_workflow_handle(roster_workflow_id(task_queue)))
    for handle in _STARTED.pop(task_queue, []):
        with contextlib.suppress(RPCError):  # completed, as it should be
            await handle.terminate("test ended with the journey still running")


async def start_journey(client: Client, task_queue: str, deal: DealClosed, **input_fields: Any) -> WorkflowHandle:
    """A bare start (id and task queue only): the journey's first upsert sets every search
    attribute. A start as the starters make it: `contracts.search_attributes.start_options`
    (tests/harness/staff.py)."""
    handle = await client.start_workflow(
        OnboardingWorkflow.run,
        JourneyInput(deal_id=deal.deal_id, deal=deal, **input_fields),
        id=workflow_id_for(deal.deal_id),
        task_queue=task_queue,
    )
    _STARTED.setdefault(task_queue, []).append(handle)
    return handle


async def assert_replays(handle: WorkflowHandle) -> None:
    """The history this test produced replays cleanly against the current code."""
    history = await handle.fetch_history()
    if not decided(history):  # nothing decided yet (replay.corpus.decided)
        return
    await Replayer(
        workflows=[OnboardingWorkflow],
        # the test server's (encrypted payloads), read as the worker reads it
        data_converter=workflow_converter(handle._client.data_converter),
        workflow_runner=workflow_runner(),
    ).replay_workflow(history)


async def close_and_replay(handle: WorkflowHandle) -> None:
    """End a test's journey (cancel, as a lost deal would) and replay its whole history."""
    await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
    await handle.result()
    await assert_replays(handle)


# The drive helpers (lab/drive.py, shared with the corpus recorder) under the names the tests use.
wait_for_status = wait_until


def always_open(playbook: dict[str, Any]) -> None:
    """Business hours around the clock and no daily cap in the way: a proactive message goes
    out at once on any clock (the real one, or the shared time-skipping server's)."""
    playbook["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 10,
    }


def sent(s: Status, step: str = "direction") -> list[datetime]:
    """When each `step` message went to the customer, oldest first."""
    return [e.at for e in s.timeline if e.event == f"sent {step}"]


def same_minute(actual: list[datetime], expected: list[datetime]) -> bool:
    """Timers fire on the minute; the workflow task that reacts runs milliseconds later."""
    return len(actual) == len(expected) and all(
        timedelta(0) <= a - e < timedelta(seconds=5) for a, e in zip(actual, expected, strict=True)
    )


# Zones the tests' deals, owners and playbooks live in. A test that adds a week to a wall
# clock ("Tuesday 10:00 + 7 days") and a journey that adds 168 hours agree only when no clock
# changes in between, so the helpers below start a test where none does for three weeks.
# Daylight saving itself is tested on its own (tests/workflows/test_business_hours.py).
TEST_ZONES = ("America/Chicago", "America/New_York", "Europe/Lisbon", "Australia/Sydney")
STEADY_SPAN = timedelta(days=21)


def clocks_steady(start: datetime, span: timedelta = STEADY_SPAN) -> bool:
    """No zone in TEST_ZONES changes its UTC offset within `span` after `start` (changes are
    months apart, so comparing both ends is enough)."""
    from zoneinfo import ZoneInfo

    end = start + span
    return all(start.astimezone(ZoneInfo(z)).utcoffset() == end.astimezone(ZoneInfo(z)).utcoffset() for z in TEST_ZONES)


async def skip_to_next(env: WorkflowEnvironment, weekday: int, hour: int, tz: str | tzinfo) -> datetime:
    """Skip virtual time to the next `weekday` (Monday is 0) at `hour`:00 in `tz` whose next
    three weeks have no clock change (see TEST_ZONES); returns that moment in `tz`."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    now = (await env.get_current_time()).astimezone(zone)
    day = now + timedelta(days=(weekday - now.weekday()) % 7 or 7)
    target = day.replace(hour=hour, minute=0, second=0, microsecond=0)
    while not clocks_steady(utc(target)):
        target = (target + timedelta(days=7)).replace(hour=hour)
    # Aware datetimes in one zone subtract by wall clock: the distance is taken in UTC.
    await env.sleep(utc(target) - utc(now))
    return target


async def move_to_next_monday(env: WorkflowEnvironment, hour: int, tz: str = "Asia/Tokyo") -> datetime:
    """Skip virtual time to the next Monday at `hour`:00 in `tz`; returns that Monday 00:00 there."""
    moment = await skip_to_next(env, 0, hour, tz)
    return moment.replace(hour=0)


async def refused(handle: WorkflowHandle, update: Any, body: Any) -> str:
    """The reason a staff update was refused (it must be)."""
    import pytest
    from temporalio.client import WorkflowUpdateFailedError

    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update, body)
    return str(err.value.cause)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


ONBOARDING_SOURCE = Path(__file__).resolve().parents[2] / "workflows" / "onboarding.py"


def load_edited_copy(tmp_path: Path, edit, module: str = "onboarding") -> type:
    """The workflow module, edited by `edit`, imported under a fresh name. `module`: another
    module of the journey to edit (`steps`, `waiting`, ...); the workflow copy imports the
    edited copy of it in place of the original."""
    target = ONBOARDING_SOURCE.parent / f"{module}.py"
    source = target.read_text()
    edited = edit(source)
    assert edited != source, "the edit did not apply; update this test to the workflow's new shape"
    tag = uuid.uuid4().hex[:8]
    name = f"onboarding_edited_{tag}"
    if module != "onboarding":
        part = f"{module}_edited_{tag}"
        (tmp_path / f"{part}.py").write_text(edited)
        edited = ONBOARDING_SOURCE.read_text()
        imports = f"from workflows.{module} import "
        assert imports in edited, f"workflows/onboarding.py does not import from workflows.{module}"
        edited = edited.replace(imports, f"from {part} import ")
    (tmp_path / f"{name}.py").write_text(edited)
    sys.path.insert(0, str(tmp_path))  # the sandbox re-imports the module by name
    return importlib.import_module(name).OnboardingWorkflow
