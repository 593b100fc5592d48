"""Staff links into the Temporal Web UI (docs/support.md):

    GET /support                 a page listing the living links
    GET /support/find?name=...   staff signed in at the codec server: the journeys whose account
                                 name contains `name` (any case; records.accounts), as a Web UI
                                 list (303), a page of accounts, or a page saying none; 401 else
    GET /support/<list>?tz=...   307 to the Web UI's Workflows list, its query filled in for now
                                 (stuck, due-today, activated-this-week, closed-this-week;
                                 contracts.support_lists); `tz`: the zone of "today" and "this
                                 week" (default ONBOARDING_SUPPORT_TIME_ZONE)

The living links carry no customer data (the queries name states and times only), so they
need no sign-in; the lookup answers with company names and takes them, so it is for signed-in
staff only, and its redirect carries deal ids only (never the name). Nothing is cached: a
living link is worth its moment only."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts.journey import WORKFLOW_TYPE
from contracts.support_lists import BY_PATH, LISTS, Moment, journey_url, workflows_list_url
from records.accounts import AccountMatch
from starters import pages
from starters.deps import AccountsDep, ClockDep, ServiceDep, SettingsDep
from starters.journeys import quote_literal
from starters.problems import FieldError, Problem
from starters.settings import known_zone

log = structlog.get_logger("starters.support")
router = APIRouter(prefix="/support", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
ZoneParam = Annotated[str | None, Query(max_length=64, description="IANA time zone of 'today' and 'this week'")]


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return pages.page(title, body, status, NO_STORE)


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


@router.get("/find")
async def find(
    request: Request,
    service: ServiceDep,
    accounts: AccountsDep,
    name: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Staff signed in at the codec server (or with its bearer token) find journeys by the
    account's name: one account's journeys open as a Web UI list; several accounts, a page
    with a link each; none, a page that says so."""
    if not service.staff_access.allowed(request):
        return refused_unsigned(request)
    part = (name or "").strip()
    if not part:
        raise Problem(
            422,
            "invalid-query",
            "The query does not match the schema",
            "invalid field(s): name",
            errors=[FieldError(field="name", message="the company name, or part of it", type="missing")],
        )
    settings = service.settings
    found = await accounts.find(part)
    log.info("support.find", matches=len(found.matches), more=found.more)  # never the name: staff typed it
    if not found.matches:
        return page(
            "No customer found",
            f"<p>No journey's account name contains <strong>{html.escape(part)}</strong> (any case). "
            "Check the spelling, try a shorter part of the name, or search by deal or customer id in the "
            f'Web UI.</p><p><a href="{base(request)}">Back</a></p>',
            status=404,
        )
    groups = found.accounts()

    def link(matches: list[AccountMatch]) -> str:
        return workflows_list_url(settings.temporal_ui_url, settings.temporal_namespace, deals_query(matches))

    if len(groups) == 1 and not found.more:
        return RedirectResponse(link(found.matches), status_code=303, headers=NO_STORE)

    def journeys(matches: list[AccountMatch]) -> str:
        return ", ".join(
            f'<a href="{html.escape(journey_url(settings.temporal_ui_url, settings.temporal_namespace, m.workflow_id))}">'
            f"{html.escape(m.deal_id)}</a>"
            for m in matches
        )

    items = "".join(
        f'<li><a href="{html.escape(link(matches))}">{html.escape(account_name)}</a>'
        f"{f' ({html.escape(account_id)})' if account_id else ''}: {len(matches)} journey(s): {journeys(matches)}</li>"
        for (account_name, account_id), matches in groups.items()
    )
    more = f"<p>More journeys match: only the first {len(found.matches)} are listed; type more of the name.</p>"
    return page(
        f"Customers matching {part}",
        f"<ul>{items}</ul>{more if found.more else ''}"
        f'<p><a href="{html.escape(link(found.matches))}">All {len(found.matches)} journeys in one list</a></p>',
    )


def deals_query(matches: list[AccountMatch]) -> str:
    """The Web UI list of exactly these journeys (their DealId search attribute)."""
    deals = ", ".join(quote_literal(m.deal_id) for m in matches)
    return f"WorkflowType = '{WORKFLOW_TYPE}' AND DealId IN ({deals})"


def refused_unsigned(request: Request) -> Response:
    """401: a person's browser gets a page pointing to the sign-in, anything else problem details."""
    sign_in = f"{request.scope.get('root_path', '')}/codec/session"
    log.info("support.find_refused", reason="no valid token or session")
    if "text/html" in request.headers.get("accept", ""):
        response = page(
            "Sign in first",
            f'<p>Finding a customer by name needs the codec sign-in: <a href="{sign_in}">sign in</a>, '
            "then search again.</p>",
            status=401,
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return Problem(
        401,
        "unauthorized",
        "Unauthorized",
        f"staff only: Authorization: Bearer <codec token>, or sign in at {sign_in}",
        headers={"WWW-Authenticate": "Bearer"},
    ).response()


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
