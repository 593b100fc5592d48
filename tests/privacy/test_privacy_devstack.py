"""`make run` is encrypted by default (a local key, codec token and unsubscribe secret made
once under .data/, the Web UI pointed at the codec server), and the worker refuses to start
without a payload key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from devstack.__main__ import Config, child_env, dev_server_command, local_secrets
from privacy.keys import load_keys

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_makes_its_secrets_once_and_keeps_them(tmp_path):
    first = local_secrets(tmp_path, {})
    assert set(first) == {"ONBOARDING_CODEC_KEYS", "ONBOARDING_CODEC_TOKEN", "ONBOARDING_UNSUBSCRIBE_SECRET"}
    keys = load_keys({"ONBOARDING_CODEC_KEYS": first["ONBOARDING_CODEC_KEYS"]})
    assert keys is not None and keys.current == "dev-1"
    for name in ("codec-keys", "codec-token", "unsubscribe-secret"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert local_secrets(tmp_path, {}) == first  # reruns read the same history, links keep working
    mine = {"ONBOARDING_CODEC_KEYS": "k:x", "ONBOARDING_CODEC_TOKEN": "t", "ONBOARDING_UNSUBSCRIBE_SECRET": "s"}
    assert local_secrets(tmp_path / "other", mine) == {}  # the environment's own win


def test_make_run_points_the_web_ui_at_the_codec_server():
    cmd = dev_server_command("/venv/bin/temporal", ".data/temporal.db", codec_endpoint="http://localhost:8000/codec")
    assert cmd[cmd.index("--ui-codec-endpoint") + 1] == "http://localhost:8000/codec"
    assert "--ui-codec-endpoint" not in dev_server_command("t", "db", headless=True, codec_endpoint="x")
    env = child_env(Config(data_dir=Path("/x/.data")), {})
    assert env["ONBOARDING_CODEC_UI_ORIGINS"] == "http://localhost:8233,http://127.0.0.1:8233"
    assert env["ONBOARDING_PUBLIC_URL"] == "http://localhost:8000"


def test_worker_refuses_to_start_without_a_payload_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_CODEC")}
    env["ONBOARDING_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "refusing to start: no payload encryption key: set ONBOARDING_CODEC_KEYS" in proc.stderr


def test_worker_refuses_to_start_without_the_unsubscribe_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ONBOARDING_UNSUBSCRIBE_SECRET"}
    env["ONBOARDING_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "ONBOARDING_UNSUBSCRIBE_SECRET is not set" in proc.stderr
    env["ONBOARDING_UNSUBSCRIBE_SECRET"] = "short"
    proc = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert (
        proc.returncode == 2 and "at least 16 characters" in proc.stderr and "short" not in proc.stderr.split(":", 1)[1]
    )
