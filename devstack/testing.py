"""Helpers for tests that need a real Temporal dev server: free ports, start and stop."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client

from devstack.__main__ import dev_server_command, temporal_binary
from devstack.search_attributes import SEARCH_ATTRIBUTES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dev_server(db_file: Path, *, drop: tuple[str, ...] = ()) -> Iterator[str]:
    """`temporal server start-dev` as `make run` starts it, headless, on free ports; yields
    its address; its output is kept in `<db_file>.log`. `drop` leaves out some search attributes, as an older list would have."""
    port = free_port()
    cmd = dev_server_command(temporal_binary(), db_file, port=port, headless=True)
    kinds = dict(SEARCH_ATTRIBUTES)
    for name in drop:
        i = cmd.index(f"{name}={kinds[name]}")
        del cmd[i - 1 : i + 1]
    cmd += ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
    cmd += ["--log-level", "error"]
    # Its output goes to a file next to the database: into a pipe nobody reads, a server
    # logging errors under load fills it and then blocks while holding workflow locks
    # (every call on those workflows answers "Workflow is busy" from then on).
    with open(f"{db_file}.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def connect(address: str, timeout: float = 20.0, **kwargs: Any) -> Client:
    """Connect once the server accepts connections (bounded retries)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.wait_for(Client.connect(address, **kwargs), 3)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
