"""`onboarding simulate --check`: the playbook test. Every shipped playbook keeps the
expectations of its own personas (playbooks/personas/<its name>/); an edit that breaks one
cannot land; bad persona and expectation files are refused naming file, field and reason,
before anything runs.

These run the console script as a user would (its own time-skipping server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from playbooks.loader import DEFAULT_DIR

ONBOARDING = Path(sys.executable).parent / "onboarding"
PERSONAS = DEFAULT_DIR / "personas"
SHIPPED_PLAYBOOKS = sorted(DEFAULT_DIR.glob("*.yaml"))


def onboarding(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ONBOARDING), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.parametrize("playbook", SHIPPED_PLAYBOOKS, ids=lambda p: p.name)
def test_every_shipped_playbook_keeps_the_expectations_of_its_own_personas(playbook, tmp_path):
    data = yaml.safe_load(playbook.read_text())
    own = {p.stem for p in (PERSONAS / data["name"]).glob("*.yaml")}
    assert own, f"{playbook.name} has no personas in {PERSONAS / data['name']}"
    page = tmp_path / "lab.html"
    run = onboarding("simulate", "--check", "--playbook", playbook, "--json", "--html", page)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    names = {p["persona"] for p in report["personas"]}
    assert names == own
    if data["name"] == "default":
        assert len(names) == 6
    verdicts = [v for p in report["personas"] for v in p["verdicts"]]
    assert verdicts and all(v["held"] for v in verdicts)
    # the playbook's own block is judged too, for every persona
    every = len(data.get("expectations", {}).get("every", []))
    assert every and sum(v["source"] == f"playbook {data['name']}: every" for v in verdicts) == every * len(own)
    assert "expectations hold" in run.stderr
    html = page.read_text()
    assert html.count('class="plotly-graph-div"') == len(own) and "Plotly.newPlot" in html
    assert "<script src=" not in html  # one page, its JavaScript inlined: opens with no server


def test_a_playbook_edit_that_breaks_an_expectation_fails_the_check_naming_persona_and_expectation(tmp_path):
    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    # "let's reach customers at the weekend too": the weekend closer hears on Saturday
    data["business_hours"]["days"] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    broken = tmp_path / "weekend.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False))
    run = onboarding(
        "simulate", PERSONAS / "default" / "weekend-closer.yaml", "--check", "--summary", "--playbook", broken
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 expectation(s) do not hold" in run.stderr
    assert (
        "persona weekend-closer: expected kickoff on mon 09:00 local [playbook default: weekend-closer], "
        "but: kickoff on Sat " in run.stderr
    )
    assert "09:00 Australia/Sydney" in run.stderr


def _refused(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "walking" not in run.stderr  # refused before anything ran
    return run.stderr


def test_bad_persona_files_fail_with_file_field_and_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "customer": [
                    {"at": "2 hours", "do": "taken", "action": "dataset_uploaded"},
                    {"at": "3d", "do": "taken"},
                    {"at": "1d", "after": "simplfy", "do": "help"},
                ],
                "staff": {"resolve": "escalate", "after": "5h"},
            }
        )
    )
    err = _refused(onboarding("simulate", bad))
    assert f"{bad}: customer.0.at: expected a duration like 30m, 2h, 3d, 1w" in err
    assert f"{bad}: customer.1: action: required when do is 'taken'" in err
    assert f"{bad}: customer.2.after: 'simplfy': expected one of direction, clarify, simplify" in err
    assert f"{bad}: staff.resolve: Input should be 'retry', 'skip', 'reassign' or 'close'" in err


def test_bad_expectations_fail_with_file_field_and_reason(tmp_path):
    persona = tmp_path / "p.yaml"
    persona.write_text(
        yaml.safe_dump({"name": "p", "expectations": [{"escalate": {"within": "6d"}}, {"follow_ups": {}}]})
    )
    err = _refused(onboarding("simulate", persona))
    assert (
        f"{persona}: expectations.0: an expectation is a mapping with one key, one of: kickoff, follow_ups, escalated"
        in err
    )
    assert f"{persona}: expectations.1.follow_ups: give at_most, at_least or both" in err

    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    data["expectations"] = {
        "silent": [{"kickoff": {"day": "monday", "at": "09:00"}}, {"escalated": {"within": "6 days"}}]
    }
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(yaml.safe_dump(data, sort_keys=False))
    err = _refused(onboarding("simulate", "--playbook", playbook))
    assert "playbook.yaml: expectations.silent.0.kickoff.day: Input should be 'mon', 'tue'" in err
    assert (
        "expectations.silent.1.escalated.within: Value error, expected a duration like 30m, 2h, 3d, 1w, '4 business hours' or '6 business days', got '6 days'"
        in err
    )

    data["expectations"] = {"sielnt": [{"escalated": "never"}]}
    playbook.write_text(yaml.safe_dump(data, sort_keys=False))
    err = _refused(onboarding("simulate", "--playbook", playbook))
    assert "expectations: no persona named 'sielnt'" in err
