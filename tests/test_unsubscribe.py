"""One-click unsubscribe (RFC 8058): every customer email carries a signed link; a GET only
asks; a POST records the suppression, signals the journey `unsubscribed`, and no later
customer email goes out (follow-ups pending included), while the owner still hears; a forged
or altered link changes nothing; a journey already ended still gets 204 and the record is
honoured when a new journey for that contact starts (time-skipping server, real HTTP
service, real SMTP server)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

from contracts.signals import Unsubscribed
from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from privacy.contacts import contact_hash
from privacy.suppressions import FileSuppressionList
from privacy.unsubscribe import ExpiredToken, InvalidToken, UnsubscribeSigner
from tests.privacy_keys import CONVERTER, UNSUBSCRIBE_SECRET
from tests.privacy_support import CONTACT_EMAIL, http_service, marked_deal
from tests.starters_fixtures import signed, unique
from tests.support import advance_until, journey_worker
from workflows.onboarding import OnboardingWorkflow

LINK = re.compile(r"^<(?P<url>https?://[^>]+/unsubscribe/(?P<token>[^>]+))>$")


def signer() -> UnsubscribeSigner:
    return UnsubscribeSigner([UNSUBSCRIBE_SECRET.encode()])


def test_tokens_verify_and_refuse_forgeries():
    s = signer()
    later = datetime.now(UTC) + timedelta(days=30)
    token = s.token("onboarding-D-1", contact_hash("Ana@Acme.example "), later)
    claim = s.verify(token)
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
            s.verify(forged)
    with pytest.raises(ExpiredToken):
        s.verify(s.token("onboarding-D-1", claim.contact_hash, datetime.now(UTC) - timedelta(seconds=1)))
    # rotation: a link signed with the old secret still works while it is listed
    rotated = UnsubscribeSigner([b"the-new-unsubscribe-secret-0001", UNSUBSCRIBE_SECRET.encode()])
    assert rotated.verify(token).workflow_id == "onboarding-D-1"


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


async def test_one_click_stops_every_later_customer_email_and_forgeries_change_nothing(ts_env, tmp_path):
    client = ts_env.client
    deal_id = unique("D-UNS")
    data = tmp_path / "data"
    async with SmtpSink() as sink, journey_worker(client, tmp_path, smtp_url=sink.url) as task_queue:
        async with http_service(ts_env, task_queue, data) as base, httpx.AsyncClient(base_url=base) as http:
            raw, headers = signed(marked_deal(deal_id))
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
            handle = client.get_workflow_handle(f"onboarding-{deal_id}")
            await advance_until(
                ts_env, handle, lambda s: s.next_action is not None and s.next_action.due_at is not None
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
