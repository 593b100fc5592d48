"""The lab shows what a customer reads when the journey says something again: a playbook
with `retry` and `help_again` messages, walked by a persona who fails twice for the same
reason (one help: the second is held back), then for another reason (the help_again
message), and whom a human answers with "retry" (the retry message). Runs the console
script as a user would (its own time-skipping server)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.support import default_playbook

ONBOARDING = Path(sys.executable).parent / "onboarding"

RETRY = {
    "subject": "Let's try that again: {{ action_title }}",
    "body": "Hi {{ customer_name }},\n\nLet's try that again, with a fresh start: {{ action_instruction }}\n\n"
    "Here: {{ cta_url }}\n",
}
HELP_AGAIN = {
    "subject": "Still stuck? Here is another way",
    "body": "Hi {{ customer_name }},\n\nThat did not work again ({{ reason }}). This page walks you through it: "
    "{{ cta_url }}\n",
}
PERSONA = {
    "name": "fails-again",
    "description": "Fails twice on the same header, then on the file size; a human answers with retry.",
    "owner": {"acknowledges_after": "1h"},
    "staff": {"resolve": "retry", "after": "1h", "by": "maya", "note": "walked them through it"},
    "customer": [
        {"at": "26h", "do": "failed", "action": "dataset_uploaded", "reason": "invalid header in row 1"},
        {"at": "1570m", "do": "failed", "action": "dataset_uploaded", "reason": "invalid header in row 1"},
        {"at": "27h", "do": "failed", "action": "dataset_uploaded", "reason": "file too large"},
        {"at": "4d", "do": "taken", "action": "dataset_uploaded"},
    ],
}


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("repeated")
    playbooks = root / "playbooks"
    playbooks.mkdir()
    data = default_playbook()
    data["escalation"]["after_failed_attempts"] = 3
    data["milestones"][0].update(retry=RETRY, help_again=HELP_AGAIN)
    (playbooks / "default.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    persona = root / "fails-again.yaml"
    persona.write_text(yaml.safe_dump(PERSONA, sort_keys=False))
    common = ("--playbooks", str(playbooks), str(persona))
    page = root / "lab.html"
    text = subprocess.run(
        [str(ONBOARDING), "simulate", *common, "--html", str(page)], capture_output=True, text=True, timeout=300
    )
    assert text.returncode == 0, text.stdout + text.stderr
    as_json = subprocess.run(
        [str(ONBOARDING), "simulate", *common, "--json"], capture_output=True, text=True, timeout=300
    )
    assert as_json.returncode == 0, as_json.stderr
    return {"text": text.stdout, "json": json.loads(as_json.stdout), "html": page.read_text()}


def test_the_json_lists_help_once_then_help_again_then_the_retry_message(walked):
    [persona] = walked["json"]["personas"]
    subjects = [r["subject"] for r in persona["rows"] if r["what"] == "message"]
    first = subjects[: subjects.index("Let's try that again: Upload your first dataset") + 1]
    assert first[0].endswith(": your one first step")  # the kickoff
    assert first[1:] == [
        "Let's get that upload working",  # one help for two identical failures
        "Still stuck? Here is another way",  # another reason: the second help
        "Let's try that again: Upload your first dataset",  # the human's retry
    ]
    bodies = {r["subject"]: r["body"] for r in persona["rows"] if r["what"] == "message"}
    assert "That did not work again (file too large)." in bodies["Still stuck? Here is another way"]
    assert (
        "Let's try that again, with a fresh start: Upload one CSV"
        in (bodies["Let's try that again: Upload your first dataset"])
    )


def test_the_text_output_prints_them_under_their_lines(walked):
    text = walked["text"]
    assert "| Subject: Still stuck? Here is another way" in text
    assert "| That did not work again (file too large). This page walks you through it: https://" in text
    assert "| Subject: Let's try that again: Upload your first dataset" in text
    assert text.count("| Subject: Let's get that upload working") == 1


def test_the_html_page_lists_them_with_their_text(walked):
    listed = re.findall(r"<details class='msg'>.*?</details>", walked["html"], re.S)
    again = next(item for item in listed if "Still stuck? Here is another way" in item)
    assert "That did not work again (file too large)." in again
    retry = next(item for item in listed if html.escape("Let's try that again: Upload your first dataset") in item)
    assert html.escape("Let's try that again, with a fresh start: Upload one CSV") in retry
    assert sum(html.escape("Let's get that upload working") in item for item in listed) == 1
