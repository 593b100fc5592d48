"""A German customer of the two-language payroll product line (tests/fixtures/payroll) on the
real stack: a journey on a real Temporal test server, the worker's own activities and owner
roster, real SMTP to a local server. The kickoff and the help arrive in German, greeting the
contact formally, with the due date and the deal's amount written as German writes them,
from the German-speaking owner; an English customer of the same playbook reads English."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time

from contracts.signals import ActionFailed, Cancel
from devstack.smtp_sink import SmtpSink
from owners.roster import load_roster
from tests.harness.support import advance_until, assert_replays, make_deal, start_journey
from workflows.onboarding import OnboardingWorkflow

PAYROLL = Path(__file__).resolve().parents[1] / "fixtures" / "payroll"
BERLIN = "Europe/Berlin"


def german_due(due: datetime) -> str:
    """'Do., 10. Dez., 10:00': how the message must write the due moment, in Berlin."""
    local = due.astimezone(ZoneInfo(BERLIN))
    return (
        f"{format_skeleton('MMMEd', local, locale='de_DE', fuzzy=True)}, {format_time(local, 'short', locale='de_DE')}"
    )


def payroll_playbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    shutil.copy(PAYROLL / "payroll.yaml", directory)
    return directory


def german_deal():
    return make_deal(
        product="payroll",
        amount=64500,
        currency="EUR",
        account={"id": "BROT-1", "name": "Brot & Lohn GmbH", "timezone": BERLIN, "locale": "de-DE"},
        contacts=[
            {"email": "anna.weber@brot.example", "name": "Anna Weber", "role": "champion", "form_of_address": "Frau"}
        ],
    )


async def test_a_german_customer_gets_german_email_with_german_dates_and_amounts(ts_env, tmp_path, journeys):
    client = ts_env.client
    roster = load_roster(PAYROLL / "owners.yaml")
    async with (
        SmtpSink() as sink,
        journeys(client, smtp_url=sink.url, playbooks=payroll_playbooks(tmp_path), roster=lambda: roster) as queue,
    ):
        handle = await start_journey(client, queue, german_deal())
        # a close outside Berlin's business hours holds the kickoff until they open
        status = await advance_until(
            ts_env,
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        [kickoff] = await sink.wait_for(1)
        assert kickoff["To"] == "Anna Weber <anna.weber@brot.example>"
        assert kickoff["Subject"] == "Brot & Lohn GmbH: Importieren Sie Ihre Mitarbeitenden"
        body = kickoff.get_body().get_content().replace("\r\n", "\n")
        assert body.startswith("Sehr geehrte Frau Weber,\n")
        assert "willkommen bei der Lohnabrechnung (64.500,00\xa0€ im Jahr)" in body
        assert status.next_action is not None and status.next_action.due_at is not None
        due = status.next_action.due_at
        assert f"Bitte bis {german_due(due)}." in body
        assert format_date(due.astimezone(ZoneInfo(BERLIN)), "EEE", locale="de_DE") in body  # "Do." etc.
        assert "Sophie Brandt" in body  # the German-speaking owner signs
        assert body.count("https://") == 1 and "Hi " not in body

        await handle.signal(
            OnboardingWorkflow.action_failed,
            ActionFailed(action="employees_imported", reason="Datei ohne Spalte IBAN", event_id="f-1"),
        )
        [_, help_mail] = await sink.wait_for(2)
        assert help_mail["Subject"] == "Wir helfen beim Import Ihrer Mitarbeitenden"
        help_body = help_mail.get_body().get_content().replace("\r\n", "\n")
        assert "Sehr geehrte Frau Weber," in help_body and "(Datei ohne Spalte IBAN)" in help_body

        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
        await assert_replays(handle)


async def test_an_english_customer_of_the_same_playbook_reads_english(ts_env, tmp_path, journeys):
    client = ts_env.client
    roster = load_roster(PAYROLL / "owners.yaml")
    async with (
        SmtpSink() as sink,
        journeys(client, smtp_url=sink.url, playbooks=payroll_playbooks(tmp_path), roster=lambda: roster) as queue,
    ):
        handle = await start_journey(client, queue, make_deal(product="payroll"))  # en-US, Chicago
        await advance_until(ts_env, handle, lambda s: s.waiting_on == "customer")
        [kickoff] = await sink.wait_for(1)
        assert kickoff["Subject"] == "Acme Corp: import your employees"
        body = kickoff.get_body().get_content().replace("\r\n", "\n")
        assert body.startswith("Hi Ana,\n") and "Sehr geehrte" not in body
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
