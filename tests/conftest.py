"""Real servers for the suite: the time-skipping test server (72-hour windows in
milliseconds) and the Temporal dev server (visibility, search attributes, the Web UI).
Both come from PyPI packages; nothing is downloaded at test time."""

from __future__ import annotations

import functools
import io
import logging
import os
import sysconfig
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

import worker
from contracts.search_attributes import ALL
from replay import record
from tests.harness import privacy_keys
from tests.harness.postgres import postgres, records_db, records_url  # noqa: F401  (fixtures)
from tests.harness.support import journey_worker

# Every worker, HTTP service and subprocess the suite starts encrypts payloads with the test
# key and signs unsubscribe links with the test secret, as a configured deployment does.
os.environ.update(privacy_keys.ENV)

SCRIPTS = Path(sysconfig.get_path("scripts"))
TEMPORAL_CLI = SCRIPTS / "temporal"
TEST_SERVER = SCRIPTS / "temporal-test-server"


@pytest_asyncio.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=privacy_keys.CONVERTER
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in ALL},
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    # the corpus recorder's, with the suite's codec; a journey failing its workflow task is
    # reported after 2 attempts, not 5 (a minute of the server's retry backoff per test)
    env = await record.dev_server(privacy_keys.CONVERTER, problems_reported_after=2)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="module")
async def ui_env() -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """For browser tests: a dev server of their module's own, with the Web UI (the shared
    one has none); the environment and the UI's address."""
    from tests.harness.browser import web_ui_server  # imports the browser only where used

    async with web_ui_server(TEMPORAL_CLI) as env_and_ui:
        yield env_and_ui


@pytest_asyncio.fixture(scope="module")
async def codec_ui() -> AsyncIterator[tuple[WorkflowEnvironment, str, int]]:
    """For browser tests with encrypted journeys: a dev server of their module's own whose Web
    UI asks a codec server; the environment, the UI's address and the port the test's HTTP
    service (that codec server) must listen on."""
    from devstack.testing import free_port
    from tests.harness.browser import web_ui_server

    http_port = free_port()
    async with web_ui_server(TEMPORAL_CLI, converter=privacy_keys.CONVERTER, codec_port=http_port) as (env, ui):
        yield env, ui, http_port


@pytest.fixture
def journeys(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """The one way to run journeys in a test, on a worker of its own task queue:
    `async with journeys(client) as task_queue` (the worker's real effects) or
    `async with journeys(client, effects="fake") as (task_queue, effects)` (the fake world,
    lab/fakes.py). Options: tests/harness/support.py `journey_worker`."""
    return functools.partial(journey_worker, tmp_path=tmp_path)


@pytest.fixture(autouse=True)
def _logging_config_restored():
    """A test that configures structlog (a CLI's quiet mode, a worker's stream) leaves the
    next test the configuration it found, so log assertions never depend on test order."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The worker's own JSON log lines, captured for the test (its logging restored after)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    worker.configure_logging(stream=stream, cache=False)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
