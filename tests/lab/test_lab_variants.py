"""The lab runs each variant of a playbook experiment (issue 11): by default every variant side
by side, `--variant NAME` one arm; the real journey runs the arm's overrides (its first
action in the kickoff, its follow-up spacing) and knows its variant; a name the playbook does
not declare is refused naming the flag, before anything runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from contracts.journey import workflow_id_for
from contracts.search_attributes import PLAYBOOK_VARIANT
from lab import report as text
from lab.histories import journey_runs
from lab.personas import PERSONAS_DIR, load_persona
from lab.record import read_journey
from lab.simulate import PersonaReport, plan, simulate
from owners.roster import load_roster
from playbooks import loader, variants
from playbooks.loader import DEFAULT_DIR

ONBOARDING = Path(sys.executable).parent / "onboarding"
SILENT = PERSONAS_DIR / "default" / "silent.yaml"
UPLOAD_LINK = "https://app.example.com/datasets/new"  # the default playbook's first action
SAMPLE = {"title": "Load the sample dataset", "instruction": "Load the sample dataset with one click.",
          "link": "https://app.example.com/datasets/sample", "events": ["sample_loaded_first"]}  # fmt: skip


def experiment(tmp_path: Path) -> Path:
    """The default playbook (follow-ups 24 h apart) with two arms: as written, and a sample
    dataset as the first action with follow-ups 48 h apart."""
    data: dict[str, Any] = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    assert [f["wait_hours"] for f in data["milestones"][0]["follow_ups"]] == [24, 24, 24]
    data["variants"] = [
        {"name": "upload"},
        {"name": "sample", "overrides": {"first_action": SAMPLE, "follow_up_wait_hours": 48}},
    ]
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def sent(p: PersonaReport, kind: str) -> list:
    return [t for t in p.touches if t.what == "message" and t.kind == kind]


def onboarding(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ONBOARDING), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_a_forced_variant_is_the_snapshot_a_deal_that_drew_it_runs(tmp_path):
    snapshot = loader.load_playbook(experiment(tmp_path))
    drawn = {variants.pick(snapshot, f"D-{i}"): f"D-{i}" for i in range(50)}
    for name in ("upload", "sample"):
        assert variants.force(snapshot, name) == variants.assign(snapshot, drawn[name])
    assert str(variants.force(snapshot, "sample").playbook.milestones[0].action.link) == SAMPLE["link"]


async def test_every_variant_walks_side_by_side_on_its_own_overrides(ts_env, tmp_path):
    plans = plan([load_persona(SILENT)], playbook=experiment(tmp_path), all_personas=False)
    assert [(p.variant, p.deal.deal_id) for p in plans] == [
        ("upload", "LAB-silent.upload"),
        ("sample", "LAB-silent.sample"),
    ]
    report = await simulate(plans, load_roster(), env=ts_env)

    upload, sample = report.personas
    assert (upload.label, sample.label) == ("silent [upload]", "silent [sample]")
    # the kickoff asks for each arm's own first action
    assert [m.cta for m in sent(upload, "direction")] == [UPLOAD_LINK]
    assert [m.cta for m in sent(sample, "direction")] == [SAMPLE["link"]]
    # the follow-ups keep each arm's spacing (simplify and redirect both fall on business days)
    for walk, hours in ((upload, 24), (sample, 48)):
        [simplify], [redirect] = sent(walk, "simplify"), sent(walk, "redirect")
        # (a timer fires on the minute; the workflow task reacting to it runs milliseconds later)
        assert abs(redirect.at - simplify.at - timedelta(hours=hours)) < timedelta(seconds=5), walk.label
    # each journey knows its variant: its snapshot, and the search attribute it set itself
    for walk in (upload, sample):
        workflow_id = workflow_id_for(walk.deal_id)
        record = read_journey(workflow_id, await journey_runs(ts_env.client, workflow_id))
        assert record.playbook is not None and record.playbook.variant == walk.variant
        described = await ts_env.client.get_workflow_handle(workflow_id).describe()
        assert described.typed_search_attributes.get(PLAYBOOK_VARIANT) == walk.variant
    # the silent persona's expectations are judged on each arm, named with it
    assert {v.persona for v in upload.verdicts} == {"silent [upload]"} and all(v.held for v in upload.verdicts)
    assert {v.persona for v in sample.verdicts} == {"silent [sample]"}

    out = io.StringIO()
    text.write_summary(report, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:2] == ["persona", "state"] and lines[2].startswith("silent [upload]")
    [variants_header] = [line for line in lines if line.startswith("variant ")]
    arms = lines[lines.index(variants_header) + 2 :]
    assert [line.split()[:2] for line in arms] == [["upload", "1"], ["sample", "1"]]


def test_variant_flag_walks_only_that_arm(tmp_path):
    page = tmp_path / "lab.html"
    run = onboarding(
        "simulate", SILENT, "--playbook", experiment(tmp_path), "--variant", "sample", "--json", "--html", page
    )
    assert run.returncode == 0, run.stderr
    assert "walking 1 persona(s) x 1 variant(s): 1 journeys" in run.stderr
    assert "<h2 id='silent.sample'>silent [sample]</h2>" in page.read_text()
    [walk] = json.loads(run.stdout)["personas"]
    assert (walk["persona"], walk["variant"], walk["deal_id"]) == ("silent", "sample", "LAB-silent.sample")
    kickoff = next(t for t in walk["touches"] if t["what"] == "message" and t["kind"] == "direction")
    assert kickoff["cta"] == SAMPLE["link"]


def _refused(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "walking" not in run.stderr and not run.stdout  # refused before anything ran
    return run.stderr


def test_an_unknown_variant_is_refused_naming_the_flag_and_the_variants(tmp_path):
    err = _refused(onboarding("simulate", SILENT, "--playbook", experiment(tmp_path), "--variant", "smaple"))
    assert err.strip() == (
        "simulate: --variant: no variant 'smaple' in playbook default (experiment.yaml); its variants: upload, sample"
    )
    err = _refused(onboarding("simulate", SILENT, "--variant", "sample"))
    assert err.strip() == (
        "simulate: --variant: playbook default (default.yaml) declares no variants (its `variants:` list is empty)"
    )
