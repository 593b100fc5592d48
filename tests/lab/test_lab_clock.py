"""A persona's clock and its expectations' windows count from the same instant, the journey's
start as its history records it, exactly: an action at 71h completes a milestone "within 71h",
one at 71h01m (4261m) does not (the lab's own milliseconds of delivery never decide it). Both walk
side by side on one time-skipping server."""

from __future__ import annotations

from pathlib import Path

import yaml

from lab.personas import PersonaFile, load_persona
from lab.simulate import plan, simulate
from owners.roster import load_roster
from playbooks.loader import DEFAULT_DIR


def _persona(directory: Path, name: str, at: str) -> PersonaFile:
    path = directory / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "owner": {"acknowledges_after": "30m"},
                "customer": [{"at": at, "do": "taken", "action": "dataset_uploaded"}],
                "horizon": "4d",
                "expectations": [{"completes": {"milestone": "first_action", "within": "71h"}}],
            }
        )
    )
    return load_persona(path)


async def test_an_action_at_the_window_end_holds_and_a_minute_later_does_not(ts_env, tmp_path):
    personas = [_persona(tmp_path, "on-the-hour", "71h"), _persona(tmp_path, "a-minute-late", "4261m")]
    plans = plan(personas, playbook=DEFAULT_DIR / "default.yaml", all_personas=False)
    report = await simulate(plans, load_roster(), env=ts_env)
    walks = {p.persona: p for p in report.personas}

    on_time, late = walks["on-the-hour"], walks["a-minute-late"]
    [held] = [v for v in on_time.verdicts if v.source.startswith("persona file")]
    assert held.held, held.happened
    assert "2d 23h after the close" in held.happened
    # the customer's action, stamped with the moment the persona acted, minus the journey's start
    assert on_time.outcome.first_action_after_seconds == 71 * 3600
    [missed] = [v for v in late.verdicts if v.source.startswith("persona file")]
    assert not missed.held, missed.happened
    assert late.outcome.first_action_after_seconds == 71 * 3600 + 60
