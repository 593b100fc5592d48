"""Messages: what a message says (a playbook's template, checked when it is read), whom it
goes to, by which channel, and what the sender answers. The journey builds the requests
(workflows/messages.py); `send_message` renders and delivers them (activities/messaging.py).
Jinja2 is imported only to check a template's syntax and variables: it is pure."""

from __future__ import annotations

import functools
import re
from typing import Literal, get_args

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field, field_validator

from contracts.strict import StrictFile

# Variables a message template may use; anything else is a typo caught at load time.
TEMPLATE_VARIABLES = frozenset(
    {
        "customer_name",
        "account_name",
        "action_title",
        "action_instruction",
        "cta_url",
        "owner_name",
        "owner_email",
        "due_local",
        "milestone_title",
        "reason",
    }
)
_CTA = re.compile(r"\{\{\s*cta_url\s*\}\}")
_URL = re.compile(r"(https?://|www\.)", re.IGNORECASE)
_ENV = SandboxedEnvironment(autoescape=False)


class MessageTemplate(StrictFile):
    """One customer-facing message. Direction, not content: exactly one call to action,
    the `{{ cta_url }}` placeholder, and no other link."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        check_template(value)
        if _URL.search(value) or _CTA.search(value):
            raise ValueError("the subject may not contain a link; the call to action goes in the body")
        return value

    @field_validator("body")
    @classmethod
    def _one_call_to_action(cls, value: str) -> str:
        check_template(value)
        count = len(_CTA.findall(value))
        if count != 1:
            raise ValueError(f"must contain exactly one call to action ({{{{ cta_url }}}}), found {count}")
        if _URL.search(value):
            raise ValueError("must not contain links other than {{ cta_url }} (one call to action)")
        return value


@functools.lru_cache(maxsize=1024)
def check_template(source: str) -> None:
    """Parse a template and check its variables. Memoized by the text (it is pure): every
    journey decodes the same snapshot, in the workflow and in each `send_message` input,
    which otherwise parsed some 30 templates with Jinja2 each time. A bad template raises,
    and a raise is not cached."""
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as err:
        raise ValueError(f"template syntax error on line {err.lineno}: {err.message}") from err
    unknown = meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES
    if unknown:
        raise ValueError(f"unknown template variable(s) {sorted(unknown)}; allowed: {sorted(TEMPLATE_VARIABLES)}")


# How a message goes out (a playbook's `channels`, an escalation notice's channel).
Channel = Literal["email", "slack", "console"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)


class Recipient(BaseModel):
    name: str = ""
    email: str = ""
    slack: str = ""


class MessageRequest(BaseModel):
    key: str
    deal_id: str
    kind: (
        str  # a Touchpoint (contracts.moments.MESSAGES): direction | clarify | simplify | redirect | help | escalation
    )
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
