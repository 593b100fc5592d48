"""A second product lands: each playbook is walked with its own personas
(`personas/<playbook name>/`), and a persona written for another playbook is refused naming
the playbook, before anything runs (lab/owned.py, docs/lab.md).

These run the console script as a user would (its own time-skipping server)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playbooks.loader import DEFAULT_DIR

ONBOARDING = Path(sys.executable).parent / "onboarding"
PAYROLL = Path(__file__).resolve().parents[1] / "fixtures" / "payroll"
DEFAULT_PERSONAS = {p.stem for p in (DEFAULT_DIR / "personas" / "default").glob("*.yaml")}


def onboarding(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ONBOARDING), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def two_products(tmp_path: Path) -> Path:
    """A copy of the shipped playbooks directory with a payroll product line added."""
    directory = tmp_path / "playbooks"
    directory.mkdir()
    for playbook in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(playbook, directory)
    shutil.copytree(DEFAULT_DIR / "personas", directory / "personas")
    shutil.copy(PAYROLL / "payroll.yaml", directory)
    shutil.copytree(PAYROLL / "personas" / "payroll", directory / "personas" / "payroll")
    return directory


def _refused(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "walking" not in run.stderr  # refused before anything ran
    return run.stderr


def test_each_playbook_is_walked_with_its_own_personas_and_both_pass_the_gate(two_products: Path) -> None:
    run = onboarding("simulate", "--check", "--json", "--playbooks", two_products)
    assert run.returncode == 0, run.stderr
    walks = json.loads(run.stdout)["personas"]
    by_playbook: dict[str, set[str]] = {}
    for walk in walks:
        by_playbook.setdefault(walk["playbook"], set()).add(walk["persona"])
    assert by_playbook == {
        "default (default.yaml)": DEFAULT_PERSONAS,
        "payroll (payroll.yaml)": {"fast-payer", "german-payer", "silent-payroll"},
    }
    verdicts = [v for w in walks for v in w["verdicts"]]
    assert verdicts and all(v["held"] for v in verdicts)
    # each playbook's own block is judged on its own personas only
    assert sum(v["source"] == "playbook payroll: every" for v in verdicts) == 3
    assert sum(v["source"] == "playbook default: every" for v in verdicts) == 2 * len(DEFAULT_PERSONAS)
    assert any(v["source"] == "playbook payroll: silent-payroll" for v in verdicts)
    # two playbooks walked at once: each deal names its playbook, so persona names may repeat
    assert {w["deal_id"] for w in walks} >= {"LAB-payroll.fast-payer", "LAB-default.silent"}
    assert "expectations hold" in run.stderr


def test_docs_step_walks_the_new_playbook_with_its_own_personas(two_products):
    # docs/playbooks.md: `onboarding simulate --playbook playbooks/<name>.yaml --check`
    run = onboarding(
        "simulate", "--check", "--json", "--playbook", two_products / "payroll.yaml", "--playbooks", two_products
    )
    assert run.returncode == 0, run.stderr
    assert {w["persona"] for w in json.loads(run.stdout)["personas"]} == {
        "fast-payer",
        "german-payer",
        "silent-payroll",
    }


def test_a_persona_for_another_playbook_is_refused_naming_the_playbook(two_products):
    shutil.copy(DEFAULT_DIR / "personas" / "default" / "fast-starter.yaml", two_products / "personas" / "payroll")
    err = _refused(onboarding("simulate", "--check", "--playbooks", two_products))
    wrong = two_products / "personas" / "payroll" / "fast-starter.yaml"
    assert (
        f"{wrong}: customer.0.action: 'dataset_uploaded' is not a product event of playbook payroll (payroll.yaml), "
        "whose persona this is; its events: employees_imported, payrun_previewed"
    ) in err
    assert (
        f"{wrong}: customer.1.after: no milestone 'first_value' in playbook payroll (payroll.yaml; "
        "its milestones: employees_imported, first_payrun)"
    ) in err
    assert f"{wrong}: expectations.0.completes.milestone: no milestone 'first_action' in playbook payroll" in err


def test_a_persona_whose_deal_runs_another_playbook_is_refused(two_products):
    persona = two_products / "personas" / "payroll" / "fast-payer.yaml"
    persona.write_text(persona.read_text().replace("deal: {product: payroll}\n", ""))
    err = _refused(onboarding("simulate", "--check", "--playbooks", two_products))
    assert (
        f"{persona}: its deal (segment 'smb' / product 'analytics') would run playbook default (default.yaml), "
        "not payroll (payroll.yaml) whose persona it is"
    ) in err
    assert "products: payroll" in err


def test_personas_that_belong_to_no_playbook_and_a_playbook_without_personas_are_refused(two_products):
    root = two_products / "personas"
    (root / "payroll").rename(root / "payrol")
    shutil.copy(root / "default" / "silent.yaml", root / "silent.yaml")
    err = _refused(onboarding("simulate", "--check", "--playbooks", two_products))
    assert (
        f"{root / 'payrol'}/: no playbook is named 'payrol', so nothing walks these personas; did you mean 'payroll'?"
        in err
    )
    assert f"{root / 'silent.yaml'}: a persona belongs to one playbook: move it into {root}/<playbook name>/" in err
    assert f"playbook payroll (payroll.yaml) has no personas: write its customers in {root / 'payroll'}/" in err
