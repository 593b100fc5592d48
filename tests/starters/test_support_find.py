"""Finding a customer by the company name staff know (/support/find, records.accounts): any
case, any part, for signed-in staff only; the redirect's Web UI list holds exactly that
customer's journeys (on a dev server, started through the deal-closed webhook)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from contracts.escalations import TaskOpening
from records.accounts import AccountDirectory
from records.database import Database
from records.tasks import TaskStore
from starters.app import create_app
from starters.logs import redact_access_log
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.starters_fixtures import count_eventually, deal_body, serve, settings_for, signed, unique

STAFF = {"Authorization": f"Bearer {CODEC_TOKEN}"}
AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def directory(data_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    """The records of journeys already started: (deal id, account id, account name)."""
    db = Database.from_settings(None, data_dir)
    await db.ready()
    try:
        accounts = AccountDirectory(db)
        for deal_id, account_id, name in rows:
            await accounts.record(
                deal_id=deal_id, workflow_id=f"onboarding-{deal_id}", account_id=account_id, account_name=name, at=AT
            )
    finally:
        await db.dispose()


def http_for(data_dir: Path) -> httpx.AsyncClient:
    app = create_app(settings_for("127.0.0.1:1", onboarding_data_dir=data_dir))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


def list_query(location: str) -> str:
    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://localhost:8233/namespaces/default/workflows"
    return parse_qs(url.query)["query"][0]


@pytest.fixture
async def accounts(tmp_path):
    await directory(
        tmp_path,
        [
            ("D-1", "ACME-1", "Acme Corp"),
            ("D-2", "ACME-1", "Acme Corp"),
            ("D-3", "GLOBEX-7", "Globex"),
            ("D-4", "UNITED-9", "Ünited Ölwerke"),
            ("D-5", "PCT-1", "100% Juice"),
        ],
    )
    return tmp_path


async def test_one_customer_by_any_part_in_any_case_opens_its_journeys(accounts):
    async with http_for(accounts) as http:
        for name in ("acme", "ACME CORP", "  me co ", "Corp"):
            found = await http.get("/support/find", params={"name": name}, headers=STAFF)
            assert found.status_code == 303, (name, found.text)
            assert found.headers["cache-control"] == "no-store"
            assert (
                list_query(found.headers["location"])
                == "WorkflowType = 'OnboardingWorkflow' AND DealId IN ('D-1', 'D-2')"
            )
            assert "acme" not in found.headers["location"].lower()  # the name is never in the link
        unicode = await http.get("/support/find", params={"name": "üNITED öl"}, headers=STAFF)
        assert list_query(unicode.headers["location"]).endswith("DealId IN ('D-4')")
        literal = await http.get("/support/find", params={"name": "100%"}, headers=STAFF)
        assert list_query(literal.headers["location"]).endswith("DealId IN ('D-5')")


async def test_several_customers_are_a_page_with_a_link_each(accounts):
    async with http_for(accounts) as http:
        page = await http.get("/support/find", params={"name": "e"}, headers=STAFF)  # Acme, Globex, Ünited, Juice
    assert page.status_code == 200
    assert "Acme Corp</a> (ACME-1): 2 journey(s): " in page.text
    assert "Globex</a> (GLOBEX-7): 1 journey(s): " in page.text
    assert '<a href="http://localhost:8233/namespaces/default/workflows/onboarding-D-3">D-3</a>' in page.text
    assert "All 5 journeys in one list" in page.text


async def test_no_match_and_wildcards_are_a_clear_page(accounts):
    async with http_for(accounts) as http:
        for name in ("Initech", "A%e", "_"):  # wildcards are characters: no "Acme", no anything
            none = await http.get("/support/find", params={"name": name}, headers=STAFF)
            assert none.status_code == 404, name
            assert "No customer found" in none.text
            assert "No journey's account name contains" in none.text


async def test_bad_input_is_answered_naming_the_field(accounts):
    async with http_for(accounts) as http:
        for params in ({}, {"name": "   "}, {"name": "x" * 257}):
            refused = await http.get("/support/find", params=params, headers=STAFF)
            assert refused.status_code == 422, params
            assert "name" in [e["field"].split(".")[-1] for e in refused.json()["errors"]]


async def test_only_signed_in_staff_may_look_up_names(accounts):
    async with http_for(accounts) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {CODEC_TOKEN}"}):
            refused = await http.get("/support/find", params={"name": "acme"}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "Acme" not in refused.text
        browser = await http.get("/support/find", params={"name": "acme"}, headers={"Accept": "text/html"})
        assert browser.status_code == 401 and 'href="/codec/session"' in browser.text

        # signed in at the codec server, as staff do once per browser: the same session opens the lookup
        signed_in = await http.post("/codec/session", data={"token": CODEC_TOKEN})
        assert signed_in.status_code == 303
        paths = [c.lower() for c in signed_in.headers.get_list("set-cookie")]
        assert any("path=/codec" in c for c in paths) and any("path=/support" in c for c in paths)
        found = await http.get("/support/find", params={"name": "acme"})
        assert found.status_code == 303
        # signed out: the lookup is closed again
        await http.post("/codec/session/end")
        assert (await http.get("/support/find", params={"name": "acme"})).status_code == 401


async def test_journeys_known_only_by_their_escalation_task_are_found_too(tmp_path):
    db = Database.from_settings(None, tmp_path)
    await db.ready()
    try:
        opening = TaskOpening(
            workflow_id="onboarding-D-OLD",
            escalation=1,
            deal_id="D-OLD",
            account_name="Initech",
            milestone="first_action",
            level=1,
            level_name="owner",
            assignee="leo",
            assignee_name="Leo",
            reason="customer asked for help",
            at=AT,
        )
        await TaskStore(db).open(opening)
    finally:
        await db.dispose()
    async with http_for(tmp_path) as http:
        found = await http.get("/support/find", params={"name": "INITECH"}, headers=STAFF)
    assert list_query(found.headers["location"]).endswith("DealId IN ('D-OLD')")


# --- on a dev server ---------------------------------------------------------------------------


async def test_the_lookup_lists_exactly_the_customers_journeys(dev_env, tmp_path):
    """Deals closed through the webhook: the customer's two journeys, not its namesake's."""
    client = dev_env.client
    run = unique("N")
    customers = {
        "A1": (f"{run}-NW", f"Northwind Traders {run}"),
        "A2": (f"{run}-NW", f"Northwind Traders {run}"),
        "B": (f"{run}-NH", f"Northwind Health {run}"),
        "C": (f"{run}-CO", f"Contoso {run}"),
    }
    settings = settings_for(client.service_client.config.target_host, onboarding_data_dir=tmp_path)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as http:
        deals = {}
        for key, (account_id, name) in customers.items():
            deals[key] = f"{run}-{key}"
            body = deal_body(deals[key], account={"id": account_id, "name": name, "timezone": "UTC"})
            raw, headers = signed(body)
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202

        one = await http.get("/support/find", params={"name": f"northwind TRADERS {run}"}, headers=STAFF)
        assert one.status_code == 303
        query = list_query(one.headers["location"])
        assert await count_eventually(client, query, 2) == 2
        assert {w.id async for w in client.list_workflows(query)} == {
            f"onboarding-{deals['A1']}",
            f"onboarding-{deals['A2']}",
        }

        several = await http.get("/support/find", params={"name": "NORTHWIND"}, headers=STAFF)
        assert several.status_code == 200
        everyone = [href for href in several.text.split('href="')[1:] if "All 3 journeys" in href]
        assert len(everyone) == 1
        all_query = list_query(everyone[0].split('"')[0].replace("&amp;", "&"))
        assert await count_eventually(client, all_query, 3) == 3
        assert f"onboarding-{deals['C']}" not in {w.id async for w in client.list_workflows(all_query)}


def test_the_access_log_never_prints_the_name_looked_up():
    redact_access_log()
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/support/find?name=Acme%20Corp", "1.1", 303),
        None,
    )
    assert logging.getLogger("uvicorn.access").filter(record)
    assert "Acme" not in record.getMessage()
    assert "/support/find?<name>" in record.getMessage()
