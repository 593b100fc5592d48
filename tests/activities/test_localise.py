"""A message in its reader's language (activities/localise.py): the contact's locale, else
the account's, picks the text; the due date, the amount and the formal greeting are written
as that locale writes them (Babel); a request from before locales goes out as written."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.localise import due_local, salutation
from activities.messaging import MessagingActivities, render_request
from activities.settings import ActivitySettings
from contracts.messages import MessageRequest, MessageTemplate, Recipient
from contracts.playbook import PlaybookSnapshot
from devstack.smtp_sink import SmtpSink
from replay.corpus import CORPUS, load_history

TEMPLATE = MessageTemplate.model_validate(
    {
        "language": "en",
        "subject": "{{ account_name }}: your first step",
        "body": "{{ salutation }},\n\nStart here: {{ cta_url }}\nBy {{ due_local }} ({{ due_date }}); {{ amount }}.\n",
        "de": {
            "subject": "{{ account_name }}: Ihr erster Schritt",
            "body": "{{ salutation }},\n\nHier beginnen: {{ cta_url }}\nBis {{ due_local }} ({{ due_date }}); {{ amount }}.\n",
        },
    }
)
CONTEXT = {"account_name": "Brot GmbH", "cta_url": "https://app.example.com/x", "due_local": "Wed 09 Dec 08:41"}
DUE = datetime(2026, 12, 9, 8, 41, tzinfo=UTC)  # 09:41 in Berlin


def request(locale: str, **kw: object) -> MessageRequest:
    fields: dict[str, object] = dict(
        key=f"k-{locale or 'none'}",
        deal_id="D-1",
        kind="direction",
        audience="customer",
        channel="email",
        to=Recipient(name="Anna Weber", email="anna@brot.example", form_of_address="Frau"),
        template=TEMPLATE,
        context=dict(CONTEXT),
        locale=locale,
        timezone="Europe/Berlin",
        due=DUE,
        amount=64500.0,
        currency="EUR",
    )
    return MessageRequest.model_validate(fields | kw)


def test_a_german_reader_gets_the_german_text_with_german_dates_and_amounts():
    rendered = render_request(request("de-DE"))
    assert rendered.subject == "Brot GmbH: Ihr erster Schritt"
    assert rendered.body.startswith("Sehr geehrte Frau Weber,\n")
    assert "Bis Mi., 9. Dez., 09:41 (Mittwoch, 9. Dezember 2026); 64.500,00\xa0€." in rendered.body


def test_an_english_reader_and_a_reader_of_no_offered_language_get_the_fallback():
    english = render_request(request("en-GB"))
    assert english.subject == "Brot GmbH: your first step"
    assert english.body.startswith("Dear Frau Weber,\n")
    assert "By Wed 9 Dec, 09:41 (Wednesday, 9 December 2026); €64,500.00." in english.body
    # French is not offered: the English text, written as English writes dates and amounts
    french = render_request(request("fr-FR"))
    assert french.subject == "Brot GmbH: your first step"
    assert "(Wednesday, December 9, 2026); €64,500.00." in french.body


def test_a_request_from_before_locales_goes_out_as_the_journey_wrote_it():
    before = MessageTemplate(subject="x", body="{{ salutation }}, by {{ due_local }}: {{ cta_url }}")
    old = render_request(request("", template=before, due=None, amount=None, currency=""))
    assert old.body == "Dear Frau Weber, by Wed 09 Dec 08:41: https://app.example.com/x"
    # a snapshot from before languages (no language on its messages): as written, even for a German reader
    assert render_request(request("de-DE", template=before)).body.startswith("Dear Frau Weber, by Wed 09 Dec 08:41")


def test_the_formal_greeting_follows_the_form_of_address_and_language():
    def to(**kw: str) -> Recipient:
        return Recipient(**({"name": "Alex Weber", "email": "a@b.example"} | kw))

    assert salutation(to(form_of_address="Herr"), "de") == "Sehr geehrter Herr Weber"
    assert salutation(to(form_of_address="Frau Dr."), "de") == "Sehr geehrte Frau Dr. Weber"
    assert salutation(to(form_of_address="Frau", family_name="Weber-Lang"), "de") == "Sehr geehrte Frau Weber-Lang"
    assert salutation(to(), "de") == "Guten Tag Alex Weber"
    assert salutation(to(name=""), "de") == "Sehr geehrte Damen und Herren"
    assert salutation(to(form_of_address="Ms"), "en") == "Dear Ms Weber"
    assert salutation(to(), "en") == "Dear Alex Weber"
    assert salutation(to(form_of_address="Madame"), "fr") == "Madame Weber"


def test_due_dates_in_the_locales_own_words_and_order():
    moment = DUE.astimezone()
    assert due_local(DUE, "de_DE").startswith("Mi., 9. Dez.")
    assert due_local(DUE, "en_US").startswith("Wed, Dec 9")
    assert due_local(moment, "ja_JP").startswith("12月9日")


async def test_send_message_emails_the_german_text(tmp_path):
    async with SmtpSink() as sink:
        messaging = MessagingActivities(
            ActivitySettings(ONBOARDING_DATA_DIR=tmp_path, SMTP_URL=sink.url, ONBOARDING_UNSUBSCRIBE_SECRET="s" * 32)
        )
        await ActivityEnvironment().run(messaging.send_message, request("de-AT"))
        [mail] = await sink.wait_for(1)
    assert mail["Subject"] == "Brot GmbH: Ihr erster Schritt"
    body = mail.get_body().get_content()
    assert "Sehr geehrte Frau Weber" in body and "64.500,00" in body


def recorded_snapshot() -> PlaybookSnapshot:
    """The playbook snapshot of a journey recorded before languages (tests/histories)."""
    history = load_history(CORPUS / "v3.8" / "advance-to-activated.json")
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    [result] = [
        e.activity_task_completed_event_attributes.result
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        and scheduled[e.activity_task_completed_event_attributes.scheduled_event_id] == "snapshot_playbook"
    ]
    [snapshot] = pydantic_data_converter.payload_converter.from_payloads(list(result.payloads), [PlaybookSnapshot])
    assert isinstance(snapshot, PlaybookSnapshot)
    return snapshot


def test_a_journey_on_a_snapshot_from_before_languages_sends_as_before():
    """Its messages keep no language (also once carried across continue-as-new), so a German
    reader still gets the text and the due date exactly as the journey wrote them."""
    snapshot = recorded_snapshot()
    carried = PlaybookSnapshot.model_validate(snapshot.model_dump(mode="json"))
    for decoded in (snapshot, carried):
        direction = decoded.playbook.milestones[0].direction
        assert direction.language == "" and direction.translations == {}
        context = {
            "customer_name": "Anna",
            "account_name": "Brot GmbH",
            "action_title": "Upload",
            "action_instruction": "Upload one file.",
            "cta_url": "https://app.example.com/x",
            "owner_name": "Leo",
            "due_local": "Wed 09 Dec 08:41",
        }
        sent = render_request(request("de-DE", template=direction, context=context))
        assert "Please do it by Wed 09 Dec 08:41." in sent.body and sent.body.startswith("Hi Anna,")
