"""`onboarding explore` as a playbook author runs it: exit 0 when every promise held, 2 for
bad input (nothing walked). Exit 1 with a finding is shown by the promise checks
(tests/lab/test_explore_promises.py) and the written persona's replay (test_explore.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import parser, run


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
