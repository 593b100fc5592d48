"""`make run` serves the worker's and the HTTP service's metrics and prints where: the whole
stack started as `make run` starts it (on ports of its own), both endpoints scraped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from devstack.__main__ import Config, child_env, metrics_lines
from tests.harness.metrics import free_address, parse

ROOT = Path(__file__).resolve().parents[2]


def test_child_env_turns_the_worker_metrics_on() -> None:
    cfg = Config(data_dir=Path("/x/.data"), metrics_port=9999)
    assert child_env(cfg, {})["ONBOARDING_METRICS_ADDRESS"] == "127.0.0.1:9999"
    assert metrics_lines(cfg, http_up=True) == [
        "  Worker metrics   http://127.0.0.1:9999/metrics",
        "  HTTP metrics     http://localhost:8000/metrics",
    ]


def free_port() -> int:
    return int(free_address().rsplit(":", 1)[1])


def worker_polls(url: str) -> bool:
    try:
        text = httpx.get(url, timeout=10).text
    except httpx.ConnectError:  # the worker has not connected to Temporal yet
        return False
    return parse(text).value("temporal_worker_task_slots_available", task_queue="onboarding") > 0


def test_make_run_serves_both_metrics_endpoints(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("temporal", "ui", "smtp", "http", "metrics")}
    command = [sys.executable, "-m", "devstack", "--data-dir", str(tmp_path / "data")]
    for name, port in ports.items():
        command += [f"--{name}-port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    printed: list[str] = []
    up = threading.Event()

    def read() -> None:  # drained all along: a full pipe would stall the stack
        assert proc.stdout is not None
        for raw in proc.stdout:
            printed.append(raw.decode(errors="replace"))
            if "Stop everything" in printed[-1]:
                up.set()
        up.set()  # the stack ended: the assertions below say how

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert up.wait(timeout=120) and proc.poll() is None, "".join(printed)
        worker_url = f"http://127.0.0.1:{ports['metrics']}/metrics"
        http_url = f"http://localhost:{ports['http']}/metrics"
        banner = "".join(printed)
        assert f"Worker metrics   {worker_url}" in banner
        assert f"HTTP metrics     {http_url}" in banner
        # the worker process starts before the banner; its endpoint and slots show once it polls
        polling = time.monotonic() + 60
        while not worker_polls(worker_url):
            assert time.monotonic() < polling and proc.poll() is None, "".join(printed)
            time.sleep(0.2)  # between scrapes of a process that is still connecting, not a synchronisation
        service = parse(httpx.get(http_url.replace("localhost", "127.0.0.1"), timeout=10).text)
        assert service.value("onboarding_records_database_up") == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
