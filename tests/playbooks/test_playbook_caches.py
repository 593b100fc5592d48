"""The worker parses, checks and compiles each playbook text once (docs/performance.md), and
none of that may change what a journey sees: a live edit counts at once, a bad template is
refused every time, identical snapshots are one shared immutable object, different ones
never are."""

from __future__ import annotations

import os
from pathlib import Path

import pydantic
import pytest
import yaml

from activities.messaging import compiled, render
from contracts.messages import check_template
from contracts.playbook import Playbook, PlaybookSnapshot
from playbooks.loader import DEFAULT_DIR, PlaybookError, load_all, read_yaml_model


def write(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def default_data() -> dict:
    return yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())


def test_unchanged_file_is_not_parsed_again_and_an_edit_counts_at_once(tmp_path):
    path = tmp_path / "p.yaml"
    data = default_data()
    write(path, data)
    first, _ = read_yaml_model(path, Playbook)
    again, _ = read_yaml_model(path, Playbook)
    assert again is first  # same bytes: the model parsed before

    # an edit of the same size within the same file-system tick (72 -> 96): still seen
    stat = path.stat()
    data["milestones"][0]["window_hours"] = 96
    assert first.milestones[0].window_hours == 72
    write(path, data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    edited, _ = read_yaml_model(path, Playbook)
    assert edited.milestones[0].window_hours == 96


def test_template_checks_are_memoized_by_text(tmp_path):
    write(tmp_path / "p.yaml", default_data())
    load_all(tmp_path)
    before = check_template.cache_info().hits
    write(tmp_path / "p.yaml", {**default_data(), "name": "renamed"})  # new bytes, same templates
    load_all(tmp_path)
    assert check_template.cache_info().hits > before


def test_a_bad_playbook_is_refused_every_time(tmp_path):
    data = default_data()
    data["milestones"][0]["direction"]["body"] = "Hi {{ nobody }}, go: {{ cta_url }}"
    write(tmp_path / "bad.yaml", data)
    for _ in range(2):
        with pytest.raises(PlaybookError, match="unknown template variable"):
            load_all(tmp_path)


def test_identical_snapshots_are_shared_and_different_ones_are_not(tmp_path):
    [snapshot] = load_all(DEFAULT_DIR)
    text = snapshot.model_dump_json()
    one, two = PlaybookSnapshot.model_validate_json(text), PlaybookSnapshot.model_validate_json(text)
    assert one is two and one == snapshot
    with pytest.raises(pydantic.ValidationError):
        one.digest = "changed"  # shared, so immutable

    # same file name and digest, different content (a dump by other code): its own object
    data = snapshot.model_dump(mode="json")
    data["playbook"]["owner_acknowledgement"]["hours"] = 0
    other = PlaybookSnapshot.model_validate(data)
    assert other is not one and other.playbook.owner_acknowledgement.hours == 0
    assert one.playbook.owner_acknowledgement.hours == snapshot.playbook.owner_acknowledgement.hours != 0

    # a variant of the same playbook (same file, same digest): its own object too
    variant = PlaybookSnapshot.model_validate({**snapshot.model_dump(mode="json"), "variant": "b"})
    assert variant is not one and variant.variant == "b" and one.variant is None


def test_templates_are_compiled_once_per_text_and_render_each_context():
    [snapshot] = load_all(DEFAULT_DIR)
    template = snapshot.playbook.milestones[0].direction
    assert compiled(template.body) is compiled(template.body)
    context = {
        "customer_name": "Ana",
        "account_name": "Acme",
        "action_title": "Upload",
        "action_instruction": "Do it.",
        "cta_url": "https://app.example.com/x",
        "owner_name": "Leo",
        "owner_email": "leo@vendor.example",
        "due_local": "Tue",
        "milestone_title": "First",
        "reason": "",
    }
    first = render(template, context, "customer")
    second = render(template, {**context, "customer_name": "Bo", "account_name": "Beta"}, "customer")
    assert "Hi Ana" in first.body and first.subject.startswith("Acme")
    assert "Hi Bo" in second.body and second.subject.startswith("Beta")
