"""A refused playbook or persona says what to write instead: an unknown key gets the closest
known key, a number written as text ('2 days', '50.000 EUR') and a time YAML misreads
(unquoted 9:00) get the expected form with an example, a template's syntax error names its
line in the playbook file, and `onboarding playbooks` prints every problem without a
traceback (playbooks/hints.py, contracts/clock.py, playbooks/lines.py)."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

import pytest

from cli import main as onboarding
from cli import playbooks as playbooks_cli
from lab.errors import LabError
from lab.personas import load_persona
from playbooks.loader import DEFAULT_DIR, PlaybookError, load_all
from tests.harness.support import write_playbook

SHIPPED = (DEFAULT_DIR / "default.yaml").read_text()  # as people write it: quoted times, `|` templates


def refused(tmp_path, change) -> str:
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def test_an_unknown_key_gets_the_closest_known_key_at_its_place(tmp_path):
    def misspell(d):
        d["milestones"][0]["windw_hours"] = d["milestones"][0].pop("window_hours")
        d["milestones"][0]["follow_ups"][1]["alternate"]["titel"] = "x"
        d["expectations"]["silent"] = [{"escalated": {"withn": "6 business days"}}]
        d["escalation"]["kickoff_amount_above"]["ratez"] = d["escalation"]["kickoff_amount_above"].pop("rates")
        d["nmae"] = d.pop("name")

    message = refused(tmp_path, misspell)
    assert "milestones.0.windw_hours: Extra inputs are not permitted: did you mean 'window_hours'?" in message
    assert "milestones.0.follow_ups.1.alternate.titel: Extra inputs are not permitted: did you mean 'title'?" in message
    # `within` is also the tag of the union the value is read as: the key is looked up in the right model
    assert "expectations.silent.0.escalated.withn: Extra inputs are not permitted: did you mean 'within'?" in (message)
    assert "escalation.kickoff_amount_above.ratez: Extra inputs are not permitted: did you mean 'rates'?" in message
    assert "nmae: Extra inputs are not permitted: did you mean 'name'?" in message


def test_an_unknown_key_nothing_resembles_lists_the_keys_there(tmp_path):
    message = refused(tmp_path, lambda d: d["business_hours"].update(timezone="UTC"))
    assert (
        "business_hours.timezone: Extra inputs are not permitted: the keys here are days, end, proactive_per_day, start"
        in (message)
    )


def test_a_duration_written_as_text_gets_the_number_of_hours_to_write(tmp_path):
    def in_days(d):
        d["milestones"][0]["window_hours"] = "2 days"
        d["escalation"]["sla_hours"] = "1 day"
        d["milestones"][1]["follow_ups"][0]["wait_hours"] = "36h"

    message = refused(tmp_path, in_days)
    assert (
        "milestones.0.window_hours: expected a number of hours, like 48 (2 days); '2 days' is 48: write window_hours: 48"
        in (message)
    )
    assert (
        "escalation.sla_hours: expected a number of hours, like 48 (2 days); '1 day' is 24: write sla_hours: 24"
        in message
    )
    assert "milestones.1.follow_ups.0.wait_hours: expected a number of hours" in message
    assert "'36h' is 36: write wait_hours: 36" in message


def test_an_amount_with_a_thousands_separator_or_a_currency_gets_the_plain_number(tmp_path):
    message = refused(tmp_path, lambda d: d["escalation"].update(kickoff_amount_above="50.000 EUR"))
    assert (
        "escalation.kickoff_amount_above: expected a plain number without thousands separators or a currency, "
        "like 50000, or with its currency {amount: 50000, currency: EUR}; got '50.000 EUR'"
    ) in message
    message = refused(tmp_path, lambda d: d["escalation"]["kickoff_amount_above"].update(amount="1,250,000"))
    assert (
        "escalation.kickoff_amount_above.amount: expected a plain number without thousands separators or a currency, "
        "like 1250000"
    ) in message


def test_an_unquoted_amount_with_a_dot_for_thousands_is_refused_not_read_as_a_fraction(tmp_path):
    # YAML reads `amount: 250.000` as 250.0: the file would load with a threshold a thousand times lower
    assert "    amount: 250000\n" in SHIPPED
    (tmp_path / "test.yaml").write_text(SHIPPED.replace("    amount: 250000\n", "    amount: 250.000\n"))
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    assert (
        "test.yaml: escalation.kickoff_amount_above.amount: 250.000 reads as 250 (YAML takes '.' for the decimal "
        "point): write 250000 for 250,000, without a separator"
    ) in str(err.value)
    # a rate is a fraction as written: left alone
    (tmp_path / "test.yaml").write_text(SHIPPED.replace("EUR: 1.08,", "EUR: 1.080,"))
    assert load_all(tmp_path)


def test_an_unquoted_time_is_refused_with_the_quoted_form_and_9_00_in_quotes_is_read(tmp_path):
    # YAML reads an unquoted 9:00 as 540 (base 60): before, this loaded as 00:09 UTC, or failed
    # with a traceback when compared with a time written in quotes
    assert 'start: "09:00"' in SHIPPED
    (tmp_path / "test.yaml").write_text(SHIPPED.replace('start: "09:00"', "start: 9:00"))
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    assert (
        'business_hours.start: Value error, expected a time of day in quotes, like "09:00"; got the number 540 '
        '(YAML reads an unquoted 9:00 as 540: write "09:00")'
    ) in str(err.value)
    (tmp_path / "test.yaml").unlink()

    write_playbook(tmp_path, lambda d: d["business_hours"].update(start="9:00", end="17:30"))
    [snapshot] = load_all(tmp_path)
    assert (snapshot.playbook.business_hours.start, snapshot.playbook.business_hours.end) == (time(9), time(17, 30))
    message = refused(tmp_path, lambda d: d["business_hours"].update(start="9am"))
    assert (
        """business_hours.start: Value error, expected a time of day like "09:00" or "17:30" (24-hour HH:MM), got '9am'"""
        in (message)
    )


def test_a_template_syntax_error_names_the_playbook_file_and_its_line(tmp_path):
    lines = SHIPPED.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == "body: |")  # the first direction's body
    body = next(i for i, line in enumerate(lines) if "{{ action_instruction }}" in line and i > first)
    lines[body] = lines[body].replace("{{ action_instruction }}", "{{ action_instruction }")
    (tmp_path / "payroll.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    assert (
        f"payroll.yaml: milestones.0.direction.body: Value error, template syntax error on line {body - first} of "
        f"the template (payroll.yaml line {body + 1}): unexpected '}}'"
    ) in str(err.value)

    # a template written in quotes (as a tool may dump it) is found in the file too
    write_playbook(tmp_path, lambda d: d["milestones"][0]["help"].update(body="Hi,\n\n{{ reason }\n\n{{ cta_url }}"))
    (tmp_path / "payroll.yaml").unlink()
    dumped = (tmp_path / "test.yaml").read_text().splitlines()
    wrong = next(i for i, line in enumerate(dumped) if "{{ reason }" in line and "{{ reason }}" not in line)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    assert f"template syntax error on line 3 of the template (test.yaml line {wrong + 1})" in str(err.value)


def test_a_persona_file_gets_the_same_answers(tmp_path):
    persona = tmp_path / "p.yaml"
    persona.write_text(
        "name: p\ndeal: {amount: 50.000 EUR, closes: {day: fri, at: 9:00}}\ncustmer: never\n"
        "owner: {acknowledges_afer: 1h}\n"
    )
    with pytest.raises(LabError) as err:
        load_persona(persona)
    message = str(err.value)
    assert f"{persona}: custmer: Extra inputs are not permitted: did you mean 'customer'?" in message
    assert (
        f"{persona}: owner.acknowledges_afer: Extra inputs are not permitted: did you mean 'acknowledges_after'?"
        in (message)
    )
    assert (
        f"{persona}: deal.amount: expected a plain number without thousands separators or a currency, like 50000 "
        "(the currency in its own field, currency: EUR); got '50.000 EUR'"
    ) in message
    assert f'{persona}: deal.closes.at: expected a time of day in quotes, like "09:00"; got the number 540' in message


def test_the_validation_command_prints_every_problem_and_no_traceback(tmp_path):
    write_playbook(tmp_path / "playbooks")
    broken = tmp_path / "playbooks" / "payroll.yaml"
    text = SHIPPED.replace("name: default", "name: payroll").replace('start: "09:00"', "start: 9:00")
    text = text.replace("window_hours: 72", "window_hours: 3 days", 1).replace(
        "after_failed_attempts:", "after_failed_attemps:"
    )
    broken.write_text(text)
    args = onboarding.parser().parse_args(["playbooks", "--dir", str(tmp_path / "playbooks")])
    out, err = io.StringIO(), io.StringIO()
    code = playbooks_cli.run(args, out, err)
    assert code == 1, out.getvalue() + err.getvalue()  # one broken file: the worker serves the rest
    shown = out.getvalue()
    assert "  broken  payroll.yaml: " in shown
    assert 'business_hours.start: Value error, expected a time of day in quotes, like "09:00"' in shown
    assert (
        "escalation.after_failed_attemps: Extra inputs are not permitted: did you mean 'after_failed_attempts'?"
        in shown
    )
    assert "milestones.0.window_hours: expected a number of hours, like 48 (2 days); '3 days' is 72" in shown
    assert "Traceback" not in shown + err.getvalue()


def test_the_shipped_playbook_still_reads_its_quoted_times():
    [default] = [s for s in load_all() if s.playbook.name == "default"]
    assert (default.playbook.business_hours.start, default.playbook.business_hours.end) == (time(9), time(17))
    assert Path(default.source).name == "default.yaml"
