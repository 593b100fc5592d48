"""A milestone's `retry` and `help_again` messages and its `help_coalesce_minutes`
(contracts/playbook.py `Milestone`, docs/playbooks.md "Saying it again"): optional, checked
like every other message (one call to action, known variables, translations, the fallback
language), each problem named at its place; a playbook or a snapshot without them loads as
before (the direction after a retry, `help` every time, identical help held back 30 minutes)."""

from __future__ import annotations

import pytest

from contracts.playbook import PlaybookSnapshot
from playbooks.loader import PlaybookError, load_all
from tests.harness.support import write_playbook

RETRY = {"subject": "Let's try that again", "body": "Let's try that again: {{ action_instruction }} {{ cta_url }}"}
HELP_AGAIN = {"subject": "Still stuck?", "body": "That failed again ({{ reason }}). Try this: {{ cta_url }}"}
GERMAN_RETRY = {"subject": "Noch einmal", "body": "{{ salutation }}, noch einmal: {{ cta_url }}"}


def refused(tmp_path, change) -> str:
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def test_without_them_a_milestone_has_no_retry_or_help_again_and_a_30_minute_window(tmp_path):
    write_playbook(tmp_path)
    [snapshot] = load_all(tmp_path)
    first = snapshot.playbook.milestones[0]
    assert first.retry is None and first.help_again is None and first.help_coalesce_minutes == 30


def test_the_messages_load_with_their_translations_and_travel_in_the_snapshot(tmp_path):
    def add(d):
        d["milestones"][0].update(retry={**RETRY, "de": GERMAN_RETRY}, help_again=HELP_AGAIN, help_coalesce_minutes=0)

    write_playbook(tmp_path, add)
    [snapshot] = load_all(tmp_path)
    again = PlaybookSnapshot.model_validate(snapshot.model_dump(mode="json")).playbook.milestones[0]
    assert again.retry is not None and again.help_again is not None
    assert (again.retry.subject, again.retry.language) == (RETRY["subject"], "en")
    assert again.retry.text_for("de-DE")[0].subject == GERMAN_RETRY["subject"]
    assert again.help_again.subject == HELP_AGAIN["subject"] and again.help_coalesce_minutes == 0
    # the languages check counts them with the other messages
    assert "milestones.0.retry" not in snapshot.playbook.translations()["de"]
    assert "milestones.0.help_again" in snapshot.playbook.translations()["de"]


def test_a_retry_message_is_checked_like_any_message_at_its_place(tmp_path):
    def two_links(d):
        d["milestones"][0]["retry"] = {**RETRY, "body": "{{ cta_url }} or {{ cta_url }}"}
        d["milestones"][1]["help_again"] = {**HELP_AGAIN, "body": "Hi {{ custmer_name }}: {{ cta_url }}"}

    message = refused(tmp_path, two_links)
    assert "milestones.0.retry.body: Value error, must contain exactly one call to action" in message
    assert "milestones.1.help_again.body: Value error, unknown template variable(s) ['custmer_name']" in message


def test_a_message_without_its_fallback_language_is_refused_naming_it(tmp_path):
    message = refused(tmp_path, lambda d: d["milestones"][0].update(retry={"de": GERMAN_RETRY}))
    assert "milestones.0.retry: Value error, no text in the fallback language 'en'" in message


def test_a_negative_or_textual_window_is_refused_naming_the_field(tmp_path):
    message = refused(tmp_path, lambda d: d["milestones"][0].update(help_coalesce_minutes=-5))
    assert "milestones.0.help_coalesce_minutes: Input should be greater than or equal to 0" in message
    message = refused(tmp_path, lambda d: d["milestones"][0].update(help_coalesce_minutes="1 hour"))
    assert (
        "milestones.0.help_coalesce_minutes: expected a number of minutes, like 30; '1 hour' is 60: "
        "write help_coalesce_minutes: 60" in message
    )


def test_a_misspelled_key_gets_the_right_name(tmp_path):
    message = refused(tmp_path, lambda d: d["milestones"][0].update(help_agian=HELP_AGAIN))
    assert "milestones.0.help_agian: Extra inputs are not permitted: did you mean 'help_again'?" in message
