"""Languages: the codes a playbook's messages and the roster's owners are written in, and
which of a message's languages a customer reads (their contact's locale, else the
account's). Pure: the codes Babel knows are read once, when this module is imported, so a
playbook is checked (in the workflow too) without touching any file (docs/playbooks.md,
"Languages")."""

from __future__ import annotations

import re
from collections.abc import Iterable

from babel.localedata import locale_identifiers

# Babel's identifiers (`de`, `de_AT`, `zh_Hant_TW`), found by their case-folded form.
_KNOWN = {code.casefold(): code for code in locale_identifiers() if code != "root"}
# What a language key looks like in a message (`de`, `de-AT`, `pt_BR`), as opposed to a typo
# of `subject` or `body`: two or three letters, then optional parts of two to four.
LANGUAGE_KEY = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,4})*$")
EXAMPLES = "e.g. en, de, or de-AT for a region"


def canonical(code: str) -> str:
    """`de-at`, `de_AT`, `DE-AT` -> `de_AT`, Babel's spelling. Raises ValueError for a code
    Babel does not know (the message says what to write)."""
    known = _KNOWN.get(code.strip().replace("-", "_").casefold())
    if known is None:
        raise ValueError(f"unknown language code {code!r}: use an ISO 639 language code ({EXAMPLES})")
    return known


def known(code: str) -> bool:
    return code.strip().replace("-", "_").casefold() in _KNOWN


def language_of(locale: str) -> str:
    """The language part of a locale (`de_AT` -> `de`); "" for an empty or unknown locale."""
    if not locale or not known(locale):
        return ""
    return canonical(locale).split("_")[0]


def closest(locale: str, available: Iterable[str]) -> str | None:
    """Which of `available` (canonical codes) a reader of `locale` gets: the same locale
    (`de_AT`), else its language (`de`), else another region of it (`de_CH` for `de_AT`);
    None when none is in their language."""
    if not locale or not known(locale):
        return None
    wanted = canonical(locale)
    codes = list(available)
    if wanted in codes:
        return wanted
    language = wanted.split("_")[0]
    if language in codes:
        return language
    return next((c for c in codes if c.split("_")[0] == language), None)
