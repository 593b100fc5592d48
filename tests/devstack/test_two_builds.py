"""`make run OLD=<ref>`: an older checkout's worker and this one's run as two versions of
deployment `onboarding`, the old one current (docs/versioning.md, "Two builds on your
machine"). The whole stack is started, in the test's own network namespace."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.builds import BuildError, build_id, commit_of, two_builds
from tests.conftest import TEMPORAL_CLI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def builds_dir(tmp_path):
    """Where the old checkouts go; their worktrees are unregistered afterwards."""
    yield tmp_path / "builds"
    for checkout in (tmp_path / "builds").glob("*"):
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)], check=False)


def test_the_old_ref_is_checked_out_once_and_named_by_its_commit(builds_dir):
    old, new = two_builds(ROOT, "HEAD~1", builds_dir)
    assert commit_of(old.checkout, "HEAD") == commit_of(ROOT, "HEAD~1")
    assert old.build_id == commit_of(ROOT, "HEAD~1")[:10] and new.checkout == ROOT
    assert new.build_id.removesuffix("-dirty") == commit_of(ROOT, "HEAD")[:10]
    again, _ = two_builds(ROOT, "HEAD~1", builds_dir)  # reused, not made again
    assert again.checkout == old.checkout
    assert old.env()["PYTHONPATH"] == str(old.checkout) and old.env()["ONBOARDING_BUILD_ID"] == old.build_id


def test_a_ref_that_is_no_older_build_is_refused(builds_dir):
    with pytest.raises(BuildError, match="does not name a commit"):
        two_builds(ROOT, "no-such-ref-anywhere", builds_dir)
    if build_id(ROOT).endswith("-dirty"):
        pytest.skip("a checkout with uncommitted changes is a build of its own")
    with pytest.raises(BuildError, match="this checkout's own commit"):
        two_builds(ROOT, "HEAD", builds_dir)


def test_make_run_old_starts_both_builds_as_versions_with_the_old_one_current(tmp_path, builds_dir):
    data = tmp_path  # builds_dir is <data>/builds: the stack's own place for old checkouts
    log = tmp_path / "stack.log"
    with open(log, "wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "devstack", "--old", "HEAD~1", "--data-dir", str(data)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while b"Onboarding dev stack is up" not in log.read_bytes():
            assert stack.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.2)
        old_id, new_id = commit_of(ROOT, "HEAD~1")[:10], build_id(ROOT)
        described = subprocess.run(
            [str(TEMPORAL_CLI), "worker", "deployment", "describe", "--name", "onboarding", "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        deployment = json.loads(described.stdout)
        assert deployment["routingConfig"]["currentVersionBuildID"] == old_id
        assert {v["BuildID"] for v in deployment["versionSummaries"]} == {old_id, new_id}
        text = log.read_text()
        assert f'"deployment_version": "onboarding.{old_id}"' in (data / "logs" / "worker-old.log").read_text()
        assert f'"deployment_version": "onboarding.{new_id}"' in (data / "logs" / "worker-new.log").read_text()
        assert (
            f"roll out        temporal worker deployment set-current-version --deployment-name onboarding --build-id {new_id}"
            in text
        )
        assert (
            f"roll back       temporal worker deployment set-current-version --deployment-name onboarding --build-id {old_id}"
            in text
        )
    finally:
        stack.send_signal(signal.SIGTERM)
        stack.wait(60)
