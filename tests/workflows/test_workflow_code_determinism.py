"""The journey's own modules are passed through the sandbox, which then does not check them:
every module of the workflow packages is read for the wall clock, randomness and I/O instead
(runtime/determinism.py). The journey's code is clean, and a `datetime.now()` edited into
steps.py (a passed-through module) is caught with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.determinism import ROOT, check, check_source, workflow_modules

STEPS = ROOT / "workflows" / "steps.py"


def test_every_journey_module_is_read():
    names = {p.relative_to(ROOT).as_posix() for p in workflow_modules()}
    passed_through = {"steps", "escalations", "waiting", "bookkeeping", "staff", "playbook_hold", "effects", "run"}
    assert {f"workflows/{n}.py" for n in passed_through} | {"workflows/onboarding.py", "owners/workflow.py"} <= names


def test_the_journey_code_calls_no_clock_randomness_or_io():
    findings = check()
    assert not findings, "\n".join(map(str, findings))


def edited(anchor: str, insert: str) -> str:
    source = STEPS.read_text()
    assert anchor in source, "the edit did not apply; update this test to steps.py's new shape"
    return source.replace(anchor, anchor + insert, 1)


@pytest.mark.parametrize(
    ("imports", "call", "named"),
    [
        ("", "datetime.now()", "datetime.datetime.now()"),
        ("import datetime as dt\n", "dt.datetime.utcnow()", "datetime.datetime.utcnow()"),
        ("from datetime import date\n", "date.today()", "datetime.date.today()"),
        ("from time import time as clock\n", "clock()", "time.time()"),
        ("import random\n", "random.random()", "random.random()"),
        ("from uuid import uuid4\n", "uuid4()", "uuid.uuid4()"),
        ("import os\n", "os.getenv('X')", "os.getenv()"),
        ("", "open('/tmp/x').read()", "open()"),
    ],
)
def test_a_nondeterministic_call_in_a_passed_through_module_is_named(imports, call, named):
    source = edited("from __future__ import annotations\n", imports)
    source = source.replace(
        "        sent_at = workflow.now()\n", f"        sent_at = workflow.now()\n        _ = {call}\n", 1
    )
    assert call in source
    findings = check_source(source, STEPS)
    assert any(f.call == named for f in findings), findings
    line = next(n for n, text in enumerate(source.splitlines(), start=1) if f"_ = {call}" in text)
    assert any(str(f).startswith(f"workflows/steps.py:{line}: {named}") for f in findings), findings


def test_the_same_names_from_the_workflow_api_are_fine(tmp_path: Path):
    ok = "from temporalio import workflow\n\ndef f():\n    return workflow.now(), workflow.random().random(), workflow.uuid4()\n"
    assert check_source(ok, tmp_path / "ok.py") == []
