"""The records on both engines (the same tests on SQLite and on a real PostgreSQL): the
delivery ledger's claims, leases and unknown outcomes; migrations; escalation tasks;
moments."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect, select, text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.escalation import EscalationActivities
from activities.messaging import MessagingActivities
from activities.moments import MomentActivities
from activities.settings import ActivitySettings
from contracts.escalations import CloseEscalationTask, EscalationTaskRequest, TaskStatus
from contracts.messages import MessageRequest, MessageTemplate, Recipient
from contracts.moments import MomentKind, MomentRequest, MomentsRequest, Touchpoint, moment_key
from contracts.owners import Person
from devstack.smtp_sink import SmtpSink
from records import migrate
from records.database import Database
from records.ledger import Attempt, ClaimResult, DeliveryLedger
from records.tables import deliveries
from tests.harness.postgres import create_database

TEMPLATE = MessageTemplate(subject="Hi {{ customer_name }}", body="Do it: {{ cta_url }}\n")
KEY = "onboarding-D-1:first_action:direction:1"
AT = datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)


def message(key: str = KEY, channel: str = "email") -> MessageRequest:
    return MessageRequest(
        key=key,
        deal_id="D-1",
        kind="direction",
        audience="customer",
        channel=channel,
        to=Recipient(name="Ana Ruiz", email="ana@acme.example"),
        template=TEMPLATE,
        context={"customer_name": "Ana", "cta_url": "https://app.example.com/x"},
    )


def attempt_env(activity_id: str = "1", attempt: int = 1, workflow_id: str = "onboarding-D-1") -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, activity_id=activity_id, attempt=attempt)
    return env


def worker_activities(
    tmp_path, db: Database, smtp_url: str | None, name: str = "a", *, ledger_clock=None, **settings: Any
) -> MessagingActivities:
    """The messaging activities of one worker: its own data dir, the shared records database."""
    values = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path / name, SMTP_URL=smtp_url, **settings)
    return MessagingActivities(values, Database(db.url), ledger_clock=ledger_clock)


class GatedSink(SmtpSink):
    """An SMTP server that keeps each message and acknowledges it only when the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        self.arrived.set()
        await self.gate.wait()
        return reply


class DroppingSink(SmtpSink):
    """Keeps the message, then drops the connection instead of acknowledging it."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 never seen"


# --- the delivery ledger ---------------------------------------------------------------------


async def test_two_concurrent_attempts_on_one_key_send_once(records_db, tmp_path):
    async with GatedSink() as sink:
        first = worker_activities(tmp_path, records_db, sink.url, "worker-a")
        second = worker_activities(tmp_path, records_db, sink.url, "worker-b")
        sending = asyncio.create_task(attempt_env("1", 1).run(first.send_message, message()))
        await sink.arrived.wait()  # the first attempt has handed its message over, unacknowledged
        with pytest.raises(ApplicationError) as busy:
            await attempt_env("1", 2).run(second.send_message, message())
        assert busy.value.type == "DeliveryInProgress" and not busy.value.non_retryable
        assert "onboarding-D-1/1#1" in busy.value.message  # names the attempt holding the claim
        sink.gate.set()
        receipt = await sending
        again = await attempt_env("1", 3).run(second.send_message, message())
        assert (receipt.duplicate, again.duplicate) == (False, True)
        assert len(sink.messages) == 1
        counts = await first.ledger.counts()
        assert (counts.sent, counts.sending, counts.unknown_outcomes) == (1, 0, 0)


async def test_many_workers_racing_on_one_key_claim_it_once(records_db):
    ledgers = [DeliveryLedger(Database(records_db.url)) for _ in range(6)]
    claims = await asyncio.gather(*(
        ledger.claim(KEY, Attempt(workflow_id="w", activity_id="1", attempt=n), channel="email", message_id="<m>")
        for n, ledger in enumerate(ledgers, 1)
    ))  # fmt: skip
    assert sorted(c.result.value for c in claims) == ["busy"] * 5 + ["claimed"]
    for ledger in ledgers:
        await ledger.db.dispose()


async def test_an_expired_claim_is_counted_unknown_and_resent(records_db, tmp_path):
    """A worker that died between handing the message over and recording it leaves a claim
    whose lease runs out: the next attempt counts an unknown outcome and sends again."""
    crashed = DeliveryLedger(records_db, lease=timedelta(0))  # its lease is over at once
    claim = await crashed.claim(
        KEY, Attempt(workflow_id="onboarding-D-1", activity_id="1", attempt=1), channel="email", message_id="<m>"
    )
    assert claim.result is ClaimResult.claimed
    async with SmtpSink() as sink:
        messaging = worker_activities(tmp_path, records_db, sink.url)
        receipt = await attempt_env("1", 2).run(messaging.send_message, message())
        assert not receipt.duplicate and len(sink.messages) == 1
    counts = await messaging.ledger.counts()
    assert (counts.sent, counts.unknown_outcomes) == (1, 1)


async def test_a_connection_lost_after_handing_over_is_unknown_and_counted(records_db, tmp_path):
    async with DroppingSink() as dropping:
        messaging = worker_activities(tmp_path, records_db, dropping.url)
        with pytest.raises(ApplicationError) as lost:
            await attempt_env("1", 1).run(messaging.send_message, message())
        assert lost.value.type == "DeliveryOutcomeUnknown" and not lost.value.non_retryable
        assert len(dropping.messages) == 1  # the server had it all the same
    assert await messaging.ledger.state(KEY) == "unknown"
    async with SmtpSink() as sink:
        messaging = worker_activities(tmp_path, records_db, sink.url)
        await attempt_env("1", 2).run(messaging.send_message, message())  # policy: resend
        [resent] = sink.messages
    assert resent["Message-ID"] == dropping.messages[0]["Message-ID"]  # receivers can fold them
    counts = await messaging.ledger.counts()
    assert (counts.sent, counts.unknown_outcomes) == (1, 1)


async def test_a_refused_send_frees_the_key_without_an_unknown(records_db, tmp_path):
    refused = worker_activities(tmp_path, records_db, "smtp://127.0.0.1:1")
    with pytest.raises(ApplicationError, match="SMTP delivery failed"):
        await attempt_env("1", 1).run(refused.send_message, message())
    assert await refused.ledger.state(KEY) == "failed"
    async with SmtpSink() as sink:
        messaging = worker_activities(tmp_path, records_db, sink.url)
        receipt = await attempt_env("1", 2).run(messaging.send_message, message())
        assert not receipt.duplicate and len(sink.messages) == 1
    assert (await messaging.ledger.counts()).unknown_outcomes == 0


async def test_a_long_send_keeps_its_claim(records_db, tmp_path):
    """The sender renews its lease while the channel works: a send slower than the lease is
    not taken over by a retry. The ledgers read a clock only the test moves, so the first
    lease runs out when the test says, however slowly the machine runs; the renewals keep
    their real cadence (a third of the lease)."""
    clock = MovedClock(AT)
    lease = timedelta(seconds=0.3)
    async with GatedSink() as sink:
        slow = worker_activities(
            tmp_path, records_db, sink.url, "slow", ONBOARDING_DELIVERY_LEASE_SECONDS=0.3, ledger_clock=clock
        )
        sending = asyncio.create_task(attempt_env("1", 1).run(slow.send_message, message()))
        await sink.arrived.wait()
        assert await _lease_until(records_db) == AT + lease
        clock.now = AT + timedelta(seconds=0.2)  # inside the first lease: the next renewal extends it
        assert await _lease_reaches(records_db, clock.now + lease), "the lease was never renewed"
        clock.now = AT + timedelta(seconds=0.4)  # past the first lease, inside the renewed one
        other = worker_activities(tmp_path, records_db, sink.url, "other", ledger_clock=clock)
        with pytest.raises(ApplicationError, match="being sent by another attempt"):
            await attempt_env("1", 2).run(other.send_message, message())
        sink.gate.set()
        await sending
        assert len(sink.messages) == 1


class MovedClock:
    """A ledger clock that stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _lease_until(db: Database) -> datetime:
    async with db.begin() as conn:
        return (await conn.execute(select(deliveries.c.lease_until))).scalar_one()


async def _lease_reaches(db: Database, moment: datetime, timeout: float = 10) -> bool:
    """Wait (bounded, on real time: renewals run on it) until the lease lasts to `moment`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await _lease_until(db) < moment:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# --- migrations ------------------------------------------------------------------------------


async def test_fresh_database_gets_the_newest_schema(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    try:
        await asyncio.gather(db.ready(), Database(db.url).ready(), Database(db.url).ready())  # at once
        assert await migrate.current(db.engine) == migrate.head() == migrate.revisions()[-1]
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"deliveries", "escalation_tasks", "escalation_task_events", "moments"} <= tables
        assert "sent" not in tables
    finally:
        await db.dispose()


async def test_upgrade_from_the_sent_ledger_keeps_what_was_sent(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    try:
        assert migrate.revisions()[0] == "0001"
        await migrate.upgrade(db.engine, "0001")
        async with db.engine.begin() as conn:  # a row as the old per-worker ledger wrote it
            await conn.execute(
                text("INSERT INTO sent VALUES (:k, 'email', '<old@x>', '2026-11-20T15:04:05.123456+00:00')"), {"k": KEY}
            )
        async with SmtpSink() as sink:
            messaging = MessagingActivities(ActivitySettings(ONBOARDING_DATA_DIR=tmp_path, SMTP_URL=sink.url), db)
            receipt = await attempt_env().run(messaging.send_message, message())  # migrates on first use
            assert receipt.duplicate and sink.messages == []
        assert await migrate.current(db.engine) == migrate.head()
        async with db.begin() as conn:
            row = (await conn.execute(text("SELECT state, message_id FROM deliveries"))).one()
        assert tuple(row) == ("sent", "<old@x>")
    finally:
        await db.dispose()


# --- escalation tasks ------------------------------------------------------------------------

OWNER = Person(id="maya", name="Maya Chen", email="maya.chen@vendor.example")
BACKUP = Person(id="leo", name="Leo Martins", email="leo.martins@vendor.example")


def task_request(
    level: int = 1, assignee: Person = OWNER, escalation: int = 1, deal: str = "D-1"
) -> EscalationTaskRequest:
    return EscalationTaskRequest(
        key=f"onboarding-{deal}:first_action:escalation-{escalation}:{level}",
        workflow_id=f"onboarding-{deal}",
        deal_id=deal,
        account_name="Acme Corp",
        milestone="first_action",
        level=level,
        level_name="owner" if level == 1 else "backup",
        assignee=assignee,
        reason="customer asked for help",
        channel="console",
        at=AT + timedelta(hours=24 * (level - 1)),
    )


def escalation_activities(tmp_path, db: Database) -> EscalationActivities:
    settings = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path)
    return EscalationActivities(settings, MessagingActivities(settings, db), db)


async def test_task_lifecycle_created_moved_up_resolved(records_db, tmp_path):
    env, esc = ActivityEnvironment(), escalation_activities(tmp_path, records_db)
    created = await env.run(esc.create_escalation_task, task_request())
    again = await env.run(esc.create_escalation_task, task_request())  # a retry
    assert created == again and created.task_id == "onboarding-D-1:escalation-1" and created.status == "open"
    moved = await env.run(esc.create_escalation_task, task_request(level=2, assignee=BACKUP))
    assert (moved.task_id, moved.level, moved.assignee) == (created.task_id, 2, "leo")
    resolved = await env.run(esc.close_escalation_task, CloseEscalationTask(
        workflow_id="onboarding-D-1", escalation=1, outcome="resolved", decision="retry", by="dana",
        note="new contact", at=AT + timedelta(days=2),
    ))  # fmt: skip
    assert (resolved.status, resolved.decision, resolved.closed_by, resolved.note) == (
        TaskStatus.resolved,
        "retry",
        "dana",
        "new contact",
    )
    assert resolved.closed_at == AT + timedelta(days=2) and resolved.reason == "customer asked for help"
    # a later close (a retry, a second decision) leaves the first outcome in place
    late = await env.run(esc.close_escalation_task, CloseEscalationTask(key=created.task_id, outcome="cancelled"))
    assert late == resolved
    assert [(e.event, e.level, e.assignee, e.by) for e in await esc.tasks.events(created.task_id)] == [
        ("created", 1, "maya", None),
        ("moved_up", 2, "leo", None),
        ("resolved", 2, None, "dana"),
    ]
    # an escalation notice went out once per level, whatever the retries
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [
        "onboarding-D-1_first_action_escalation-1_1_notice.txt",
        "onboarding-D-1_first_action_escalation-1_2_notice.txt",
    ]


async def test_task_ended_by_the_customer_or_cancelled(records_db, tmp_path):
    env, esc = ActivityEnvironment(), escalation_activities(tmp_path, records_db)
    await env.run(esc.create_escalation_task, task_request(escalation=1))
    await env.run(esc.create_escalation_task, task_request(escalation=2))
    by_key = CloseEscalationTask(key="onboarding-D-1:first_action:escalation-1:1", outcome="ended_by_customer")
    assert (await env.run(esc.close_escalation_task, by_key)).status is TaskStatus.ended_by_customer
    cancelled = CloseEscalationTask(key="onboarding-D-1:escalation-2", outcome="cancelled", note="deal lost")
    assert (await env.run(esc.close_escalation_task, cancelled)).status is TaskStatus.cancelled
    with pytest.raises(ApplicationError) as missing:
        await env.run(
            esc.close_escalation_task, CloseEscalationTask(key="onboarding-D-1:escalation-9", outcome="cancelled")
        )
    assert missing.value.non_retryable and "onboarding-D-1:escalation-9" in missing.value.message


def test_close_request_names_what_is_missing():
    with pytest.raises(ValidationError, match="give key, or workflow_id and escalation"):
        CloseEscalationTask(outcome="cancelled")
    with pytest.raises(ValidationError, match="needs decision and by"):
        CloseEscalationTask(key="onboarding-D-1:escalation-1", outcome="resolved")
    with pytest.raises(ValidationError, match="outcome"):
        CloseEscalationTask.model_validate({"key": "onboarding-D-1:escalation-1", "outcome": "done"})
    with pytest.raises(ValidationError, match="names no escalation"):
        CloseEscalationTask(key="something-else", outcome="cancelled")


# --- moments ---------------------------------------------------------------------------------


def moment(kind: MomentKind = MomentKind.milestone_completed, **fields) -> MomentRequest:
    values = dict(
        key=moment_key("onboarding-D-1", kind, "first_action", 1),
        kind=kind,
        at=AT,
        workflow_id="onboarding-D-1",
        deal_id="D-1",
        account_id="ACME-1",
        segment="smb",
        product="analytics",
        playbook="default",
        playbook_hash="sha256:abc",
        journey_version="v3",
        owner="maya",
        milestone="first_action",
        touchpoint=Touchpoint.simplify,
        detail={"follow_ups": 2},
    )
    values.update(fields)
    return MomentRequest.model_validate(values)


async def test_moments_are_written_once_per_key(records_db, tmp_path):
    activities = MomentActivities(ActivitySettings(ONBOARDING_DATA_DIR=tmp_path), records_db)
    env = ActivityEnvironment()
    first = await env.run(activities.record_moment, moment())
    retry = await env.run(activities.record_moment, moment(detail={"follow_ups": 99}))  # same key
    racing = await asyncio.gather(*(
        env.run(activities.record_moment, moment(MomentKind.activated, key="onboarding-D-1:moment:activated", milestone=None, touchpoint=None))
        for _ in range(5)
    ))  # fmt: skip
    assert (first.recorded, retry.recorded) == (True, False)
    assert sorted(r.recorded for r in racing) == [False] * 4 + [True]
    stored = await activities.store.list(workflow_id="onboarding-D-1")
    assert [m.kind for m in stored] == [MomentKind.milestone_completed, MomentKind.activated]
    assert stored[0] == moment()  # every field as given, the first write's detail kept
    assert stored[0].variant is None and stored[0].at == AT


async def test_a_steps_moments_are_written_together_each_once(records_db, tmp_path):
    """`record_moments` (v3.2 journeys): one statement for a step's moments; a retry of the
    batch, or one overlapping moments already there, writes only what is new."""
    activities = MomentActivities(ActivitySettings(ONBOARDING_DATA_DIR=tmp_path), records_db)
    env = ActivityEnvironment()
    started = moment(MomentKind.started, key="onboarding-D-1:moment:started", milestone=None, touchpoint=None)
    assigned = moment(MomentKind.owner_assigned, key="onboarding-D-1:moment:owner_assigned:1", milestone=None)
    told = moment(MomentKind.told, key="onboarding-D-1:moment:told:first_action:1", touchpoint=Touchpoint.direction)
    await env.run(activities.record_moment, started)  # written earlier, alone (a v3.1 run)
    first = await env.run(activities.record_moments, MomentsRequest(moments=[started, assigned, told]))
    again = await env.run(activities.record_moments, MomentsRequest(moments=[started, assigned, told]))
    assert [(r.key, r.recorded) for r in first] == [(started.key, False), (assigned.key, True), (told.key, True)]
    assert [r.recorded for r in again] == [False, False, False]
    stored = await activities.store.list(workflow_id="onboarding-D-1")
    assert stored == [started, assigned, told]
    with pytest.raises(ValidationError, match="moments"):
        MomentsRequest(moments=[])


def test_moment_request_refuses_bad_input_naming_the_field():
    with pytest.raises(ValidationError, match="touchpoint"):
        moment(touchpoint="email")
    with pytest.raises(ValidationError, match="at"):
        MomentRequest.model_validate({**moment().model_dump(), "at": "2026-11-20T15:04:05"})  # no zone
    with pytest.raises(ValidationError, match="extra"):
        MomentRequest.model_validate({**moment().model_dump(), "colour": "red"})


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_many_databases_in_one_process_migrate_at_once(engine, request, tmp_path):
    """Several workers in one process (as the tests run them), each with its own fresh
    database, all starting together: Alembic's module-level state must not mix them up."""
    if engine == "postgresql":
        base = request.getfixturevalue("postgres")
        urls = [await create_database(base) for _ in range(5)]
    else:
        urls = [f"sqlite:///{tmp_path / f'worker-{i}.sqlite3'}" for i in range(5)]
    dbs = [Database.from_settings(url, tmp_path) for url in urls]
    try:
        await asyncio.gather(*(db.ready() for db in dbs))
        assert [await migrate.current(db.engine) for db in dbs] == [migrate.head()] * 5
    finally:
        for db in dbs:
            await db.dispose()
