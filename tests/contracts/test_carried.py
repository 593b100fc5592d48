"""What one build hands to another keeps the fields the reader does not know: a journey's
input with its carried state, decoded by the worker's converter and written again, holds
every field a newer build added, at any depth; the clients' converter (an edge) still
refuses them; and the HTTP service's documented shapes are unchanged (contracts/strict.py)."""

from __future__ import annotations

import json

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.deal import DealClosed
from contracts.journey import JourneyInput
from contracts.status import Status
from privacy.undecodable import workflow_converter
from replay.corpus import CORPUS, load_history

WORKER = workflow_converter(pydantic_data_converter).payload_converter


def continued_input() -> tuple[dict, object]:
    """A continued run's input (the carried state, its deal and playbook snapshot), as JSON."""
    history = load_history(CORPUS / "v3.10" / "continue-as-new.run2.json")
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    return json.loads(payload.data), payload


def test_every_field_a_newer_build_added_is_kept_through_the_worker_s_converter():
    data, payload = continued_input()
    data["priority"] = "high"  # top level
    data["carried"]["sentiment"] = {"score": 0.4}  # the carried state
    data["carried"]["deal"]["account"]["tier"] = "gold"  # the deal, an edge model, inside
    data["carried"]["playbook"]["playbook"]["milestones"][0]["badge"] = "first-upload"
    data["carried"]["owner"]["owner"]["pronouns"] = "she/her"
    payload.data = json.dumps(data).encode()
    [decoded] = WORKER.from_payloads([payload], [JourneyInput])
    assert decoded.carried.deal.account.model_extra == {"tier": "gold"}
    [written] = WORKER.to_payloads([decoded])
    assert json.loads(written.data) == data


def test_the_clients_converter_still_refuses_a_field_the_deal_does_not_know():
    data, payload = continued_input()
    data["carried"]["deal"]["account"]["tier"] = "gold"
    payload.data = json.dumps(data).encode()
    with pytest.raises(Exception, match=r"account\.tier"):
        pydantic_data_converter.payload_converter.from_payloads([payload], [JourneyInput])
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        DealClosed.model_validate({**data["carried"]["deal"]})


@pytest.mark.parametrize("model", [Status, DealClosed, JourneyInput])
def test_the_documented_shapes_are_the_models_own(model):
    assert model.model_json_schema(mode="serialization")["properties"].keys() == model.model_fields.keys()
