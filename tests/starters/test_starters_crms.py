"""The CRM registry (contracts/crms.py): the names and activity names kept in histories, every
line resolving to its parts, and a CRM added by one registry line (tests/harness/crm_example.py) being
served, checked at startup, registered on the worker and faked by the lab. No server needed."""

from __future__ import annotations

from typing import Any, get_args

import httpx
import pytest
import structlog
from fastapi import APIRouter
from temporalio import activity

import worker
from contracts import crms
from contracts.deal import Crm
from contracts.journey import JourneyInput
from contracts.signals import DealInCrm
from lab.world import World
from starters.app import create_app, warn_unconfigured
from tests.harness import crm_example
from tests.harness.starters_checks import PROBLEM
from tests.harness.starters_fixtures import settings_for


def activity_names(activities: Any) -> list[str | None]:
    return [activity._Definition.must_from_callable(a).name for a in activities]


def test_crm_names_and_activity_names_are_those_in_histories() -> None:
    # JourneyInput.crm, deal_in_crm {crm} and fetch_<crm>_deal are in recorded histories
    assert [c.name for c in crms.CRMS] == ["hubspot", "salesforce", "pipedrive"]
    assert get_args(Crm) == crms.FETCHING == ("hubspot", "pipedrive")
    assert [c.fetch_activity for c in crms.CRMS if c.fetch] == ["fetch_hubspot_deal", "fetch_pipedrive_deal"]
    assert JourneyInput(deal_id="1", crm="pipedrive").crm == "pipedrive"
    with pytest.raises(ValueError, match="'hubspot' or 'pipedrive'"):
        DealInCrm.model_validate({"crm": "salesforce"})  # Salesforce sends the whole deal: nothing to fetch


@pytest.mark.parametrize("crm", crms.CRMS, ids=lambda c: c.name)
def test_every_registry_line_resolves_to_its_parts(crm: crms.CrmEntry) -> None:
    routes = crms.resolve(crm.routes)
    assert isinstance(routes.router, APIRouter) and routes.router.routes
    service = create_app(settings_for("127.0.0.1:1")).state.service
    assert routes.unconfigured(service) is None  # the test settings configure every CRM
    if crm.fetch:
        assert activity_names(crms.resolve(crm.fetch)()) == [crm.fetch_activity]
    if crm.lab_stub:
        assert callable(crms.resolve(crm.lab_stub))


def test_the_worker_registers_one_fetch_per_crm_that_reads_its_deal() -> None:
    assert activity_names(worker.extra_activities()) == ["fetch_hubspot_deal", "fetch_pipedrive_deal"]


@pytest.fixture
def with_acme(monkeypatch: pytest.MonkeyPatch) -> crms.CrmEntry:
    monkeypatch.setattr(crms, "CRMS", (*crms.CRMS, crm_example.ENTRY))
    monkeypatch.delenv("ACME_WEBHOOK_TOKEN", raising=False)
    return crm_example.ENTRY


async def test_a_crm_added_by_one_registry_line_is_served_checked_registered_and_faked(
    with_acme: crms.CrmEntry,
) -> None:
    # (`Crm` is built when the registry is imported: that a line with `fetch` joins it is the
    # first test's check on the real registry.)
    app = create_app(settings_for("127.0.0.1:1"))
    spec = app.openapi()
    assert set(spec["paths"]["/webhooks/acme"]["post"]["responses"]) == {
        "202",
        "400",
        "401",
        "413",
        "415",
        "422",
        "503",
    }
    assert "AcmeDealWon" in spec["components"]["schemas"]

    service = app.state.service
    with structlog.testing.capture_logs() as logs:
        warn_unconfigured(service)
    assert any(e["event"] == "no_acme_token" for e in logs)

    assert "fetch_acme_deal" in activity_names(worker.extra_activities())
    assert "fetch_acme_deal" in activity_names(World(None, "lab", None).activities())  # type: ignore[arg-type]

    # the shared intake: 401 before the token is configured, then 415 / 422, and a valid
    # delivery gets as far as Temporal (unreachable here: 503)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        body = {"deal_id": "A-1"}
        refused = await http.post("/webhooks/acme", json=body, headers={"x-acme-token": "t0ken"})
        assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM

        service.configure(crm_example.AcmeWebhookSettings(acme_webhook_token="t0ken"))
        with structlog.testing.capture_logs() as logs:
            warn_unconfigured(service)
        assert not any(e["event"] == "no_acme_token" for e in logs)
        headers = {"x-acme-token": "t0ken"}
        assert (await http.post("/webhooks/acme", content=b"{}", headers=headers)).status_code == 415
        invalid = await http.post("/webhooks/acme", json={"deal_id": "no spaces"}, headers=headers)
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "deal_id"
        unavailable = await http.post("/webhooks/acme", json=body, headers=headers)
        assert unavailable.status_code == 503 and unavailable.headers["retry-after"]
