"""send_message: render a playbook template and deliver it by email (SMTP), Slack incoming
webhook, or the console. At most one attempt sends a given key at a time, across workers:
the key is claimed in the delivery ledger before sending and recorded as sent after
(records/ledger.py; the guarantee per channel is in docs/records.md)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
import structlog
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics as send_metrics
from activities.localise import localised
from activities.settings import ActivitySettings
from contracts.journey import workflow_id_for
from contracts.messages import CHANNELS, Channel, MessageRequest, MessageText, SendReceipt
from privacy.contacts import contact_hash
from privacy.suppressions import FileSuppressionList, SuppressionList
from privacy.unsubscribe import UnsubscribeSigner, list_unsubscribe_headers, parse_secrets
from records.database import Database
from records.ledger import Attempt, Claim, ClaimResult, DeliveryLedger

log = structlog.get_logger(__name__)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_URL = re.compile(r"https?://\S+")

# The channel may have the message: the connection broke after it was handed over.
OUTCOME_UNKNOWN = "DeliveryOutcomeUnknown"


class RenderedMessage(BaseModel):
    subject: str
    body: str


def mask_email(address: str) -> str:
    """What logs say about a recipient: the contact's pseudonymous reference (its first 12
    hex digits), never any part of the address (a domain names the customer)."""
    return f"contact:{contact_hash(address)[:12]}" if address else "contact:none"


def message_id_for(key: str, domain: str) -> str:
    """Deterministic Message-ID: a resend of the same message is recognisably the same."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


# Values that come from outside (the CRM's names, the product's failure reasons), not from the
# playbook: a link in them is not ours to send, and would break the one-call-to-action rule.
FROM_OUTSIDE = ("customer_name", "account_name", "reason")
LINK_REMOVED = "[link removed]"


@functools.lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """A template compiled once per distinct text: compiling is most of rendering's cost,
    and every journey on a playbook sends the same few templates. A template that does not
    compile raises, and a raise is not cached."""
    return _ENV.from_string(source)


def render_request(request: MessageRequest) -> RenderedMessage:
    """The message as its reader gets it: in their language, dates and amounts written as
    their locale writes them (activities/localise.py)."""
    text, context = localised(request)
    return render(text, context, request.audience)


def render(template: MessageText, context: dict[str, str], audience: str) -> RenderedMessage:
    context = {k: _URL.sub(LINK_REMOVED, v) if k in FROM_OUTSIDE else v for k, v in context.items()}
    try:
        subject = compiled(template.subject).render(context).strip()
        body = compiled(template.body).render(context)
    except TemplateError as err:
        raise ApplicationError(f"template cannot be rendered: {err}", non_retryable=True) from None
    if audience == "customer" and len(_URL.findall(body)) != 1:
        raise ApplicationError(
            "a customer message must carry exactly one call to action (one link); "
            f"the rendered body has {len(_URL.findall(body))}",
            non_retryable=True,
        )
    return RenderedMessage(subject=subject, body=body)


def current_attempt() -> Attempt:
    """The activity attempt that is sending; a direct call (a script, a test) is its own attempt."""
    if activity.in_activity():
        info = activity.info()
        return Attempt(workflow_id=info.workflow_id or "", activity_id=info.activity_id, attempt=info.attempt)
    return Attempt(workflow_id="", activity_id=f"direct-{uuid.uuid4().hex[:12]}", attempt=1)


class MessagingActivities:
    def __init__(
        self,
        settings: ActivitySettings,
        records: Database | None = None,
        suppressions: SuppressionList | None = None,
        *,
        ledger_clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`ledger_clock`: what the delivery ledger's leases are stamped and checked with (the
        real clock unless a test moves its own)."""
        self._settings = settings
        self._records = records or Database.from_settings(settings.database_url, settings.data_dir)
        lease = timedelta(seconds=settings.delivery_lease_seconds)
        self._ledger = DeliveryLedger(self._records, lease, clock=ledger_clock)
        self._suppressions = suppressions or FileSuppressionList.in_data_dir(settings.data_dir)
        secrets = parse_secrets(settings.unsubscribe_secret)
        self._unsubscribe = UnsubscribeSigner(secrets) if secrets else None
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    @property
    def ledger(self) -> DeliveryLedger:
        return self._ledger

    @activity.defn
    async def send_message(self, request: MessageRequest) -> SendReceipt:
        message_id = message_id_for(request.key, self._settings.mail_domain)
        if (
            request.audience == "customer"
            and request.to.email
            and await self._suppressions.find(contact_hash(request.to.email)) is not None
        ):
            log.info("message.suppressed", key=request.key, kind=request.kind, to=mask_email(request.to.email))
            send_metrics.ledger_outcome("suppressed", request.channel)
            return SendReceipt(key=request.key, channel=request.channel, message_id=message_id, suppressed=True)
        rendered = render_request(request)
        channel: Channel = request.channel
        if channel == "email" and not self._settings.smtp_url:
            channel = "console"  # no SMTP configured: show it rather than fail every journey
        claim = await self._ledger.claim(request.key, current_attempt(), channel=channel, message_id=message_id)
        if claim.result is ClaimResult.already_sent:
            log.info("message.duplicate_skipped", key=request.key, kind=request.kind)
            send_metrics.ledger_outcome("already_sent", channel)
            recorded = claim.channel if claim.channel in CHANNELS else channel
            return SendReceipt(key=request.key, channel=recorded, message_id=message_id, duplicate=True)
        if claim.result is ClaimResult.busy:
            send_metrics.ledger_outcome("busy", channel)
            raise ApplicationError(
                f"message {request.key} is being sent by another attempt ({claim.holder}); retrying later",
                type="DeliveryInProgress",
            )
        if claim.after_unknown:
            # Policy (docs/records.md): resend. The Message-ID is the same, so mail systems
            # can fold the two; a customer told twice beats a customer never told.
            log.warning("message.outcome_unknown_resending", key=request.key, kind=request.kind, channel=channel)
        send_metrics.ledger_outcome("resent_after_unknown" if claim.after_unknown else "claimed", channel)
        began = time.monotonic()
        try:
            async with self._holding(claim):
                await self._deliver(channel, request, rendered, message_id)
        except ApplicationError as err:
            if err.type == OUTCOME_UNKNOWN:
                await self._end(claim, self._ledger.outcome_unknown, err.message)
            else:
                await self._end(claim, self._ledger.failed, err.message)
            self._failed(channel, "outcome_unknown" if err.type == OUTCOME_UNKNOWN else "failed")
            raise
        except BaseException as err:  # cancelled, or a bug: whether it went out is unknown
            await asyncio.shield(self._end(claim, self._ledger.outcome_unknown, type(err).__name__))
            self._failed(channel, "outcome_unknown")
            raise
        send_metrics.send_latency(channel, time.monotonic() - began)
        if not await self._ledger.sent(claim, channel):
            log.warning("message.claim_lost", key=request.key, detail="sent after its lease ran out")
        send_metrics.ledger_outcome("sent", channel)
        log.info("message.sent", key=request.key, kind=request.kind, channel=channel, message_id=message_id)
        return SendReceipt(key=request.key, channel=channel, message_id=message_id)

    @staticmethod
    def _failed(channel: Channel, outcome: str) -> None:
        send_metrics.send_failed(channel, outcome)
        send_metrics.ledger_outcome(outcome, channel)

    async def _deliver(
        self, channel: Channel, request: MessageRequest, rendered: RenderedMessage, message_id: str
    ) -> None:
        if channel == "email":
            await self._send_email(request, rendered, message_id)
        elif channel == "slack":
            await self.post_slack(f"*{rendered.subject}*\n{rendered.body}")
        else:
            # The console channel keeps the message as a file (written whole, under the key's
            # name, so a resend replaces it): logs never carry its content.
            outbox = self._settings.data_dir / "outbox"
            outbox.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", request.key)
            tmp = outbox / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(
                f"To: {request.to.name} <{request.to.email}>\nSubject: {rendered.subject}\n\n{rendered.body}"
            )
            tmp.replace(outbox / f"{name}.txt")
            log.info("message.console", key=request.key, kind=request.kind, to=mask_email(request.to.email))

    @contextlib.asynccontextmanager
    async def _holding(self, claim: Claim) -> AsyncIterator[None]:
        """While the channel works, renew the claim's lease and heartbeat, so a slow send is
        neither taken over by another attempt nor timed out by Temporal."""

        async def renew() -> None:
            every = self._ledger.lease.total_seconds() / 3
            while True:
                await asyncio.sleep(every)
                if activity.in_activity():
                    activity.heartbeat("sending")
                if not await self._ledger.renew(claim):
                    log.warning("message.claim_lost", key=claim.key)
                    return

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _end(self, claim: Claim, record: Any, error: str) -> None:
        try:
            await record(claim, error)
        except Exception as err:  # the lease runs out instead; the next claim counts it
            log.warning("message.ledger_unavailable", key=claim.key, error=type(err).__name__)

    async def _send_email(self, request: MessageRequest, rendered: RenderedMessage, message_id: str) -> None:
        if not request.to.email:
            raise ApplicationError("recipient has no email address", non_retryable=True)
        headers = {
            "Subject": rendered.subject,
            "Message-ID": message_id,
            "Date": format_datetime(datetime.now(UTC)),
            "X-Onboarding-Deal": request.deal_id,
            "X-Onboarding-Kind": request.kind,
        }
        if request.audience == "customer":
            headers.update(self._unsubscribe_headers(request))
        msg = email_message(self._settings.mail_from, (request.to.name, request.to.email), headers, rendered.body)
        await send_email(self._settings.smtp_url or "", msg)

    def _unsubscribe_headers(self, request: MessageRequest) -> dict[str, str]:
        """RFC 8058 one-click unsubscribe, signed for this journey and contact."""
        if self._unsubscribe is None:
            raise ApplicationError(
                "ONBOARDING_UNSUBSCRIBE_SECRET is not set: a customer email needs a signed unsubscribe link",
                non_retryable=True,
            )
        workflow_id = activity.info().workflow_id if activity.in_activity() else workflow_id_for(request.deal_id)
        expires = datetime.now(UTC) + timedelta(days=self._settings.unsubscribe_link_days)
        token = self._unsubscribe.token(workflow_id or "", contact_hash(request.to.email), expires)
        return list_unsubscribe_headers(self._settings.public_url, token)

    async def post_slack(self, text: str) -> None:
        url = self._settings.slack_webhook_url
        if not url:
            raise ApplicationError("channel 'slack' needs SLACK_WEBHOOK_URL", non_retryable=True)
        try:
            response = await self._http.post(url, json={"text": text})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            raise ApplicationError(f"Slack unreachable: {type(err).__name__}") from None
        except httpx.HTTPError as err:  # the request left: Slack may have posted it
            raise ApplicationError(
                f"Slack connection lost after the request was sent ({type(err).__name__}): it may have been posted",
                type=OUTCOME_UNKNOWN,
            ) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ApplicationError(f"Slack answered {response.status_code}; will retry")
        if response.status_code >= 400:
            raise ApplicationError(
                f"Slack rejected the message: {response.status_code} {response.text[:200]}",
                non_retryable=True,
            )


def email_message(sender: str, to: tuple[str, str], headers: dict[str, str], body: str) -> EmailMessage:
    """The message as sent. A line break inside a header value (a name from the CRM, say) is
    folded into a space: nothing a value holds can add a header, and the message still goes
    out (the email library refuses such a value, which failed every attempt). An
    internationalized address (`łucja@...`) is written as is, for SMTPUTF8; `formataddr`
    refuses it."""
    name, address = " ".join(to[0].splitlines()), to[1]
    msg = EmailMessage()
    msg["From"] = sender
    if address.isascii():
        msg["To"] = formataddr((name, address))
    else:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        msg["To"] = f'"{quoted}" <{address}>' if name else address
    for key, value in headers.items():
        msg[key] = " ".join(value.splitlines())
    msg.set_content(body)
    return msg


async def send_email(smtp_url: str, msg: EmailMessage) -> None:
    """Deliver over SMTP. smtp://host:port, smtps:// (implicit TLS) or smtp+starttls://,
    with optional user:password. Refused recipients are permanent; the rest is retried.
    A connection lost while the message is being handed over is an unknown outcome."""
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
        raise ApplicationError(
            f"SMTP_URL must look like smtp://host:port, got scheme {url.scheme!r}", non_retryable=True
        )
    client = aiosmtplib.SMTP(
        hostname=url.hostname,
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        start_tls=url.scheme == "smtp+starttls",
        timeout=20,
    )
    try:
        await client.connect()  # connect, EHLO, TLS, login: nothing handed over yet
    except (aiosmtplib.SMTPException, OSError) as err:
        raise ApplicationError(f"SMTP delivery failed: {type(err).__name__}") from None
    try:
        await client.send_message(msg)
    except aiosmtplib.SMTPRecipientsRefused as err:
        raise ApplicationError(f"SMTP refused the recipient ({len(err.recipients)})", non_retryable=True) from None
    except aiosmtplib.SMTPResponseException as err:
        # The server answered "no" (a 4xx/5xx reply): it did not take the message.
        raise ApplicationError(f"SMTP delivery failed: {type(err).__name__} {err.code}") from None
    except (aiosmtplib.SMTPException, OSError) as err:
        raise ApplicationError(
            f"SMTP connection lost while handing the message over ({type(err).__name__}): it may have been delivered",
            type=OUTCOME_UNKNOWN,
        ) from None
    finally:
        if client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        client.close()
