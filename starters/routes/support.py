"""Staff links into the Temporal Web UI (docs/support.md):

    GET /support                 a page listing the living links
    GET /support/<list>?tz=...   307 to the Web UI's Workflows list, its query filled in for now
                                 (stuck, due-today, activated-this-week, closed-this-week;
                                 contracts.support_lists); `tz`: the zone of "today" and "this
                                 week" (default ONBOARDING_SUPPORT_TIME_ZONE)

The links carry no customer data (the queries name states and times only), so they need no
sign-in; the Web UI asks for its own. Never cached: a living link is worth its moment only."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.support_lists import BY_PATH, LISTS, Moment, workflows_list_url
from starters.deps import ClockDep, SettingsDep
from starters.problems import FieldError, Problem
from starters.settings import known_zone

router = APIRouter(prefix="/support", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
ZoneParam = Annotated[str | None, Query(max_length=64, description="IANA time zone of 'today' and 'this week'")]


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
        headers=NO_STORE,
    )


def base(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/support"


@router.get("")
async def index(request: Request, settings: SettingsDep) -> HTMLResponse:
    here = base(request)
    items = "".join(
        f'<li><a href="{here}/{living.path}">{html.escape(living.title)}</a>: {html.escape(living.what)}'
        f" (<code>{here}/{living.path}</code>)</li>"
        for living in LISTS
    )
    zone = html.escape(settings.onboarding_support_time_zone)
    return page(
        "Onboarding support",
        f"<h2>Living lists</h2><p>Each link opens the Web UI's Workflows list with the current time filled "
        f"in; bookmark the link, not the list. Today and this week begin at midnight in {zone} "
        f"(add <code>?tz=America/Chicago</code> for another zone).</p><ul>{items}</ul>"
        f'<h2>Find a customer</h2><form method="get" action="{here}/find"><label>Company name '
        '<input name="name" required maxlength="256"></label> <button type="submit">Find</button></form>'
        "<p>Part of the name is enough, in any case. Needs the codec sign-in "
        f'(<a href="{request.scope.get("root_path", "")}/codec/session">sign in</a>).</p>',
    )


@router.get("/{name}")
async def living_list(name: str, settings: SettingsDep, clock: ClockDep, tz: ZoneParam = None) -> RedirectResponse:
    living = BY_PATH.get(name)
    if living is None:
        known = ", ".join(f"/support/{each.path}" for each in LISTS)
        raise Problem(404, "no-such-list", "No such list", f"no list {name[:60]!r}; the lists are {known}")
    zone_name = tz if tz is not None else settings.onboarding_support_time_zone
    zone = known_zone(zone_name)
    if zone is None:
        raise Problem(
            422,
            "invalid-query",
            "The query does not match the schema",
            "invalid field(s): tz",
            errors=[
                FieldError(field="tz", message="an IANA time zone, e.g. America/Chicago or UTC", type="value_error")
            ],
        )
    query = living.query(Moment(datetime.fromtimestamp(clock(), UTC), zone))
    url = workflows_list_url(settings.temporal_ui_url, settings.temporal_namespace, query)
    return RedirectResponse(url, status_code=307, headers=NO_STORE)
