"""The onboarding worker: polls task queue `onboarding`, runs journeys and their activities,
and `onboarding-roster`, where the owner roster runs (owners/workflow.py).

Configuration comes from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the
SDK's own env config; SMTP_URL, SLACK_WEBHOOK_URL, ONBOARDING_DATA_DIR, ...). A bad roster,
no playbook that loads, or a broken fallback playbook stops it before it polls anything;
any other broken playbook is logged (an error naming the file, field and reason) and the
rest serve (docs/playbooks.md)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import structlog
from sqlalchemy.exc import SQLAlchemyError
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.cancellation import cancellation_requester
from activities.escalation import EscalationActivities
from activities.messaging import MessagingActivities
from activities.moments import MomentActivities
from activities.playbook import PlaybookActivities
from activities.settings import ActivitySettings
from contracts import crms
from contracts.intake import intake_task_queue
from contracts.journey import TASK_QUEUE
from owners.activities import OwnerActivities
from owners.roster import Roster, load_roster
from owners.workflow import OwnerRosterWorkflow, roster_task_queue
from playbooks.loader import PlaybookError, PlaybookSet, load_set
from privacy.converter import data_converter
from privacy.keys import CodecConfigError
from privacy.undecodable import workflow_converter
from privacy.unsubscribe import SECRET_VARIABLE as UNSUBSCRIBE_SECRET
from privacy.unsubscribe import parse_secrets
from records.config import describe
from records.database import Database
from runtime.client import connect
from runtime.sandbox import workflow_runner
from starters.fanout import IntakeActivities
from telemetry.crm_fetch import CrmFetchMetrics
from telemetry.tracing import Tracing, exporter_from_env
from telemetry.worker_metrics import metrics_address, worker_runtime
from workflows.intake import ProductEventIntake
from workflows.onboarding import OnboardingWorkflow


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None, *, cache: bool = True) -> None:
    """JSON lines through structlog, for our own loggers and the SDK's (including the
    replay-safe `workflow.logger`, which is stdlib logging underneath). `cache=False` for
    in-process tests: a cached logger keeps this configuration for the rest of the process."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The workflow context goes in a `temporal_workflow` field, not into the message text.
    workflow.logger.workflow_info_on_message = False
    # httpx logs every request's full URL at INFO: a Slack webhook URL is a secret.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def records_database(settings: ActivitySettings) -> Database:
    """The records (ledger, tasks, moments): ONBOARDING_DATABASE_URL, or SQLite in the data dir."""
    return Database.from_settings(settings.database_url, settings.data_dir)


def activities(
    client: Client,
    settings: ActivitySettings,
    roster: Callable[[], Roster] = load_roster,
    playbooks: Path | None = None,
    records: Database | None = None,
) -> Sequence[Any]:
    """`client` reaches the owner-roster workflow, which hands out owners' places."""
    records = records or records_database(settings)
    messaging = MessagingActivities(settings, records)
    escalation = EscalationActivities(settings, messaging, records)
    owners = OwnerActivities(client, roster)
    return [
        PlaybookActivities(playbooks).snapshot_playbook,
        owners.assign_owner,
        owners.release_owner,
        messaging.send_message,
        escalation.create_escalation_task,
        escalation.close_escalation_task,
        cancellation_requester,
        *moment_activities(MomentActivities(settings, records)),
        *extra_activities(),
    ]


def moment_activities(recorder: MomentActivities) -> list[Any]:
    """`record_moments` for v3.2 journeys; `record_moment` for every one started earlier."""
    return [recorder.record_moment, recorder.record_moments]


def extra_activities() -> list[Any]:
    """The activities that read a deal from a CRM (`fetch_<crm>_deal`), one for each CRM of the
    registry (contracts/crms.py) that has one."""
    found: list[Any] = []
    for crm in crms.CRMS:
        if crm.fetch is None:
            continue
        found.extend(crms.resolve(crm.fetch)())
    return found


class JourneyWorker:
    """The journeys' worker and, on task queues of their own, the owner roster's and the
    product-event intake's: run together (`async with`), so a roster or an intake is never
    started where nobody polls. Their workflow tasks then never queue behind a burst of
    journeys' (docs/performance.md)."""

    def __init__(self, journeys: Worker, roster: Worker, intake: Worker | None = None) -> None:
        self.journeys, self.roster, self.intake = journeys, roster, intake
        self._running: AsyncExitStack | None = None

    def config(self) -> Any:
        """The journeys' worker's configuration (the SDK's `Worker.config()`)."""
        return self.journeys.config()

    async def __aenter__(self) -> JourneyWorker:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.journeys)
            await stack.enter_async_context(self.roster)
            if self.intake is not None:
                await stack.enter_async_context(self.intake)
            self._running = stack.pop_all()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.__aexit__(*exc)


def build_worker(
    client: Client,
    settings: ActivitySettings | None = None,
    *,
    task_queue: str = TASK_QUEUE,
    roster: Callable[[], Roster] = load_roster,
    playbooks: Path | None = None,
    records: Database | None = None,
    **options: Any,
) -> JourneyWorker:
    settings = settings or ActivitySettings()
    if "deployment_config" not in options and (deployment := deployment_from_env()) is not None:
        options["deployment_config"] = deployment
    shared = {k: options[k] for k in ("deployment_config", "identity") if k in options}
    options.setdefault("max_cached_workflows", cached_journeys_from_env())
    polling = worker_client(client)
    runner = workflow_runner(polling.data_converter)
    return JourneyWorker(
        Worker(
            polling,
            task_queue=task_queue,
            # OwnerRosterWorkflow too: a roster started here before it had a queue of its own
            # runs here until its next continue-as-new moves it.
            workflows=[OnboardingWorkflow, OwnerRosterWorkflow],
            activities=activities(client, settings, roster, playbooks, records),
            workflow_runner=runner,
            interceptors=[CrmFetchMetrics(), *options.pop("interceptors", [])],
            **options,
        ),
        # uncached journeys, an uncached roster: nothing left on a stopped worker's sticky queue
        roster_worker(polling, task_queue, max_cached_workflows=min(10, options["max_cached_workflows"]), **shared),
        intake_worker(client, task_queue, **shared),
    )


def worker_client(client: Client) -> Client:
    """`client` on the same connection, reading as workers must (privacy.undecodable): a
    payload that does not decode (a key this worker does not hold, bytes that are not JSON)
    reaches the workflow as an input it refuses, instead of failing its workflow tasks for
    good. The activities keep `client` itself: what they read from Temporal decodes or raises."""
    converter = workflow_converter(client.data_converter)
    if converter is client.data_converter:
        return client
    config = client.config()
    config["data_converter"] = converter
    return Client(**config)


def roster_worker(client: Client, task_queue: str, **options: Any) -> Worker:
    """The owner roster's worker for the journeys on `task_queue`: it polls the roster's own
    task queue (`roster_task_queue`). `build_worker` includes it; a test that builds its own
    journeys' worker runs this beside it."""
    options.setdefault("max_cached_workflows", 10)  # one roster per journeys' task queue
    client = worker_client(client)
    return Worker(
        client,
        task_queue=roster_task_queue(task_queue),
        workflows=[OwnerRosterWorkflow],
        workflow_runner=workflow_runner(client.data_converter),
        **options,
    )


def intake_worker(client: Client, task_queue: str, **options: Any) -> Worker:
    """The product-event intake's worker for the journeys on `task_queue`: it polls
    `intake_task_queue(task_queue)` and delivers the batches the HTTP service accepted
    (workflows/intake.py) to the journeys on `task_queue`. `build_worker` includes it."""
    polling = worker_client(client)
    return Worker(
        polling,
        task_queue=intake_task_queue(task_queue),
        workflows=[ProductEventIntake],
        # the activity signals journeys with `client`: what it sends is encoded as everything else
        activities=[IntakeActivities(client).deliver_product_events],
        workflow_runner=workflow_runner(polling.data_converter),
        **options,
    )


# Journeys kept in memory between their workflow tasks (docs/performance.md, "The worker
# cache"). A journey past the cache is evicted; its next signal or timer replays it from its
# history (about one `onboarding replay` of it in CPU) before it moves. The SDK's default is 1000.
DEFAULT_CACHED_JOURNEYS = 2000
CACHE_VARIABLE = "ONBOARDING_MAX_CACHED_WORKFLOWS"


def cached_journeys_from_env(env: Mapping[str, str] = os.environ) -> int:
    """ONBOARDING_MAX_CACHED_WORKFLOWS: how many journeys the worker keeps in memory (0: none,
    every workflow task replays its journey's history)."""
    value = env.get(CACHE_VARIABLE, "").strip()
    if not value:
        return DEFAULT_CACHED_JOURNEYS
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"{CACHE_VARIABLE} must be a whole number, got {value!r}") from None
    if count < 0:
        raise ValueError(f"{CACHE_VARIABLE} must be 0 or more, got {count}")
    return count


def deployment_from_env(env: Mapping[str, str] = os.environ) -> WorkerDeploymentConfig | None:
    """ONBOARDING_DEPLOYMENT_NAME + ONBOARDING_BUILD_ID run this worker as that Worker
    Deployment Version (docs/versioning.md); neither set, it is an unversioned worker.

    Journeys are AUTO_UPGRADE: they live for weeks, so pinning each to the build it started
    on would keep every old build running until its last journey ends. They move to the
    current version at their next workflow task instead, and `workflow.patched()` plus the
    replay gate make that move safe."""
    name = env.get("ONBOARDING_DEPLOYMENT_NAME", "").strip()
    build_id = env.get("ONBOARDING_BUILD_ID", "").strip()
    if not name and not build_id:
        return None
    if not (name and build_id):
        raise ValueError("set both ONBOARDING_DEPLOYMENT_NAME and ONBOARDING_BUILD_ID, or neither")
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=name, build_id=build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


def check_playbooks(directory: Path | None = None) -> PlaybookSet:
    """Refuse to start only when no playbook loads or the fallback playbook is broken: then
    no deal could be served as the playbooks say. Any other broken file is logged as an
    error (file, field, reason) by `load_set`, and its deals go to a human while the other
    playbooks serve: one product's mistake never stops another's journeys."""
    playbooks = load_set(directory, unknown_fields="keep")
    if problems := playbooks.startup_problems():
        raise PlaybookError("\n".join(problems))
    return playbooks


def check_configuration() -> None:
    """Refuse to start on a roster that does not validate, on playbooks no deal could be
    served by (`check_playbooks`), without a payload encryption key, or without the secret
    that signs customer emails' unsubscribe links."""
    check_playbooks()
    load_roster()
    cached_journeys_from_env()
    metrics_address()
    exporter_from_env()  # a bad OTEL_TRACES_EXPORTER stops the worker here
    data_converter()
    try:
        if not parse_secrets(ActivitySettings().unsubscribe_secret):
            raise ValueError(f"{UNSUBSCRIBE_SECRET} is not set: customer emails need a signed unsubscribe link")
    except ValueError as err:
        raise CodecConfigError(str(err)) from None


async def run() -> None:
    log = structlog.get_logger("worker")
    settings = ActivitySettings()
    records = records_database(settings)
    try:
        await records.ready()  # migrations first: a worker never runs on an old schema
    except (OSError, SQLAlchemyError) as err:
        print(f"refusing to start: the records database {describe(records.url)} is not usable: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    tracing = Tracing.from_env("onboarding-worker")
    client = await connect(runtime=worker_runtime(), interceptors=tracing.interceptors())
    worker = build_worker(client, settings, records=records)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    deployment = worker.config().get("deployment_config")
    version = f"{deployment.version.deployment_name}.{deployment.version.build_id}" if deployment else "unversioned"
    log.info(
        "worker.started",
        task_queue=TASK_QUEUE,
        roster_task_queue=roster_task_queue(TASK_QUEUE),
        namespace=client.namespace,
        deployment_version=version,
        metrics=f"http://{address}/metrics" if (address := metrics_address()) else "off",
        tracing="on" if tracing.on else "off",
    )
    async with worker:
        await stop.wait()
        log.info("worker.stopping")
    await records.dispose()
    tracing.shutdown()
    log.info("worker.stopped")


def main() -> None:
    configure_logging()
    try:
        check_configuration()
        records_database(ActivitySettings())
    except ValueError as err:  # PlaybookError, DatabaseUrlError, CodecConfigError, a bad cache size
        print(f"refusing to start: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(run())
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the SDK's native threads can crash it at exit
    # (temporalio/sdk-python#300); everything is already shut down cleanly here.
    os._exit(0)


if __name__ == "__main__":
    main()
