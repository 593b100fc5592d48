"""The lab walks a two-language product line (tests/fixtures/payroll: English and German)
and shows each message as its customer reads it, in its text output, its JSON and its HTML
page: the German customer's messages in German, with a German due date, amount and formal
greeting, from the German-speaking owner; the English customers' in English.

These run the console script as a user would (its own time-skipping server)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playbooks.loader import DEFAULT_DIR

ONBOARDING = Path(sys.executable).parent / "onboarding"
PAYROLL = Path(__file__).resolve().parents[1] / "fixtures" / "payroll"
# "Do., 10. Dez., 10:00": a weekday, day, month and time as German writes them
GERMAN_DUE = re.compile(
    r"Bitte bis (Mo|Di|Mi|Do|Fr|Sa|So)\., \d{1,2}\. (Jan|Feb|März|Apr|Mai|Juni|Juli|Aug|Sept|Okt|Nov|Dez)\.?, \d\d:\d\d\."
)
GERMAN_AMOUNT = "64.500,00\xa0€ im Jahr"


def onboarding(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ONBOARDING), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Payroll's personas walked once, beside the shipped playbooks, with the payroll roster:
    the text output, the JSON and the HTML page."""
    directory = tmp_path_factory.mktemp("languages") / "playbooks"
    directory.mkdir()
    for playbook in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(playbook, directory)
    shutil.copy(PAYROLL / "payroll.yaml", directory)
    shutil.copytree(PAYROLL / "personas" / "payroll", directory / "personas" / "payroll")
    page = directory.parent / "lab.html"
    common: tuple[str | Path, ...] = ("--check", "--playbook", directory / "payroll.yaml", "--playbooks", directory)
    common += ("--roster", PAYROLL / "owners.yaml")
    text = onboarding("simulate", *common, "--html", page)
    assert text.returncode == 0, text.stdout + text.stderr
    as_json = onboarding("simulate", *common, "--json")
    assert as_json.returncode == 0, as_json.stderr
    return {"text": text.stdout, "json": json.loads(as_json.stdout), "html": page.read_text()}


def persona_text(text: str, name: str) -> str:
    return text.split(f"== {name}:")[1].split("\n== ")[0]


def test_the_text_output_shows_each_message_in_its_readers_language(walked):
    german = persona_text(walked["text"], "german-payer")
    assert "owner assigned: Sophie Brandt (sophie)" in german  # the German-speaking owner
    assert "| Subject: Brot & Lohn GmbH: Importieren Sie Ihre Mitarbeitenden" in german
    assert "| Sehr geehrte Frau Weber," in german
    assert f"| willkommen bei der Lohnabrechnung ({GERMAN_AMOUNT})." in german
    assert GERMAN_DUE.search(german), german
    assert "| Subject: Ihre erste Lohnabrechnung ist bereit" in german
    assert "Hi " not in german  # no English text reached the German customer
    english = persona_text(walked["text"], "fast-payer")
    assert "owner assigned: Leo Martins (leo)" in english
    assert "| Hi Ana," in english and "| Start here: https://app.example.com/payroll/employees/import" in english
    assert "Sehr geehrte" not in english


def test_the_json_carries_each_messages_subject_and_text(walked):
    [german] = [p for p in walked["json"]["personas"] if p["persona"] == "german-payer"]
    messages = [r for r in german["rows"] if r["what"] == "message"]
    assert [m["subject"] for m in messages] == [
        "Brot & Lohn GmbH: Importieren Sie Ihre Mitarbeitenden",
        "Ihre erste Lohnabrechnung ist bereit",
    ]
    assert messages[0]["body"].startswith("Sehr geehrte Frau Weber,\n")
    assert GERMAN_AMOUNT in messages[0]["body"] and GERMAN_DUE.search(messages[0]["body"])
    touches = [t for t in german["touches"] if t["what"] == "message"]
    assert [t["body"] for t in touches] == [m["body"] for m in messages]


def test_the_html_page_lists_each_message_with_its_text(walked):
    page = walked["html"]
    assert "<h3>Messages (2)</h3>" in page  # german-payer's and fast-payer's two each
    assert html.escape("Brot & Lohn GmbH: Importieren Sie Ihre Mitarbeitenden") in page
    listed = re.findall(r"<details class='msg'>.*?</details>", page, re.S)
    german = next(item for item in listed if "Importieren Sie" in item)
    assert "Sehr geehrte Frau Weber," in german and html.escape(GERMAN_AMOUNT) in german
    assert GERMAN_DUE.search(html.unescape(german))
    # the hover of a message mark starts with its text too (inside the plot's JSON)
    assert "Sehr geehrte Frau Weber,\\u003cbr\\u003e" in page
