"""Static summary and static details of a journey: what staff see first on its page in the
Temporal Web UI (User Metadata tab) and in `temporal workflow describe`. Set once, at start,
by whoever starts the journey; the changing picture is the current details (details.py).

Privacy: the workflow metadata is readable by everyone with access to the namespace and is
kept with the history for its whole retention. It names the contacts and their roles, which
is enough to know whom a journey is about; email addresses and phone numbers stay in the CRM
(and in the deal payload, which only the worker reads).
"""

from __future__ import annotations

from datetime import timezone

from workflows.models import DealClosed

SUMMARY_LIMIT = 200  # the server keeps summaries short; a line, not a paragraph
CONTACTS_SHOWN = 5


def money(amount: float, currency: str) -> str:
    """24000 -> '24,000 USD'; cents only when there are any."""
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{text} {currency.upper()}"


def static_summary(deal: DealClosed) -> str:
    """One line: 'Acme Corp · D-1001 · smb · 24,000 USD'."""
    tail = f" · {deal.deal_id} · {deal.segment} · {money(deal.amount, deal.currency)}"
    name = deal.account.name
    room = SUMMARY_LIMIT - len(tail)
    if len(name) > room:
        name = name[: max(room - 1, 1)] + "…"
    return name + tail


def static_details(deal: DealClosed, playbook_name: str | None = None, owner: str | None = None) -> str:
    """Short Markdown: the customer, the deal, the contacts (names and roles only), the
    playbook and the owner at start (later changes show in the current details)."""
    account = deal.account
    product = f" · {deal.product}" if deal.product else ""
    lines = [
        f"**Customer:** {account.name} (`{account.id}`) · {account.timezone} · {account.locale}",
        f"**Deal:** `{deal.deal_id}` · closed {deal.closed_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC · "
        f"{money(deal.amount, deal.currency)} · {deal.segment}{product}",
    ]
    contacts = [
        f"{c.name or 'unnamed contact'}{' (' + c.role + ')' if c.role else ''}"
        for c in deal.contacts[:CONTACTS_SHOWN]
    ]
    more = len(deal.contacts) - CONTACTS_SHOWN
    if more > 0:
        contacts.append(f"and {more} more")
    lines.append(f"**Contacts:** {', '.join(contacts)}")
    lines.append(f"**Playbook:** {playbook_name or 'chosen at start by segment and product'}")
    lines.append(f"**Owner at start:** {owner or 'assigned at start (see current details)'}")
    return "\n".join(lines)
