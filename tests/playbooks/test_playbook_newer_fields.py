"""A playbook written for a newer build, read by an older one (a rollback): the worker serves
it, keeps the fields it does not know in the journey's snapshot and warns once; the tools an
author checks a playbook with still refuse the field, naming it (docs/versioning.md,
"Adding a field")."""

from __future__ import annotations

import io
import json

import pytest
import structlog
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

import worker
from activities.playbook import PlaybookActivities
from cli import playbooks as playbooks_cli
from cli.main import parser
from contracts.playbook import PlaybookSnapshot, SnapshotRequest
from playbooks import loader
from playbooks.loader import PlaybookError
from privacy.undecodable import workflow_converter
from tests.playbooks.test_playbook_selection import playbook, write


def newer(**extra: object) -> dict:
    """The fallback playbook as a newer build writes it: a milestone field and a top-level one
    this build does not know."""
    data = playbook("general", ["*"], ["general"], fallback=True, **extra)
    data["milestones"][0]["badge"] = "first-upload"
    data["celebration"] = {"emoji": True}
    return data


def test_the_worker_starts_on_a_newer_playbook_and_warns_once_naming_the_fields(tmp_path):
    write(tmp_path, "general.yaml", newer())
    with structlog.testing.capture_logs() as logs:
        playbooks = worker.check_playbooks(tmp_path)
        worker.check_playbooks(tmp_path)  # the same bytes: no second warning
    [snapshot] = playbooks.serving()
    assert not playbooks.broken and snapshot.playbook.fallback
    [line] = [e for e in logs if e["event"] == "playbook.unknown_fields"]
    assert line["log_level"] == "warning" and line["file"] == "general.yaml"
    assert line["fields"] == ["milestones.0.badge", "celebration"]


async def test_the_snapshot_keeps_the_newer_fields_across_the_worker_s_converter(tmp_path):
    write(tmp_path, "general.yaml", newer())
    env = ActivityEnvironment()
    found = await env.run(PlaybookActivities(tmp_path).snapshot_playbook, SnapshotRequest(segment="smb", product="hr"))
    converter = workflow_converter(pydantic_data_converter).payload_converter
    [payload] = converter.to_payloads([found])
    written = json.loads(payload.data)
    assert written["playbook"]["celebration"] == {"emoji": True}
    assert written["playbook"]["milestones"][0]["badge"] == "first-upload"
    [decoded] = converter.from_payloads([payload], [PlaybookSnapshot])  # a continued run's input
    assert json.loads(converter.to_payloads([decoded])[0].data) == written


def test_the_author_s_checks_still_refuse_an_unknown_field_by_name(tmp_path):
    write(tmp_path, "general.yaml", newer())
    with pytest.raises(PlaybookError) as err:
        loader.load_all(tmp_path)
    assert "milestones.0.badge: Extra inputs are not permitted" in str(err.value)
    assert "celebration: Extra inputs are not permitted" in str(err.value)
    out = io.StringIO()
    assert playbooks_cli.run(parser().parse_args(["playbooks", "--dir", str(tmp_path)]), out=out) == 1
    assert "milestones.0.badge: Extra inputs are not permitted" in out.getvalue()
    assert "general.yaml: only fields this build does not know; the worker serves it" in out.getvalue()
    assert "refuses to start" not in out.getvalue()


def test_an_unknown_field_beside_a_real_problem_is_still_refused_by_the_worker(tmp_path):
    data = newer()
    data["milestones"][0].pop("direction")
    write(tmp_path, "general.yaml", data)
    with pytest.raises(PlaybookError) as err:
        worker.check_playbooks(tmp_path)
    assert "milestones.0.direction: Field required" in str(err.value)
