"""`onboarding explore` as a playbook author runs it: exit 0 when every promise held, 2 for
bad input (nothing walked), 1 with the shrunk persona when a promise breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import parser, run
from lab.explore import promises
from lab.personas import load_persona


def explore(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = run(parser().parse_args(["explore", *argv]))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_promise_held_exits_0_saying_how_many_journeys(capsys, tmp_path: Path) -> None:
    code, said = explore(capsys, "--examples", "12", "--seed", "3", "--out", str(tmp_path))
    assert code == 0, said
    assert "explored 12 journeys" in said and "seed 3" in said and "every promise held" in said
    assert not any(tmp_path.iterdir())  # nothing broke: nothing written


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--examples", "0"], "--examples"),
        (["--batch", "0"], "--batch"),
        (["--tolerate", "10"], "--tolerate"),
        (["--playbook", "no-such-playbook.yaml"], "no-such-playbook.yaml"),
    ],
)
def test_bad_input_exits_2_naming_it(capsys, tmp_path: Path, argv: list[str], names: str) -> None:
    code, said = explore(capsys, *argv, "--out", str(tmp_path))
    assert code == 2, said
    assert names in said
    assert "explored" not in said


def _asks_for_help(t: promises.Trace) -> list[promises.Broken]:
    """A stand-in promise the real journey breaks: 'nobody asks for help'."""
    asked = [s for s in t.facts.signals if s.name == "help_requested"]
    return [promises.Broken(promise=2, step="when the customer asked", detail="asked for help")] if asked else []


@pytest.mark.soak  # walks and shrinks batches of journeys: a minute of both cores, run by `make soak`
def test_a_broken_promise_exits_1_printing_the_persona_it_shrank_to(capsys, tmp_path: Path, monkeypatch) -> None:
    """The failure path end to end (generation, shrinking, printing, writing), on a stand-in
    promise the real journey breaks, since the journey keeps the real ones."""
    monkeypatch.setattr(promises, "CHECKS", (_asks_for_help,))
    code, said = explore(capsys, "--examples", "24", "--seed", "4", "--out", str(tmp_path))
    assert code == 1, said
    assert "BROKEN promise 2" in said and "asked for help" in said
    written = sorted(tmp_path.glob("*.yaml"))
    assert written, said
    persona = load_persona(next(p for p in written if not p.name.endswith(".playbook.yaml"))).persona
    assert [s.do for s in persona.steps] == ["help"]  # shrunk to the one step that breaks it
    assert "replay:  onboarding simulate" in said
