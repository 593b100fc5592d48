"""send_message: render a playbook template and deliver it by email (SMTP), Slack incoming
webhook, or the console. Idempotent by the key the workflow derives for each message."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import formataddr, format_datetime
from datetime import datetime, timedelta, timezone
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
import structlog
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger import SentLedger
from activities.settings import ActivitySettings
from playbooks.schema import MessageTemplate
from privacy.contacts import contact_hash
from privacy.suppressions import FileSuppressionList, SuppressionList
from privacy.unsubscribe import UnsubscribeSigner, list_unsubscribe_headers, parse_secrets
from workflows.models import workflow_id_for

log = structlog.get_logger(__name__)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_URL = re.compile(r"https?://\S+")

Channel = Literal["email", "slack", "console"]


class Recipient(BaseModel):
    name: str = ""
    email: str = ""
    slack: str = ""


class MessageRequest(BaseModel):
    key: str
    deal_id: str
    kind: str  # direction | clarify | simplify | redirect | help | escalation
    audience: Literal["customer", "owner"]
    channel: Channel
    to: Recipient
    template: MessageTemplate
    context: dict[str, str]


class SendReceipt(BaseModel):
    key: str
    channel: Channel
    message_id: str
    duplicate: bool = False
    # Not sent: the contact unsubscribed (privacy.suppressions). The journey treats it as an
    # `unsubscribed` signal.
    suppressed: bool = False


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


def render(template: MessageTemplate, context: dict[str, str], audience: str) -> RenderedMessage:
    try:
        subject = _ENV.from_string(template.subject).render(context).strip()
        body = _ENV.from_string(template.body).render(context)
    except TemplateError as err:
        raise ApplicationError(f"template cannot be rendered: {err}", non_retryable=True) from None
    if audience == "customer" and len(_URL.findall(body)) != 1:
        raise ApplicationError(
            "a customer message must carry exactly one call to action (one link); "
            f"the rendered body has {len(_URL.findall(body))}",
            non_retryable=True,
        )
    return RenderedMessage(subject=subject, body=body)


class MessagingActivities:
    def __init__(
        self, settings: ActivitySettings, ledger: SentLedger | None = None, suppressions: SuppressionList | None = None
    ) -> None:
        self._settings = settings
        self._ledger = ledger or SentLedger(settings.data_dir / "sent.sqlite3")
        self._suppressions = suppressions or FileSuppressionList.in_data_dir(settings.data_dir)
        secrets = parse_secrets(settings.unsubscribe_secret)
        self._unsubscribe = UnsubscribeSigner(secrets) if secrets else None
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    @activity.defn
    async def send_message(self, request: MessageRequest) -> SendReceipt:
        message_id = message_id_for(request.key, self._settings.mail_domain)
        if self._ledger.lookup(request.key) is not None:
            log.info("message.duplicate_skipped", key=request.key, kind=request.kind)
            return SendReceipt(key=request.key, channel=request.channel, message_id=message_id, duplicate=True)
        if request.audience == "customer" and request.to.email:
            if await self._suppressions.find(contact_hash(request.to.email)) is not None:
                log.info("message.suppressed", key=request.key, kind=request.kind, to=mask_email(request.to.email))
                return SendReceipt(key=request.key, channel=request.channel, message_id=message_id, suppressed=True)
        rendered = render(request.template, request.context, request.audience)
        channel = request.channel
        if channel == "email" and not self._settings.smtp_url:
            channel = "console"  # no SMTP configured: show it rather than fail every journey
        if channel == "email":
            await self._send_email(request, rendered, message_id)
        elif channel == "slack":
            await self.post_slack(f"*{rendered.subject}*\n{rendered.body}")
        else:
            # The console channel keeps the message as a file: logs never carry its content.
            outbox = self._settings.data_dir / "outbox"
            outbox.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", request.key)
            (outbox / f"{name}.txt").write_text(
                f"To: {request.to.name} <{request.to.email}>\nSubject: {rendered.subject}\n\n{rendered.body}"
            )
            log.info("message.console", key=request.key, kind=request.kind, to=mask_email(request.to.email))
        self._ledger.record(request.key, channel, message_id)
        log.info("message.sent", key=request.key, kind=request.kind, channel=channel, message_id=message_id)
        return SendReceipt(key=request.key, channel=channel, message_id=message_id)

    async def _send_email(self, request: MessageRequest, rendered: RenderedMessage, message_id: str) -> None:
        if not request.to.email:
            raise ApplicationError("recipient has no email address", non_retryable=True)
        msg = EmailMessage()
        msg["From"] = self._settings.mail_from
        msg["To"] = formataddr((request.to.name, request.to.email))
        msg["Subject"] = rendered.subject
        msg["Message-ID"] = message_id
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["X-Onboarding-Deal"] = request.deal_id
        msg["X-Onboarding-Kind"] = request.kind
        if request.audience == "customer":
            for name, value in self._unsubscribe_headers(request).items():
                msg[name] = value
        msg.set_content(rendered.body)
        await send_email(self._settings.smtp_url or "", msg)

    def _unsubscribe_headers(self, request: MessageRequest) -> dict[str, str]:
        """RFC 8058 one-click unsubscribe, signed for this journey and contact."""
        if self._unsubscribe is None:
            raise ApplicationError(
                "ONBOARDING_UNSUBSCRIBE_SECRET is not set: a customer email needs a signed unsubscribe link",
                non_retryable=True,
            )
        workflow_id = activity.info().workflow_id if activity.in_activity() else workflow_id_for(request.deal_id)
        expires = datetime.now(timezone.utc) + timedelta(days=self._settings.unsubscribe_link_days)
        token = self._unsubscribe.token(workflow_id, contact_hash(request.to.email), expires)
        return list_unsubscribe_headers(self._settings.public_url, token)

    async def post_slack(self, text: str) -> None:
        url = self._settings.slack_webhook_url
        if not url:
            raise ApplicationError("channel 'slack' needs SLACK_WEBHOOK_URL", non_retryable=True)
        try:
            response = await self._http.post(url, json={"text": text})
        except httpx.HTTPError as err:
            raise ApplicationError(f"Slack unreachable: {type(err).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ApplicationError(f"Slack answered {response.status_code}; will retry")
        if response.status_code >= 400:
            raise ApplicationError(
                f"Slack rejected the message: {response.status_code} {response.text[:200]}",
                non_retryable=True,
            )


async def send_email(smtp_url: str, msg: EmailMessage) -> None:
    """Deliver over SMTP. smtp://host:port, smtps:// (implicit TLS) or smtp+starttls://,
    with optional user:password. Refused recipients are permanent; the rest is retried."""
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
        raise ApplicationError(f"SMTP_URL must look like smtp://host:port, got scheme {url.scheme!r}", non_retryable=True)
    try:
        await aiosmtplib.send(
            msg,
            hostname=url.hostname,
            port=url.port or (465 if url.scheme == "smtps" else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=True if url.scheme == "smtp+starttls" else False,
            timeout=20,
        )
    except aiosmtplib.SMTPRecipientsRefused as err:
        raise ApplicationError(f"SMTP refused the recipient ({len(err.recipients)})", non_retryable=True) from None
    except (aiosmtplib.SMTPException, OSError) as err:
        raise ApplicationError(f"SMTP delivery failed: {type(err).__name__}") from None
