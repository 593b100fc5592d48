"""One playbook holds each message in several languages (contracts/messages.py
`MessageTemplate`, contracts/playbook.py `Languages`): a translation beside the text, or
every language under its code; the loader refuses a message without the fallback language
and an unknown language code, naming the field; a playbook without languages loads as
before; the reader's locale picks the text (docs/playbooks.md, "Languages")."""

from __future__ import annotations

import copy
import io

import pytest

from cli import main as onboarding
from cli import playbooks as playbooks_cli
from contracts.messages import MessageTemplate
from contracts.playbook import PlaybookSnapshot
from playbooks.loader import PlaybookError, load_all
from tests.harness.support import default_playbook, write_playbook

GERMAN = {
    "subject": "{{ account_name }}: Ihr erster Schritt",
    "body": "{{ salutation }},\n\nbitte hier beginnen: {{ cta_url }}\n\nFällig bis {{ due_local }}.\n",
}


def refused(tmp_path, change) -> str:
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def test_a_playbook_without_languages_loads_as_before_in_english(tmp_path):
    write_playbook(tmp_path)
    [snapshot] = load_all(tmp_path)
    book = snapshot.playbook
    assert book.languages.fallback == "en"
    direction = book.milestones[0].direction
    assert direction.language == "en" and direction.translations == {}
    assert direction.subject == default_playbook()["milestones"][0]["direction"]["subject"]


def test_a_translation_written_beside_the_text_is_chosen_by_locale(tmp_path):
    write_playbook(tmp_path, lambda d: d["milestones"][0]["direction"].update(de=GERMAN))
    [snapshot] = load_all(tmp_path)
    direction = snapshot.playbook.milestones[0].direction
    assert set(direction.translations) == {"de"}
    for locale in ("de-DE", "de_AT", "de"):
        text, language = direction.text_for(locale)
        assert (text.subject, language) == (GERMAN["subject"], "de")
    for locale in ("en-US", "fr-FR", "", "xx-not-a-locale"):
        text, language = direction.text_for(locale)
        assert (text.subject, language) == (direction.subject, "en")
    # the snapshot a journey carries keeps every language
    again = PlaybookSnapshot.model_validate(snapshot.model_dump(mode="json"))
    assert again.playbook.milestones[0].direction.translations["de"].subject == GERMAN["subject"]


def test_every_language_under_its_code_with_a_declared_fallback(tmp_path):
    def by_code(d):
        d["languages"] = {"fallback": "de"}
        english = d["milestones"][0]["direction"]
        d["milestones"][0]["direction"] = {"en": english, "de": GERMAN}

    write_playbook(tmp_path, by_code)
    [snapshot] = load_all(tmp_path)
    direction = snapshot.playbook.milestones[0].direction
    assert (direction.language, direction.subject) == ("de", GERMAN["subject"])
    assert set(direction.translations) == {"en"}
    assert direction.text_for("fr-FR")[1] == "de"  # nobody's language: the fallback
    assert direction.text_for("en-GB")[1] == "en"
    # messages written without a code are in the fallback language
    assert snapshot.playbook.milestones[0].help.language == "de"


def test_a_region_is_chosen_before_its_language():
    template = MessageTemplate.model_validate(
        {
            "language": "en",
            "subject": "Hi",
            "body": "{{ cta_url }}",
            "de": GERMAN,
            "de-CH": {**GERMAN, "subject": "Grüezi"},
        }
    )
    assert template.text_for("de-CH")[0].subject == "Grüezi"
    assert template.text_for("de-DE")[0].subject == GERMAN["subject"]
    assert template.text_for("de-CH")[1] == "de_CH"


def test_a_message_without_the_fallback_language_is_refused_naming_it(tmp_path):
    def german_only(d):
        d["languages"] = {"fallback": "en"}
        d["milestones"][1]["help"] = {"de": GERMAN}

    message = refused(tmp_path, german_only)
    assert "milestones.1.help: Value error, no text in the fallback language 'en' (languages.fallback)" in message
    assert "write it under en: with subject and body" in message


def test_an_unknown_language_code_is_refused_naming_the_field(tmp_path):
    message = refused(tmp_path, lambda d: d["milestones"][0]["follow_ups"][0]["message"].update(dx=GERMAN))
    assert "milestones.0.follow_ups.0.message: Value error, dx: unknown language code 'dx'" in message
    assert "use an ISO 639 language code" in message


def test_an_unknown_fallback_language_is_refused_naming_the_field(tmp_path):
    message = refused(tmp_path, lambda d: d.update(languages={"fallback": "english"}))
    assert "languages.fallback: Value error, unknown language code 'english'" in message


def test_the_fallback_written_twice_is_refused(tmp_path):
    def twice(d):
        d["milestones"][0]["direction"]["en"] = copy.deepcopy(GERMAN)

    message = refused(tmp_path, twice)
    assert "milestones.0.direction: Value error, en: the en text (the fallback language) is written twice" in message


def test_a_translation_is_checked_like_the_text_at_the_place_it_is_written(tmp_path):
    def two_links(d):
        d["milestones"][0]["direction"]["de"] = {**GERMAN, "body": "Hier: {{ cta_url }} und {{ cta_url }}"}

    message = refused(tmp_path, two_links)
    assert "milestones.0.direction.de.body: Value error, must contain exactly one call to action" in message


def test_a_syntax_error_in_a_translation_names_its_line_in_the_file(tmp_path):
    write_playbook(tmp_path, lambda d: d["milestones"][0]["direction"].update({"de-AT": GERMAN}))
    path = tmp_path / "test.yaml"
    lines = path.read_text().splitlines()
    wrong = next(i for i, line in enumerate(lines) if "bitte hier beginnen" in line)
    lines[wrong] = lines[wrong].replace("{{ cta_url }}", "{{ cta_url }")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    assert "milestones.0.direction.de_AT.body: Value error, template syntax error on line 3 of the template" in str(
        err.value
    )
    assert f"(test.yaml line {wrong + 1})" in str(err.value)


def test_onboarding_playbooks_says_which_messages_a_language_lacks(tmp_path):
    def half_german(d):
        d["milestones"][0]["direction"]["de"] = GERMAN
        d["milestones"][0]["follow_ups"][0]["message"]["de"] = GERMAN

    write_playbook(tmp_path, half_german)
    out = io.StringIO()
    code = playbooks_cli.run(onboarding.parser().parse_args(["playbooks", "--dir", str(tmp_path)]), out, io.StringIO())
    assert code == 0
    book = load_all(tmp_path)[0].playbook
    total = len(book.messages())
    assert total == 3 * 2 + 3 + 2 + 1  # each milestone's direction and help, and its follow-ups
    assert (
        f"          languages: en (fallback), de (2 of {total} messages; not in milestones.0.help, "
        "milestones.0.follow_ups.1.message, milestones.0.follow_ups.2.message, milestones.1.direction"
    ) in out.getvalue()
    assert "those go out in en)" in out.getvalue()
    # a playbook in one language: no languages line, as before
    write_playbook(tmp_path)
    out = io.StringIO()
    playbooks_cli.run(onboarding.parser().parse_args(["playbooks", "--dir", str(tmp_path)]), out, io.StringIO())
    assert "languages:" not in out.getvalue()
