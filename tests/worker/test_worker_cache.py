"""The worker's journey cache size: ONBOARDING_MAX_CACHED_WORKFLOWS, a documented default, and
a clear refusal of a bad value before anything polls."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from activities.settings import ActivitySettings
from worker import DEFAULT_CACHED_JOURNEYS, build_worker, cached_journeys_from_env

ROOT = Path(__file__).resolve().parents[2]


def test_cache_size_from_the_environment():
    assert cached_journeys_from_env({}) == DEFAULT_CACHED_JOURNEYS
    assert cached_journeys_from_env({"ONBOARDING_MAX_CACHED_WORKFLOWS": " 12000 "}) == 12000
    assert cached_journeys_from_env({"ONBOARDING_MAX_CACHED_WORKFLOWS": "0"}) == 0
    for bad in ("lots", "-1", "1.5"):
        with pytest.raises(ValueError, match="ONBOARDING_MAX_CACHED_WORKFLOWS"):
            cached_journeys_from_env({"ONBOARDING_MAX_CACHED_WORKFLOWS": bad})


async def test_the_worker_uses_it(ts_env, monkeypatch, tmp_path):
    settings = ActivitySettings(SMTP_URL=None, ONBOARDING_DATA_DIR=tmp_path)

    def cache_size(**options: Any) -> int:
        queue = f"cache-{uuid.uuid4().hex[:8]}"  # one worker per task queue and client
        return build_worker(ts_env.client, settings, task_queue=queue, **options).config()["max_cached_workflows"]

    monkeypatch.setenv("ONBOARDING_MAX_CACHED_WORKFLOWS", "3000")
    assert cache_size() == 3000
    monkeypatch.delenv("ONBOARDING_MAX_CACHED_WORKFLOWS")
    assert cache_size() == DEFAULT_CACHED_JOURNEYS
    assert cache_size(max_cached_workflows=7) == 7


def test_a_bad_value_refuses_the_start(tmp_path):
    env = {
        **os.environ,
        "ONBOARDING_MAX_CACHED_WORKFLOWS": "lots",
        "ONBOARDING_DATA_DIR": str(tmp_path),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to start: ONBOARDING_MAX_CACHED_WORKFLOWS must be a whole number, got 'lots'" in done.stderr
