"""These tests connect second clients (their own SDK runtime, serving metrics; the tracing
interceptor) to the time-skipping server; those clients do not take part in its time
skipping. Each module gets a time-skipping server of its own, so whatever they leave behind
never stops the clock of the suite's shared one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.conftest import ts_env as shared_ts_env


@pytest_asyncio.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    async for env in shared_ts_env.__wrapped__():  # type: ignore[attr-defined]
        yield env
