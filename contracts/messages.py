"""Messages: what a message says (a playbook's template, checked when it is read), whom it
goes to, by which channel, and what the sender answers. The journey builds the requests
(workflows/messages.py); `send_message` renders and delivers them (activities/messaging.py).
Jinja2 is imported only to check a template's syntax and variables: it is pure."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal, get_args

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field, field_validator, model_validator

from contracts import languages
from contracts.strict import Carried, StrictFile

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
        # Written for the reader's locale when the message is sent (activities/localise.py).
        "due_date",
        "amount",
        "salutation",
    }
)
_CTA = re.compile(r"\{\{\s*cta_url\s*\}\}")
_URL = re.compile(r"(https?://|www\.)", re.IGNORECASE)
_ENV = SandboxedEnvironment(autoescape=False)


class MessageText(StrictFile):
    """One customer-facing message in one language. Direction, not content: exactly one
    call to action, the `{{ cta_url }}` placeholder, and no other link."""

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


# The language a playbook's messages are written in when they name none: its
# `languages.fallback`, set while the playbook is validated (contracts/playbook.py).
_WRITTEN_IN: ContextVar[str] = ContextVar("written_in", default="")


@contextlib.contextmanager
def written_in(language: str) -> Iterator[None]:
    token = _WRITTEN_IN.set(language)
    try:
        yield
    finally:
        _WRITTEN_IN.reset(token)


class MessageTemplate(MessageText):
    """A message as a playbook holds it: `subject` and `body` in `language` (the playbook's
    fallback), and the same message in other languages under their codes. A file writes a
    translation beside the text (`de: {subject, body}`), or every language under its code
    (`en: {...}`, `de: {...}`); either way the fallback language must be there."""

    # "" in snapshots taken before languages: the text is shown to everyone as written.
    language: str = ""
    translations: dict[str, MessageText] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _languages_by_code(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        keys = [k for k in data if isinstance(k, str) and k not in cls.model_fields and languages.LANGUAGE_KEY.match(k)]
        fallback = data.get("language") or _WRITTEN_IN.get()
        if not keys:
            return {**data, "language": fallback} if fallback and "language" not in data else data
        data, translations = dict(data), dict(data.get("translations") or {})
        for key in keys:
            try:
                code = languages.canonical(key)
            except ValueError as err:
                raise ValueError(f"{key}: {err}") from None
            if code in translations:
                raise ValueError(f"{key}: the {code} text is written twice")
            translations[code] = data.pop(key)
        if not fallback:
            return {**data, "translations": translations}
        if fallback in translations:
            own = translations.pop(fallback)
            if "subject" in data or "body" in data:
                raise ValueError(
                    f"{fallback}: the {fallback} text (the fallback language) is written twice: "
                    f"as subject and body, and under {fallback}"
                )
            if isinstance(own, dict):
                data.update({k: v for k, v in own.items() if k in ("subject", "body")})
        elif "subject" not in data and "body" not in data:
            raise ValueError(
                f"no text in the fallback language {fallback!r} (languages.fallback): every message needs one; "
                f"write it under {fallback}: with subject and body"
            )
        return {**data, "language": fallback, "translations": translations}

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return languages.canonical(value) if value else value

    def text_for(self, locale: str) -> tuple[MessageText, str]:
        """The text a reader of `locale` gets, and its language: theirs when the message has
        it (region, then language), else the fallback's."""
        code = languages.closest(locale, [self.language, *self.translations] if self.language else self.translations)
        if code is None or code == self.language:
            return self, self.language
        return self.translations[code], code


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


class Recipient(Carried):
    name: str = ""
    email: str = ""
    slack: str = ""
    # For the formal greeting (`salutation`): the contact's form of address as the CRM holds
    # it ("Frau", "Mr", "Dr."), and family name (else the last word of `name`).
    form_of_address: str = ""
    family_name: str = ""


class MessageRequest(Carried):
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
    # Who reads it, for its language and how dates and amounts are written in it: the
    # contact's locale, else the account's. Requests made before locales carry none: their
    # text goes out as written, with the journey's own `due_local` (activities/localise.py).
    locale: str = ""
    timezone: str = ""
    due: datetime | None = None
    amount: float | None = None
    currency: str = ""


class SendReceipt(Carried):
    key: str
    channel: Channel
    message_id: str
    duplicate: bool = False
    # Not sent: the contact unsubscribed (privacy.suppressions). The journey treats it as an
    # `unsubscribed` signal.
    suppressed: bool = False
