"""Living links (/support/<list>, contracts.support_lists): each redirects to the Web UI's
Workflows list with the guide's query filled in for the moment it is opened, and on a dev
server that query lists exactly the right journeys."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from contracts.support_lists import LISTS
from starters.app import create_app
from tests.harness.staff import guide_queries
from tests.harness.starters_fixtures import settings_for
from tests.harness.support import journey_worker
from tests.workflows.test_support_queries import Journeys, calm_zone, drive, one_full_owner, write_playbooks
from tests.workflows.test_support_queries import clarify_never_sent as _clarify_never_sent

# The guide's example moment: its timestamps are 24 November 2026, 09:00 in Chicago (-06:00).
GUIDE_MOMENT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def client_for(clock: datetime | None = None, **settings: object) -> httpx.AsyncClient:
    app = create_app(settings_for("127.0.0.1:1", **settings), clock=clock.timestamp if clock is not None else time.time)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


def target(response: httpx.Response) -> tuple[str, str]:
    """(the Web UI list the redirect goes to, its query)."""
    assert response.status_code == 307, response.text
    assert response.headers["cache-control"] == "no-store"
    url = urlsplit(response.headers["location"])
    return f"{url.scheme}://{url.netloc}{url.path}", parse_qs(url.query)["query"][0]


@pytest.mark.parametrize("living", LISTS, ids=lambda living: living.path)
async def test_a_living_link_is_the_guides_query_filled_in_for_now(living):
    guide = guide_queries()[living.name]
    async with client_for(GUIDE_MOMENT) as http:
        where, query = target(await http.get(f"/support/{living.path}", params={"tz": "America/Chicago"}))
    assert where == "http://localhost:8233/namespaces/default/workflows"
    assert query == guide  # the guide's examples are this moment, in Chicago


async def test_today_and_this_week_are_the_zones_and_the_default_zone_is_configured():
    late_sunday_in_chicago = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Sun 29 Nov 21:00 -06:00; Mon in UTC
    async with client_for(late_sunday_in_chicago, onboarding_support_time_zone="America/Chicago") as http:
        _, due = target(await http.get("/support/due-today"))
        _, week = target(await http.get("/support/activated-this-week"))
        _, stuck = target(await http.get("/support/stuck"))
        _, utc_week = target(await http.get("/support/closed-this-week", params={"tz": "UTC"}))
    assert "NextActionDue >= '2026-11-29T00:00:00-06:00' AND NextActionDue < '2026-11-30T00:00:00-06:00'" in due
    assert week.endswith("CloseTime >= '2026-11-23T00:00:00-06:00'")
    assert stuck.endswith("NextActionDue < '2026-11-30T03:00:00Z'")
    assert utc_week.endswith("CloseTime >= '2026-11-30T00:00:00+00:00'")


async def test_the_web_ui_address_and_namespace_come_from_the_settings():
    settings = {"temporal_ui_url": "https://temporal.example.com/", "temporal_namespace": "onboarding-prod"}
    async with client_for(GUIDE_MOMENT, **settings) as http:
        where, _ = target(await http.get("/support/stuck"))
    assert where == "https://temporal.example.com/namespaces/onboarding-prod/workflows"


async def test_bad_input_is_answered_naming_the_field():
    async with client_for(GUIDE_MOMENT) as http:
        bad_zone = await http.get("/support/due-today", params={"tz": "Mars/Olympus"})
        no_list = await http.get("/support/stuck-forever")
    assert bad_zone.status_code == 422
    assert bad_zone.json()["errors"][0]["field"] == "tz"
    assert no_list.status_code == 404
    assert "/support/stuck" in no_list.json()["detail"]


async def test_the_index_lists_every_living_link():
    async with client_for(GUIDE_MOMENT) as http:
        response = await http.get("/support")
    assert response.status_code == 200
    for living in LISTS:
        assert f'href="/support/{living.path}"' in response.text
    assert 'action="/support/find"' in response.text


# --- on a dev server ---------------------------------------------------------------------------


async def listed(client, query: str) -> set[str]:
    return {w.id async for w in client.list_workflows(query)}


async def test_each_living_link_lists_exactly_the_right_journeys(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """The support-queries journeys (past due S, due today B, due in 72 h A, activated D, lost F,
    ...): each link, opened now in a zone where today has hours left, finds exactly its own."""
    client = dev_env.client
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    zone = calm_zone(started)
    expected = {"stuck": "S", "due-today": "BS", "activated-this-week": "D", "closed-this-week": "F"}
    async with journey_worker(
        client,
        tmp_path,
        playbooks=write_playbooks(tmp_path / "playbooks"),
        roster=one_full_owner,
        wrap=_clarify_never_sent,
    ) as task_queue:
        j: Journeys = await drive(client, task_queue, uuid.uuid4().hex[:8], started)
        async with client_for() as http:  # the real clock
            for path, keys in expected.items():
                _, query = target(await http.get(f"/support/{path}", params={"tz": zone}))
                scoped = f"({query}) AND TaskQueue = '{task_queue}'"
                deadline = asyncio.get_running_loop().time() + 15
                while (got := await listed(client, scoped)) != j.ids(keys):
                    if asyncio.get_running_loop().time() > deadline:
                        raise AssertionError(f"/support/{path}: {query}\n expected {keys}, listed {sorted(got)}")
                    await asyncio.sleep(0.1)
                assert (await client.count_workflows(scoped)).count == len(keys)
