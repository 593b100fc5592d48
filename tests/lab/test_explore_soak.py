"""The explorer's soak tier (`make soak`): 5,000 generated journeys against the journey's
promises, nothing tolerated, as the `make test` tier (tests/lab/test_explore.py)."""

from __future__ import annotations

import time

import pytest

from lab.explore.run import explore
from owners.roster import load_roster

pytestmark = pytest.mark.soak  # `make soak`: about 20 minutes on two cores

SOAK_EXAMPLES = 5_000
SOAK_SEED = 2300


def test_the_soak_tier_keeps_every_promise_over_5000_generated_journeys(tmp_path):
    began = time.monotonic()
    result = explore(SOAK_EXAMPLES, SOAK_SEED, load_roster(), out=tmp_path)
    seconds = time.monotonic() - began
    broken = "\n".join(map(str, result.finding.broken)) if result.finding else ""
    written = result.finding.written.text if result.finding and result.finding.written else ""
    assert result.finding is None, f"{broken}\n{written}"
    assert result.generated >= SOAK_EXAMPLES, result
    print(f"explored {result.generated} journeys in {seconds:.0f} s ({result.generated / seconds:.1f}/s)")
