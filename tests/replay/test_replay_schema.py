"""A history holding a shape this build cannot read (a newer build widened a limit, added a
value) fails its journey's workflow task on "Failed decoding arguments": the gate names it a
schema incompatibility, with the shape and the field, not a change of commands that
`workflow.patched()` would fix. A field this build merely does not know replays."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from replay.corpus import CORPUS, replay_files
from replay.schema import fields

SOURCE = CORPUS / "v3.10" / "cancel.json"


def with_snapshot(tmp_path: Path, change) -> Path:
    """cancel.json with its playbook snapshot (the `snapshot_playbook` result) changed."""
    history = json.loads(SOURCE.read_text())
    for event in history["events"]:
        attributes = event.get("activityTaskCompletedEventAttributes")
        if not attributes:
            continue
        payload = attributes["result"]["payloads"][0]
        data: dict[str, Any] = json.loads(base64.b64decode(payload["data"]))
        if "playbook" in data:
            change(data)
            payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
            break
    else:
        raise AssertionError("no snapshot in the history: update this test to the corpus")
    path = tmp_path / "v9" / "cancel.json"
    path.parent.mkdir()
    path.write_text(json.dumps(history))
    return path


async def test_a_value_this_build_cannot_read_is_reported_as_schema_incompatibility(tmp_path):
    def widened(data: dict[str, Any]) -> None:
        data["playbook"]["milestones"][0]["window_hours"] = 24 * 365  # a newer build's limit

    [problem] = await replay_files([with_snapshot(tmp_path, widened)])
    message = problem.message()
    assert "does not decode in the current code" in message
    assert "schema incompatibility: a PlaybookSnapshot in the history does not decode" in message
    assert "playbook.milestones.0.window_hours: Value error, 8760h: at most 2160 hours (90 days)" in message
    assert "workflow.patched() does not apply" in message and '"Adding a field"' in message
    assert "Guard the change" not in message


async def test_fields_a_newer_build_added_replay_and_are_not_a_problem(tmp_path):
    def added(data: dict[str, Any]) -> None:
        data["playbook"]["milestones"][0]["badge"] = "first-upload"
        data["playbook"]["celebration"] = {"emoji": True}
        data["shown_since"] = "v4"

    assert await replay_files([with_snapshot(tmp_path, added)]) == []


def test_an_unknown_field_refused_where_fields_are_refused_is_named_as_such():
    from pydantic import ValidationError

    from contracts.signals import Cancel

    try:
        Cancel.model_validate({"reason": "x", "requested_by": "ops"})
    except ValidationError as err:
        assert fields(err) == ["field requested_by unknown to this build"]
    else:
        raise AssertionError("Cancel accepted an unknown field")
