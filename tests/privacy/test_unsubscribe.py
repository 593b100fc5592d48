"""One-click unsubscribe (RFC 8058): every customer email carries a signed link; a GET only
asks; a POST records the suppression, signals the journey `unsubscribed`, and no later
customer email goes out (follow-ups pending included), while the owner still hears; a forged
or altered link changes nothing; a journey already ended still gets 204 and the record is
honoured when a new journey for that contact starts (time-skipping server, real HTTP
service, real SMTP server)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
import structlog
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType

from contracts.signals import Unsubscribed
from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from privacy.contacts import contact_hash
from privacy.suppressions import FileSuppressionList
from privacy.unsubscribe import ExpiredToken, InvalidToken, UnsubscribeSigner
from starters.signatures import Clock
from tests.harness.privacy_keys import CONVERTER, UNSUBSCRIBE_SECRET
from tests.harness.privacy_support import CONTACT_EMAIL, http_service, marked_deal
from tests.harness.starters_checks import assert_problem
from tests.harness.starters_fixtures import signed, unique
from tests.harness.support import advance_until
from workflows.onboarding import OnboardingWorkflow

LINK = re.compile(r"^<(?P<url>https?://[^>]+/unsubscribe/(?P<token>[^>]+))>$")


# A fixed instant for expiry checks: links are verified against it, never against the real clock.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def signer() -> UnsubscribeSigner:
    return UnsubscribeSigner([UNSUBSCRIBE_SECRET.encode()])


def test_tokens_verify_and_refuse_forgeries():
    s = signer()
    later = NOW + timedelta(days=30)
    token = s.token("onboarding-D-1", contact_hash("Ana@Acme.example "), later)
    claim = s.verify(token, now=NOW)
    assert claim.workflow_id == "onboarding-D-1" and claim.contact_hash == contact_hash("ana@acme.example")
    assert "ana" not in base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()  # no address inside
    claims, signature = token.split(".")
    other = (
        base64.urlsafe_b64encode(
            json.dumps({"w": "onboarding-D-2", "c": claim.contact_hash, "e": int(later.timestamp())}).encode()
        )
        .decode()
        .rstrip("=")
    )
    for forged in (
        f"{other}.{signature}",
        f"{claims}.{signature[:-2]}AA",
        claims,
        "",
        "a.b",
        UnsubscribeSigner([b"another-secret-of-enough-length"]).token("onboarding-D-1", claim.contact_hash, later),
    ):
        with pytest.raises(InvalidToken):
            s.verify(forged, now=NOW)
    # a link works up to its expiry second included, not one second after
    expiring = s.token("onboarding-D-1", claim.contact_hash, NOW)
    assert s.verify(expiring, now=NOW).expires_at == NOW
    with pytest.raises(ExpiredToken):
        s.verify(expiring, now=NOW + timedelta(seconds=1))
    # rotation: a link signed with the old secret still works while it is listed
    rotated = UnsubscribeSigner([b"the-new-unsubscribe-secret-0001", UNSUBSCRIBE_SECRET.encode()])
    assert rotated.verify(token, now=NOW).workflow_id == "onboarding-D-1"


def link_of(message) -> tuple[str, str]:
    match = LINK.match(message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return match["url"], match["token"]


async def signals(handle) -> list[tuple[str, object]]:
    out = []
    for event in (await handle.fetch_history()).events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == "unsubscribed":
                [value] = await CONVERTER.decode(attrs.input.payloads, [Unsubscribed])
                out.append((attrs.signal_name, value))
            else:
                out.append((attrs.signal_name, None))
    return out


async def test_one_click_stops_every_later_customer_email_and_forgeries_change_nothing(ts_env, tmp_path, journeys):
    client = ts_env.client
    deal_id = unique("D-UNS")
    data = tmp_path / "data"
    async with (
        SmtpSink() as sink,
        journeys(client, smtp_url=sink.url) as task_queue,
        http_service(ts_env, task_queue, data) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        raw, headers = signed(marked_deal(deal_id))
        assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
        handle = client.get_workflow_handle(f"onboarding-{deal_id}")
        await advance_until(
            ts_env,
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        [kickoff] = await sink.wait_for(1)
        url, token = link_of(kickoff)
        path = url[url.index("/unsubscribe/") :]

        # A mail client's or scanner's GET asks, and changes nothing.
        page = await http.get(path)
        assert page.status_code == 200 and 'method="post"' in page.text and "Unsubscribe" in page.text
        # Forged and altered links: 404, nothing recorded or signalled.
        claims, signature = token.split(".")
        for forged in (f"{claims}.{signature[::-1]}", f"{claims[:-3]}abc.{signature}", "nonsense"):
            refused = await http.post(f"/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"})
            assert refused.status_code == 404
        assert [name for name, _ in await signals(handle)] == []
        assert await FileSuppressionList.in_data_dir(data).find(contact_hash(CONTACT_EMAIL)) is None

        # The one click (RFC 8058: a POST with List-Unsubscribe=One-Click).
        done = await http.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 204
        [(name, value)] = await signals(handle)
        assert name == "unsubscribed" and value.contact_hash == contact_hash(CONTACT_EMAIL)
        record = await FileSuppressionList.in_data_dir(data).find(contact_hash(CONTACT_EMAIL))
        assert record is not None and record.workflow_id == handle.id
        assert (await http.post(path, data={"List-Unsubscribe": "One-Click"})).status_code == 204  # idempotent

        # Follow-ups fall due (clarify, simplify, redirect), then the owner is escalated to:
        # no customer email goes out, the owner's does.
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(hours=4))
        owner_notice = [m for m in await sink.wait_for(2) if m["X-Onboarding-Kind"] == "escalation"]
        assert len(owner_notice) == 1 and "List-Unsubscribe" not in owner_notice[0]
        customer = [m for m in sink.messages if CONTACT_EMAIL in m["To"]]
        assert [m["X-Onboarding-Kind"] for m in customer] == ["direction"]

        # The journey ends; its link still answers 204 and the record stays.
        await handle.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
        await handle.result()
        assert (await http.post(path, data={"List-Unsubscribe": "One-Click"})).status_code == 204
        # A browser form post gets a page instead of an empty 204.
        page = await http.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "unsubscribed" in page.text

        # A new deal for the same contact: the journey starts knowing, and sends nothing to them.
        second = unique("D-UNS2")
        raw, headers = signed(marked_deal(second))
        assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
        handle2 = client.get_workflow_handle(f"onboarding-{second}")
        [(name, value)] = await signals(handle2)
        assert name == "unsubscribed" and value.contact_hash == contact_hash(CONTACT_EMAIL)
        assert value.at == record.at
        # It knows from its first signal: the kickoff is not emailed, the owner takes over.
        state = await advance_until(
            ts_env,
            handle2,
            lambda s: s.unsubscribed and s.state is OnboardingState.escalated,
            step=timedelta(minutes=30),
        )
        assert any(e.event == "direction not emailed: the customer unsubscribed" for e in state.timeline)
        assert "unsubscribed" in state.reason
        assert not [m for m in sink.messages if CONTACT_EMAIL in m["To"] and second in m["X-Onboarding-Deal"]]
        await handle2.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
        await handle2.result()


# --- refusals at the edges: malformed tokens, oversized bodies (real HTTP service) ---------------

FORM = {"content-type": "application/x-www-form-urlencoded"}
ONE_CLICK = b"List-Unsubscribe=One-Click"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@asynccontextmanager
async def inert_journey(
    dev_env, tmp_path, *, expires_at: datetime | None = None, clock: Clock = time.time
) -> AsyncIterator[tuple[str, Any, str, Path]]:
    """The HTTP service (reading `clock`), a running journey no worker polls (its history
    shows every signal), and a genuine unsubscribe token for it: (base URL, handle, token, data
    dir). On the dev server: a workflow task nobody takes would hold the time-skipping server's
    clock."""
    data = tmp_path / "data"
    task_queue = unique("inert")
    handle = await dev_env.client.start_workflow(
        "OnboardingWorkflow", {"deal_id": "inert"}, id=f"onboarding-{unique('D-EDGE')}", task_queue=task_queue
    )
    expires_at = expires_at or datetime.now(UTC) + timedelta(days=30)
    token = signer().token(handle.id, contact_hash(CONTACT_EMAIL), expires_at)
    try:
        async with http_service(dev_env, task_queue, data, clock=clock) as base:
            yield base, handle, token, data
    finally:
        await handle.terminate("test over")


async def assert_unchanged(handle, data: Path) -> None:
    """Nothing signalled, nothing recorded."""
    assert await signals(handle) == []
    assert await FileSuppressionList.in_data_dir(data).find(contact_hash(CONTACT_EMAIL)) is None


async def assert_one_click_works(http: httpx.AsyncClient, handle, token: str, data: Path) -> None:
    """The control: the same journey and token do take a genuine one click."""
    done = await http.post(f"/unsubscribe/{token}", content=ONE_CLICK, headers=FORM)
    assert done.status_code == 204, done.text
    assert [name for name, _ in await signals(handle)] == ["unsubscribed"]
    assert await FileSuppressionList.in_data_dir(data).find(contact_hash(CONTACT_EMAIL)) is not None


async def test_a_link_expires_after_its_last_second(dev_env, tmp_path):
    """The service's clock frozen at the link's expiry, then one second past it."""
    now = [NOW]
    frozen = inert_journey(dev_env, tmp_path, expires_at=NOW, clock=lambda: now[0].timestamp())
    async with frozen as (base, handle, token, data), httpx.AsyncClient(base_url=base) as http:
        assert (await http.get(f"/unsubscribe/{token}")).status_code == 200
        now[0] = NOW + timedelta(seconds=1)
        for method in ("GET", "POST"):
            response = await http.request(method, f"/unsubscribe/{token}", content=ONE_CLICK, headers=FORM)
            assert_problem(response, 410)
        page = await http.get(f"/unsubscribe/{token}", headers={"Accept": "text/html"})
        assert page.status_code == 410 and "expired" in page.text
        await assert_unchanged(handle, data)
        now[0] = NOW
        await assert_one_click_works(http, handle, token, data)


async def test_malformed_tokens_are_404_problems_and_change_nothing(dev_env, tmp_path):
    async with inert_journey(dev_env, tmp_path) as (base, handle, token, data):
        claims, signature = token.split(".")
        malformed = [
            "%C3%A9%00.%FF",  # non-ASCII, NUL and a byte that is not UTF-8
            f"{claims}.%C3%A9",  # genuine claims, a non-ASCII signature
            f"{claims}.{signature}%C3%A9",  # a genuine token with a non-ASCII tail
            f"%C3%A9{claims}.{signature}",
            f"{claims}.{signature[:-1]}%FF",
            f"{claims}.{signature}.{signature}",  # more dots
            f"{claims}..{signature}",
            f"{claims}.{signature}%00",
            f"{claims}%20.{signature}",
            f"{claims}.{signature}=",  # padded base64url is not what the signer writes
        ]
        async with httpx.AsyncClient(base_url=base) as http:
            for path in malformed:
                for method in ("GET", "POST"):
                    response = await http.request(method, f"/unsubscribe/{path}", content=ONE_CLICK, headers=FORM)
                    assert_problem(response, 404)
                    assert response.json()["detail"] == "this unsubscribe link is not valid", path
            # a person's browser still gets a page, with the same status
            page = await http.get(f"/unsubscribe/{malformed[0]}", headers={"Accept": "text/html"})
            assert page.status_code == 404 and "Link not found" in page.text
            await assert_unchanged(handle, data)
            await assert_one_click_works(http, handle, token, data)


async def test_an_oversized_unsubscribe_body_is_413_and_changes_nothing(dev_env, tmp_path):
    async with inert_journey(dev_env, tmp_path) as (base, handle, token, data):
        path = f"/unsubscribe/{token}"
        five_mb = ONE_CLICK + b"&x=" + b"x" * (5 * 1024 * 1024)

        async def chunked():  # no Content-Length: the limit holds while the body arrives
            yield ONE_CLICK
            for _ in range(80):
                yield b"x" * 65536

        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            with structlog.testing.capture_logs() as logs:
                assert_problem(await http.post(path, content=five_mb, headers=FORM), 413)
                assert_problem(await http.post(path, content=chunked(), headers=FORM), 413)
            await assert_unchanged(handle, data)
            # the refusal is logged without the link's token (a capability)
            assert logs and all(token not in repr(entry) for entry in logs)
            assert any(e.get("status") == 413 and e.get("path") == "/unsubscribe/<token>" for e in logs), logs
            await assert_one_click_works(http, handle, token, data)


async def test_no_token_ever_answers_5xx(dev_env, tmp_path):
    """Property: whatever the token (any unicode, raw bytes, dots, genuine parts recombined,
    far too long), GET and POST answer a 404 problem, and nothing is signalled or recorded."""
    async with inert_journey(dev_env, tmp_path) as (base, handle, token, data):
        claims, signature = token.split(".")
        part = st.one_of(
            st.text(max_size=40),
            st.text(alphabet=BASE64URL, max_size=60),
            st.sampled_from([claims, signature, claims[:-1], signature[1:], "", "=", "é", "\x00", "\ud800"]),
        )
        tokens = st.one_of(
            st.text(min_size=1, max_size=200),  # any unicode, lone surrogates included
            st.binary(min_size=1, max_size=200),  # any bytes, UTF-8 or not
            st.lists(part, min_size=1, max_size=5).map(".".join),  # dots, and genuine parts around them
            st.text(alphabet=BASE64URL + ".", min_size=2000, max_size=6000),  # very long
        ).filter(lambda t: t != token)
        escapes = st.sampled_from(["every byte", "unsafe bytes"])

        def percent_encoded(raw: str | bytes, escape: str) -> str:
            octets = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
            if escape == "every byte":
                return "".join(f"%{b:02X}" for b in octets)
            return quote(octets, safe="")

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(raw=tokens, escape=escapes)
        @example(raw=b"\xc3\xa9\x00.\xff", escape="unsafe bytes")  # the reported /unsubscribe/%C3%A9%00.%FF
        @example(raw=b"\xc3\xa9\x00.\xff", escape="every byte")
        @example(raw=f"{claims}.é", escape="unsafe bytes")
        def answers_404(raw: str | bytes, escape: str) -> None:
            path = f"/unsubscribe/{percent_encoded(raw, escape)}"
            for method in ("GET", "POST"):
                response = client.request(method, path, content=ONE_CLICK, headers=FORM)
                assert response.status_code < 500, (method, path, response.text)
                if response.is_redirect:  # the framework's redirect of a path ending with "/"
                    assert unquote(path).endswith("/"), (method, path)
                else:
                    assert_problem(response, 404)

        with httpx.Client(base_url=base, timeout=30) as client:
            await asyncio.to_thread(answers_404)  # the service answers on this event loop
        await assert_unchanged(handle, data)
