"""A bad playbook fails with a message naming the file, the field and the reason, and the
worker refuses to start with it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contracts.moments import FOLLOW_UPS, MESSAGES, Touchpoint
from contracts.playbook import FollowUpKind
from owners.roster import load_roster
from playbooks.loader import PlaybookError, load_all, select
from tests.harness.support import default_playbook, write_playbook

ROOT = Path(__file__).resolve().parents[2]


def load_changed(tmp_path, change):
    write_playbook(tmp_path, change)
    with pytest.raises(PlaybookError) as err:
        load_all(tmp_path)
    return str(err.value)


def test_shipped_playbooks_and_roster_are_valid():
    playbooks = load_all()
    assert [m.key for m in playbooks[0].playbook.milestones] == ["first_action", "first_value", "expansion_check"]
    assert load_roster().owners


def test_missing_field_is_named(tmp_path):
    message = load_changed(tmp_path, lambda d: d["milestones"][0]["action"].pop("events"))
    assert "test.yaml" in message
    assert "milestones.0.action.events: Field required" in message


def test_two_calls_to_action_rejected(tmp_path):
    def two_links(d):
        d["milestones"][0]["direction"]["body"] += "\nOr here: {{ cta_url }}"

    message = load_changed(tmp_path, two_links)
    assert "milestones.0.direction.body" in message
    assert "exactly one call to action" in message and "found 2" in message


def test_no_call_to_action_rejected(tmp_path):
    def no_link(d):
        d["milestones"][1]["follow_ups"][0]["message"]["body"] = "Hi {{ customer_name }}, please log in."

    message = load_changed(tmp_path, no_link)
    assert "milestones.1.follow_ups.0.message.body" in message and "found 0" in message


def test_a_second_hardcoded_link_rejected(tmp_path):
    def extra(d):
        d["milestones"][0]["help"]["body"] += "\nDocs: https://docs.example.com"

    assert "milestones.0.help.body: Value error, must not contain links" in load_changed(tmp_path, extra)


def test_unknown_template_variable_rejected(tmp_path):
    def typo(d):
        d["milestones"][0]["direction"]["subject"] = "Hi {{ costumer_name }}"

    message = load_changed(tmp_path, typo)
    assert "milestones.0.direction.subject" in message and "costumer_name" in message


def test_follow_ups_out_of_order_rejected(tmp_path):
    def swap(d):
        f = d["milestones"][0]["follow_ups"]
        f[0], f[2] = f[2], f[0]

    assert "clarify -> simplify -> redirect" in load_changed(tmp_path, swap)


def test_follow_up_longer_than_window_rejected(tmp_path):
    def long_wait(d):
        d["milestones"][0]["follow_ups"][0]["wait_hours"] = 100

    assert "follow_ups.0.wait_hours" in load_changed(tmp_path, long_wait)


def test_one_event_completing_two_milestones_rejected(tmp_path):
    def shared(d):
        d["milestones"][1]["action"]["events"] = ["dataset_uploaded"]

    assert "'dataset_uploaded' completes both 'first_action' and 'first_value'" in load_changed(tmp_path, shared)


def test_bad_yaml_and_unknown_field(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    with pytest.raises(PlaybookError, match=r"broken\.yaml: not valid YAML"):
        load_all(tmp_path)
    (tmp_path / "broken.yaml").unlink()
    message = load_changed(tmp_path, lambda d: d.update(escalaton={}))
    assert "escalaton: Extra inputs are not permitted" in message


def test_most_specific_playbook_wins(tmp_path):
    base = default_playbook()
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(base))
    ent = dict(base, name="enterprise", applies_to={"segments": ["enterprise"], "products": ["*"]})
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(ent))
    loaded = load_all(tmp_path)
    assert select(loaded, "enterprise", "analytics").playbook.name == "enterprise"
    assert select(loaded, "smb", "analytics").playbook.name == "default"


def test_worker_refuses_to_start_with_a_bad_playbook(tmp_path):
    write_playbook(tmp_path, lambda d: d["milestones"][0].pop("direction"))
    env = dict(os.environ, ONBOARDING_PLAYBOOKS_DIR=str(tmp_path), TEMPORAL_ADDRESS="127.0.0.1:1")
    proc = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "refusing to start" in proc.stderr
    assert "milestones.0.direction: Field required" in proc.stderr


@pytest.mark.parametrize("option", ["after_follow_ups", "on_help_request"])
def test_an_escalation_that_cannot_be_turned_off_is_refused_not_ignored(tmp_path, option):
    message = load_changed(tmp_path, lambda d: d["escalation"].update({option: False}))
    assert "test.yaml" in message and f"escalation.{option}" in message and "only true is supported" in message


def test_follow_up_kinds_are_the_journeys_follow_up_touchpoints():
    # one vocabulary: what a playbook may list is what the journey sends and the moments name
    assert [k.value for k in FollowUpKind] == [t.value for t in FOLLOW_UPS]
    assert set(FOLLOW_UPS) <= set(MESSAGES) <= set(Touchpoint)


def test_the_high_value_threshold_names_a_known_currency_and_positive_rates(tmp_path):
    def threshold(value):
        return lambda d: d["escalation"].update({"kickoff_amount_above": value})

    unknown = load_changed(tmp_path, threshold({"amount": 250000, "currency": "USS"}))
    assert "escalation.kickoff_amount_above" in unknown and "unknown currency code 'USS'" in unknown
    lower = load_changed(tmp_path, threshold({"amount": 250000, "currency": "usd"}))
    assert "unknown currency code 'usd'" in lower and "upper case" in lower
    negative = load_changed(tmp_path, threshold({"amount": 250000, "currency": "USD", "rates": {"JPY": -0.0067}}))
    assert "escalation.kickoff_amount_above" in negative and "rates.JPY: -0.0067 is not a rate" in negative
    bad_code = load_changed(tmp_path, threshold({"amount": 250000, "currency": "USD", "rates": {"YEN": 0.0067}}))
    assert "rates.YEN: unknown currency code" in bad_code
    below_zero = load_changed(tmp_path, threshold({"amount": -1, "currency": "USD"}))
    assert "escalation.kickoff_amount_above" in below_zero and "amount" in below_zero
    assert "greater than or equal to 0" in load_changed(tmp_path, threshold(-5))  # the plain number, as before


def test_the_shipped_threshold_is_250000_usd_with_rates():
    [default] = [p for p in load_all() if p.playbook.name == "default"]
    limit = default.playbook.escalation.kickoff_amount_above
    assert not isinstance(limit, float | int) and limit is not None
    assert (limit.amount, limit.currency) == (250_000, "USD") and limit.rates["JPY"] > 0
