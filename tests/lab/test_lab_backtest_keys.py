"""The backtest's key errors point at the key that wrote the histories: the one `make run`
wrote in .data/codec-keys (privacy.keys.dev_keys), or the deployment's own, never at making
a new key (which reads nothing an old one wrote)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from lab.backtest import backtest
from lab.compare import JourneyDiff
from lab.histories import decoded, unreadable_key
from owners.roster import load_roster
from privacy.codec import EncryptionCodec
from privacy.keys import parse_keys
from tests.harness.privacy_keys import KEY_A, KEY_B

ONBOARDING = Path(sys.executable).parent / "onboarding"
# key test-a's id with other bytes: what `python -m privacy.keys new test-a` would make
KEY_A_MADE_AGAIN = "test-a:" + base64.b64encode(b"another-key-with-the-same-id-32b").decode()


def test_without_a_key_the_backtest_points_at_the_key_make_run_wrote():
    env = {k: v for k, v in os.environ.items() if k not in ("ONBOARDING_CODEC_KEYS", "ONBOARDING_CODEC_KEYS_FILE")}
    run = subprocess.run(
        [str(ONBOARDING), "backtest", "--address", "127.0.0.1:9"], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "backtest: no key is configured to read the journeys' histories" in run.stderr
    assert "the key it wrote in .data/codec-keys (ONBOARDING_CODEC_KEYS_FILE=.data/codec-keys)" in run.stderr
    assert "A new key cannot read them" in run.stderr
    assert "privacy.keys new" not in run.stderr  # a new key is not the answer
    assert "Traceback" not in run.stderr


async def history_under(key: str) -> WorkflowHistory:
    """A journey's first event, its input encrypted with `key` as the worker that ran it did."""
    [sealed] = await EncryptionCodec(parse_keys(key)).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"{}")]
    )
    event = HistoryEvent(event_id=1)
    event.workflow_execution_started_event_attributes.input.payloads.append(sealed)
    return WorkflowHistory(workflow_id="onboarding-D-1", events=[event])


async def test_a_history_the_configured_key_cannot_read_names_the_key_file():
    wrong_id = await decoded(await history_under(KEY_A), EncryptionCodec(parse_keys(KEY_B)))
    problem = unreadable_key([wrong_id])
    assert problem is not None
    assert "its payloads are encrypted with key 'test-a', which ONBOARDING_CODEC_KEYS does not hold" in problem
    assert "the key it wrote in .data/codec-keys" in problem

    made_again = await decoded(await history_under(KEY_A), EncryptionCodec(parse_keys(KEY_A_MADE_AGAIN)))
    problem = unreadable_key([made_again])
    assert problem is not None
    assert "do not decrypt with the configured key 'test-a' (a key made anew under the same id?)" in problem
    assert "the key it wrote in .data/codec-keys" in problem

    readable = await decoded(await history_under(KEY_A), EncryptionCodec(parse_keys(KEY_A)))
    assert unreadable_key([readable]) is None


async def test_the_backtest_counts_such_a_journey_as_not_replayed_with_that_reason() -> None:
    history = await decoded(await history_under(KEY_A), EncryptionCodec(parse_keys(KEY_B)))

    async def journeys() -> AsyncIterator[tuple[str, list[WorkflowHistory]]]:
        yield "onboarding-D-1", [history]

    diffs: list[JourneyDiff] = []
    totals = await backtest(journeys(), load_roster(), candidate=None, on_diff=diffs.append)
    assert totals.problems == 1
    [diff] = diffs
    assert diff.problem is not None and "key 'test-a', which ONBOARDING_CODEC_KEYS does not hold" in diff.problem
    assert ".data/codec-keys" in diff.problem
