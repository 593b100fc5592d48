"""A message in its reader's language: the text of the playbook's message in the contact's
locale (else the account's, else the playbook's fallback), with the due date, the amount
and the formal greeting written as that locale writes them (Babel). Used by `send_message`
and by the journey lab, so what the lab shows is what is sent (docs/playbooks.md,
"Languages")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency

from contracts import languages
from contracts.messages import MessageRequest, MessageText, Recipient


def localised(request: MessageRequest) -> tuple[MessageText, dict[str, str]]:
    """The text the reader gets and the values it is rendered with. A request made before
    locales, or a message from a playbook snapshot taken before languages, goes out as
    written, with the journey's own `due_local` (and an English greeting)."""
    text, language = request.template.text_for(request.locale)
    if not request.locale or not language:
        return text, {**request.context, "salutation": salutation(request.to, language or "en")}
    writes = formatting_locale(request.locale, language)
    context = dict(request.context)
    if request.due is not None:
        due = request.due.astimezone(ZoneInfo(request.timezone or "UTC"))
        context["due_local"] = due_local(due, writes)
        context["due_date"] = format_date(due, "full", locale=writes)
    if request.amount is not None and request.currency:
        context["amount"] = format_currency(request.amount, request.currency, locale=writes)
    context["salutation"] = salutation(request.to, language)
    return text, context


def formatting_locale(locale: str, language: str) -> str:
    """How the text's dates and amounts are written: as the reader's locale writes them when
    the text is in their language (`de_AT` for an Austrian reading German), else as the
    text's own language does (an English fallback reads like English)."""
    reader = languages.canonical(locale) if languages.known(locale) else ""
    return reader if reader and reader.split("_")[0] == language.split("_")[0] else language


def due_local(moment: datetime, locale: str) -> str:
    """'Mi., 9. Dez., 09:41' (de), 'Wed, Dec 9, 9:41 AM' (en_US): the weekday, date and time
    of day in the locale's own order and words, in the moment's time zone."""
    day = format_skeleton("MMMEd", moment, locale=locale, fuzzy=True)
    hour = format_time(moment, "short", locale=locale)
    pattern = Locale.parse(locale).datetime_formats.get("medium", "{1}, {0}")
    return str(pattern).replace("{1}", day).replace("{0}", hour)


# Forms of address that say how a German greeting agrees ("Sehr geehrte Frau", "Sehr geehrter
# Herr"); compared case-folded, without a trailing dot, by their first word ("Frau Dr.").
_FEMININE = frozenset({"frau", "ms", "mrs", "miss", "madame", "mme"})
_MASCULINE = frozenset({"herr", "mr", "monsieur", "m"})


def salutation(to: Recipient, language: str) -> str:
    """The formal greeting, without its comma: 'Sehr geehrte Frau Dr. Weber', 'Dear Ms
    Miller'; without a form of address, the full name ('Guten Tag Alex Weber', 'Dear Alex
    Weber'). German and English have their own words; other languages get the formal name
    alone ('Madame Dubois'), for the template to greet in its own words."""
    form = " ".join(to.form_of_address.split())
    family = to.family_name.strip() or (to.name.split()[-1] if to.name.split() else "")
    formal = f"{form} {family}".strip() if form and family else to.name.strip()
    first = form.split(" ")[0].rstrip(".").casefold() if form else ""
    language = language.split("_")[0]
    if language == "de":
        if not formal:
            return "Sehr geehrte Damen und Herren"
        if form and family and first in _FEMININE:
            return f"Sehr geehrte {formal}"
        if form and family and first in _MASCULINE:
            return f"Sehr geehrter {formal}"
        return f"Guten Tag {formal}"
    if language == "en":
        return f"Dear {formal}" if formal else "Hello"
    return formal
