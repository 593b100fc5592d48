"""The explorer's soak tier (`make soak`): 5,000 generated journeys against the journey's
promises, nothing tolerated, as the `make test` tier (tests/lab/test_explore.py). Two
`onboarding explore` processes, one per core, each with its own seed and its own test
servers: a lab is one Python process, so two walk nearly twice as many journeys an hour."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak  # `make soak`: about 13 minutes on two cores

SOAK_EXAMPLES = 5_000
SOAK_SEEDS = (2300, 2301)
BATCH = 48  # journeys side by side in one lab: fewer test servers to start


async def _explore(examples: int, seed: int, out: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "explore",
        "--examples",
        str(examples),
        "--seed",
        str(seed),
        "--batch",
        str(BATCH),
        "--out",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_the_soak_tier_keeps_every_promise_over_5000_generated_journeys(tmp_path):
    began = time.monotonic()
    share = -(-SOAK_EXAMPLES // len(SOAK_SEEDS))
    runs = await asyncio.gather(*(_explore(share, seed, tmp_path / str(seed)) for seed in SOAK_SEEDS))
    seconds = time.monotonic() - began
    explored = 0
    for (code, output), seed in zip(runs, SOAK_SEEDS, strict=True):
        assert code == 0, f"seed {seed}:\n{output}"
        assert "every promise held" in output, output
        walked = re.search(r"explored (\d+) journeys", output)
        assert walked is not None, output
        explored += int(walked.group(1))
        stalled = re.search(r"(\d+) journey\(s\) stopped the test server's clock", output)
        assert stalled is None or int(stalled.group(1)) <= share // 50, output  # the lab walks nearly all
    assert explored >= SOAK_EXAMPLES
    print(f"explored {explored} journeys in {seconds:.0f} s ({explored / seconds:.1f}/s)")
