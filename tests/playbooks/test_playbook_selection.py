"""Which playbook a deal gets, and what one broken file may affect (nothing but itself).

Selection compares names after one normalisation (case, surrounding space, `-`/`_`/space),
the roster's segments too; a deal no playbook claims runs the declared fallback or goes to
a human with the reason, never to a silent default. A broken file is refused with file,
field and reason and logged once; every other playbook serves, and so does the broken
file's last good version; the worker refuses to start only when no playbook loads or the
fallback is broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import worker
from activities import playbook as snapshot_activity
from activities.playbook import PlaybookActivities
from contracts import playbook as schema
from contracts.deal import DealClosed
from contracts.playbook import SnapshotRequest
from lab.deals import SAMPLE_DEAL
from owners.roster import load_roster
from playbooks import loader
from playbooks.loader import PlaybookError, select
from tests.harness.support import default_playbook

ROOT = Path(__file__).resolve().parents[2]


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


def broken_payroll(data: dict[str, Any]) -> dict[str, Any]:
    data["milestones"][0].pop("direction")
    return data


# Names read at call time (not imported), so each test fails on its own where the code lacks them.
def load_set(directory: Path) -> Any:
    return loader.load_set(directory)


def choose(playbooks: Any, segment: str, product: str) -> Any:
    return loader.choose(playbooks, segment, product)


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


# ------------------------------------------------------------------ no silent default


def test_a_deal_no_playbook_claims_goes_to_a_human_without_a_declared_fallback(tmp_path):
    playbooks = load_set(two_products(tmp_path))
    choice = choose(playbooks, "smb", "Payroll")
    assert choice.snapshot is None
    assert choice.refusal == (
        "no playbook for segment 'smb' / product 'Payroll', and no playbook is the fallback (fallback: true)"
    )
    with pytest.raises(PlaybookError, match="no playbook for segment 'smb' / product 'Payroll'"):
        select(list(playbooks.loaded), "smb", "Payroll")


def test_a_declared_fallback_takes_unclaimed_deals_and_says_so(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "general.yaml", playbook("general", ["*"], ["general"], fallback=True))
    playbooks = load_set(tmp_path)
    assert playbooks.fallback() is not None and playbooks.fallback().source == "general.yaml"
    choice = choose(playbooks, "smb", "Payroll")
    assert choice.snapshot is not None and choice.snapshot.playbook.name == "general"
    assert choice.notice == (
        "no playbook for segment 'smb' / product 'Payroll': the fallback playbook 'general' (general.yaml) runs"
    )
    claimed = choose(playbooks, "Mid-Market", "Payroll")
    assert claimed.snapshot.playbook.name == "payroll" and claimed.notice == ""


def test_at_most_one_fallback_the_second_is_refused_and_the_worker_would_not_start(tmp_path):
    write(tmp_path, "a.yaml", playbook("a", ["*"], ["analytics"], fallback=True))
    write(tmp_path, "b.yaml", playbook("b", ["*"], ["payroll"], fallback=True))
    playbooks = load_set(tmp_path)
    [bad] = playbooks.broken
    assert (
        bad.file == "b.yaml" and bad.reason == "fallback: a.yaml is the fallback already; at most one playbook may be"
    )
    assert any("the fallback playbook (fallback: true) is broken" in p for p in playbooks.startup_problems())


def test_two_files_with_one_name_the_later_is_refused(tmp_path):
    write(tmp_path, "a.yaml", playbook("same", ["*"], ["analytics"]))
    write(tmp_path, "b.yaml", playbook("same", ["*"], ["payroll"]))
    [bad] = load_set(tmp_path).broken
    assert bad.file == "b.yaml" and "name: 'same' is already the name of a.yaml" in bad.reason


def test_the_shipped_default_serves_the_shipped_examples_and_no_other_product():
    playbooks = load_set(loader.DEFAULT_DIR)
    assert not playbooks.broken and playbooks.startup_problems() == []
    deals = [
        json.loads((ROOT / "examples" / "deal-closed.json").read_text()),
        SAMPLE_DEAL,  # the lab's deal (personas change the segment, never the product)
        {**SAMPLE_DEAL, "segment": "enterprise"},
    ]
    for deal in deals:
        assert choose(playbooks, deal["segment"], deal["product"]).snapshot.playbook.name == "default"
    # a CRM without its product field mapped sends no product: still the default, by its own claim
    assert choose(playbooks, "smb", DealClosed.model_fields["product"].default).snapshot.playbook.name == "default"
    assert choose(playbooks, "Mid-Market", "Payroll").snapshot is None  # never analytics emails by default


# ------------------------------------------------------------------ a broken file affects only itself


def test_a_broken_file_is_refused_alone_and_every_other_playbook_serves(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    playbooks = load_set(tmp_path)
    assert [s.source for s in playbooks.loaded] == ["analytics.yaml"]
    [bad] = playbooks.broken
    assert bad.file == "payroll.yaml" and bad.reason == "milestones.0.direction: Field required"
    assert "payroll.yaml" in bad.message and "milestones.0.direction: Field required" in bad.message
    assert choose(playbooks, "Mid-Market", "analytics").snapshot.playbook.name == "analytics"
    choice = choose(playbooks, "Mid-Market", "Payroll")
    assert choice.snapshot is None and choice.files == ("payroll.yaml",)
    assert choice.refusal == (
        "the playbook for segment 'Mid-Market' / product 'Payroll' (payroll.yaml) is broken: "
        "milestones.0.direction: Field required"
    )
    with pytest.raises(PlaybookError, match=r"payroll\.yaml"):  # the tools' strict load still refuses the set
        loader.load_all(tmp_path)


def test_a_file_that_is_not_yaml_takes_only_the_deals_nobody_else_claims(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "payroll.yaml", "name: payroll\napplies_to: {segments: [mid-market\n")
    playbooks = load_set(tmp_path)
    [bad] = playbooks.broken
    assert bad.applies_to is None and bad.reason.startswith("not valid YAML: ") and "(line " in bad.reason
    assert choose(playbooks, "smb", "analytics").snapshot.playbook.name == "analytics"
    choice = choose(playbooks, "Mid-Market", "Payroll")
    assert choice.snapshot is None and choice.files == ("payroll.yaml",)
    assert choice.refusal.startswith(
        "no playbook for segment 'Mid-Market' / product 'Payroll'; payroll.yaml cannot be read and may be the one for it"
    )


def test_the_last_good_version_of_a_broken_file_keeps_serving(tmp_path):
    two_products(tmp_path)
    good = load_set(tmp_path)
    digest = choose(good, "mid-market", "payroll").snapshot.digest
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    playbooks = load_set(tmp_path)
    assert playbooks.broken[0].last_good is not None
    choice = choose(playbooks, "Mid-Market", "Payroll")
    assert choice.snapshot.playbook.name == "payroll" and choice.snapshot.digest == digest
    assert choice.notice == (
        f"payroll.yaml is broken (milestones.0.direction: Field required); its last good version ({digest}) runs"
    )


def test_a_broken_file_is_logged_once_per_version_by_file_field_and_reason(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    with structlog.testing.capture_logs() as logs:
        load_set(tmp_path)
        load_set(tmp_path)  # the same broken bytes: no second line
    [line] = [e for e in logs if e["event"] == "playbook.broken"]
    assert line["log_level"] == "error" and line["file"] == "payroll.yaml"
    assert line["problems"] == ["milestones.0.direction: Field required"]
    assert line["serving"] == "nothing in its place"
    write(tmp_path, "payroll.yaml", playbook("payroll", ["mid-market"], ["payroll"]))
    with structlog.testing.capture_logs() as logs:
        load_set(tmp_path)
    assert [e["event"] for e in logs] == ["playbook.repaired"]


async def test_the_snapshot_activity_fails_at_once_with_the_reason_when_no_playbook_can_run(tmp_path):
    two_products(tmp_path)
    acts = PlaybookActivities(tmp_path)
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as err:
        await env.run(acts.snapshot_playbook, SnapshotRequest(segment="smb", product="hr", deal_id="D-1"))
    assert err.value.type == snapshot_activity.NO_PLAYBOOK and err.value.non_retryable
    assert err.value.message.startswith("no playbook for segment 'smb' / product 'hr'")
    found = await env.run(acts.snapshot_playbook, SnapshotRequest(segment="Mid-Market", product="Payroll"))
    assert found.playbook.name == "payroll" and found.notice == ""


async def test_the_snapshot_names_the_fallback_it_runs(tmp_path):
    write(tmp_path, "general.yaml", playbook("general", ["*"], ["general"], fallback=True))
    env = ActivityEnvironment()
    found = await env.run(PlaybookActivities(tmp_path).snapshot_playbook, SnapshotRequest(segment="smb", product="hr"))
    assert found.playbook.name == "general" and "the fallback playbook 'general'" in found.notice


# ------------------------------------------------------------------ the worker's start


def test_the_worker_starts_with_one_broken_product_and_logs_it(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    with structlog.testing.capture_logs() as logs:
        playbooks = worker.check_playbooks(tmp_path)
    assert [s.source for s in playbooks.serving()] == ["analytics.yaml"]
    assert [e["file"] for e in logs if e["event"] == "playbook.broken"] == ["payroll.yaml"]


def test_the_worker_refuses_to_start_when_no_playbook_loads(tmp_path):
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    with pytest.raises(PlaybookError) as err:
        worker.check_playbooks(tmp_path)
    assert "no playbook loads" in str(err.value) and "milestones.0.direction: Field required" in str(err.value)
    with pytest.raises(PlaybookError, match="no playbook"):
        worker.check_playbooks(tmp_path / "empty")


def test_the_worker_refuses_to_start_when_the_fallback_is_broken(tmp_path):
    two_products(tmp_path)
    write(tmp_path, "general.yaml", broken_payroll(playbook("general", ["*"], ["general"], fallback=True)))
    with pytest.raises(PlaybookError) as err:
        worker.check_playbooks(tmp_path)
    assert "the fallback playbook (fallback: true) is broken" in str(err.value) and "general.yaml" in str(err.value)


def test_the_friction_report_keeps_every_other_playbooks_targets_when_one_file_is_broken(tmp_path):
    from report.compute import read_targets

    two_products(tmp_path)
    write(tmp_path, "payroll.yaml", broken_payroll(playbook("payroll", ["mid-market"], ["payroll"])))
    assert set(read_targets(tmp_path)) == {"analytics"}
