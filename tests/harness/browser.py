"""What the browser tests share: the system Chromium Playwright drives (no browser downloads
here), its flags and viewport, where screenshots go, and the skip that says what is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import ALL
from devstack.testing import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
UI_TIMEOUT_MS = 20_000


def require_browser() -> ModuleType:
    """Playwright's async API, or the calling test module is skipped saying what is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run "
            "does it) or set CHROMIUM_PATH",
            allow_module_level=True,
        )
    return pytest.importorskip(
        "playwright.async_api", reason="the playwright package is missing: pip install -e '.[dev]'"
    )


def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/img/ with UPDATE_SCREENSHOTS=1, else the test's tmp_path."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        IMG.mkdir(parents=True, exist_ok=True)
        return IMG
    return tmp_path


@asynccontextmanager
async def web_ui_server(
    temporal_cli: Path, *, converter: DataConverter = pydantic_data_converter, codec_port: int | None = None
) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """A dev server of its own with the Web UI (the suite's shared one has none): the
    environment and the UI's address. With `codec_port`, the UI asks the codec server of an
    HTTP service the test serves on that port (the `ui_env` and `codec_ui` fixtures,
    tests/conftest.py)."""
    ui_port = free_port()
    codec = ["--ui-codec-endpoint", f"http://127.0.0.1:{codec_port}/codec"] if codec_port else []
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli),
        search_attributes=list(ALL),
        data_converter=converter,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=codec,
    )
    try:
        yield env, f"http://127.0.0.1:{ui_port}"
    finally:
        await env.shutdown()
