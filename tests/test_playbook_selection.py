"""Which playbook a deal gets: selection compares names after one normalisation (case,
surrounding space, `-`/`_`/space), the roster's segments too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from playbooks import loader, schema
from playbooks.loader import select
from playbooks.roster import load_roster
from tests.support import default_playbook


def playbook(name: str, segments: list[str], products: list[str], **extra: Any) -> dict[str, Any]:
    data = default_playbook()
    data.update(name=name, applies_to={"segments": segments, "products": products}, **extra)
    return data


def write(directory: Path, file: str, data: dict[str, Any] | str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (directory / file).write_text(text)
    return directory


def two_products(directory: Path) -> Path:
    """Analytics for every segment, payroll for mid-market: the second product line."""
    write(directory, "analytics.yaml", playbook("analytics", ["*"], ["analytics"]))
    return write(directory, "payroll.yaml", playbook("payroll", ["mid-market"], ["payroll"]))


# Read at call time (not imported), so each test fails on its own where the code lacks it.
def normalise(value: str) -> str:
    return schema.normalise(value)


# ------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    "raw", ["mid-market", "Mid-Market", " MID-MARKET ", "mid market", "Mid_Market", "mid -_ market"]
)
def test_segment_and_product_names_are_compared_after_one_normalisation(raw):
    assert normalise(raw) == "mid-market"
    assert normalise("Payroll\t") == "payroll" and normalise("") == "" and normalise("*") == "*"


def test_a_capitalised_crm_deal_gets_its_products_playbook(tmp_path):
    loaded = loader.load_all(two_products(tmp_path))
    assert select(loaded, "Mid-Market", "Payroll").playbook.name == "payroll"
    assert select(loaded, " mid market ", "PAYROLL").playbook.name == "payroll"
    assert select(loaded, "Enterprise", "Analytics").playbook.name == "analytics"


def test_the_roster_serves_a_segment_however_the_crm_spells_it():
    roster = load_roster()
    assert {o.id for o in roster.owners if o.serves("Mid-Market")} == {"maya", "leo"}
    assert {o.id for o in roster.owners if o.serves(" ENTERPRISE ")} == {"leo", "priya"}
    assert not any(o.serves("Startup") for o in roster.owners)
