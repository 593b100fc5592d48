"""`onboarding playbooks`: every playbook file, ok or broken with its reason, and which
playbook each segment / product pair of the roster and the playbooks selects, with the line
for any other deal (the fallback, or a human)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from cli import main as onboarding
from cli import playbooks as playbooks_cli
from tests.harness.support import default_playbook

ROOT = Path(__file__).resolve().parents[2]


def playbook(name: str, segments: list[str], products: list[str], **extra: Any) -> dict[str, Any]:
    data = default_playbook()
    data.update(name=name, applies_to={"segments": segments, "products": products}, **extra)
    return data


def write(directory: Path, file: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / file).write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def broken(data: dict[str, Any]) -> dict[str, Any]:
    data["milestones"][0].pop("direction")
    return data


def playbooks_command(*argv: str) -> tuple[int, str]:
    args = onboarding.parser().parse_args(["playbooks", *argv])

    out = io.StringIO()
    return playbooks_cli.run(args, out, io.StringIO()), out.getvalue()


def test_lists_each_file_and_what_each_pair_selects(tmp_path):
    write(tmp_path, "analytics.yaml", playbook("analytics", ["*"], ["analytics", ""]))
    write(tmp_path, "payroll.yaml", broken(playbook("payroll", ["Mid-Market"], ["Payroll"])))
    code, out = playbooks_command("--dir", str(tmp_path))
    assert code == 1
    assert f"playbooks in {tmp_path}:" in out
    assert "  ok      analytics.yaml: analytics; segments: *; products: analytics, (none)\n" in out
    assert "  broken  payroll.yaml: milestones.0.direction: Field required\n" in out
    assert "          segments: Mid-Market; products: Payroll\n" in out
    # the roster's segments (smb, mid-market, enterprise) with the playbooks' products, normalised
    assert "  smb / analytics -> analytics (analytics.yaml)\n" in out
    assert "  enterprise / (none) -> analytics (analytics.yaml)\n" in out
    assert (
        "  mid-market / payroll -> a human: the playbook for segment 'mid-market' / product 'payroll' "
        "(payroll.yaml) is broken: milestones.0.direction: Field required\n"
    ) in out
    assert (
        "  smb / payroll -> a human: no playbook for segment 'smb' / product 'payroll', "
        "and no playbook is the fallback (fallback: true)\n"
    ) in out
    assert (
        "  any other segment / product -> a human: no playbook for any other deal, "
        "and no playbook is the fallback (fallback: true)\n"
    ) in out
    assert "1 broken file(s)" in out


def test_the_fallback_line_and_a_clean_set(tmp_path):
    write(tmp_path, "analytics.yaml", playbook("analytics", ["*"], ["analytics"]))
    write(tmp_path, "general.yaml", playbook("general", ["*"], ["general"], fallback=True))
    code, out = playbooks_command("--dir", str(tmp_path))
    assert code == 0
    assert "  ok      general.yaml: general; segments: *; products: general  [fallback]\n" in out
    assert "  any other segment / product -> the fallback: general (general.yaml)\n" in out
    assert "broken" not in out


def test_says_when_the_worker_would_refuse_to_start(tmp_path):
    write(tmp_path, "analytics.yaml", broken(playbook("analytics", ["*"], ["analytics"])))
    code, out = playbooks_command("--dir", str(tmp_path))
    assert code == 2
    assert "the worker refuses to start:\n  no playbook loads:" in out


def test_the_console_script_runs_it(tmp_path):
    write(tmp_path, "analytics.yaml", playbook("analytics", ["*"], ["analytics"]))
    env = dict(os.environ, ONBOARDING_PLAYBOOKS_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "playbooks"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok      analytics.yaml" in proc.stdout and "any other segment / product -> a human" in proc.stdout
