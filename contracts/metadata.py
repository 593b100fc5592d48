"""Static summary and static details of a journey: what staff see first on its page in the
Temporal Web UI (User Metadata tab) and in `temporal workflow describe`. Set once, at start,
by whoever starts the journey; the changing picture is the current details (details.py).

Privacy: metadata is kept with the history for its whole retention and shown in lists, so it
carries ids, roles and counts only: no names, no email addresses, no customer text. Those are
in the journey's input (the deal: account name, contacts' names and emails), in signals and
in the `status` query, which are payloads: encrypted by the codec (privacy.codec) and read in
the Web UI only by staff the codec server lets decrypt them (docs/support.md). Metadata goes
through the same codec; keeping it free of personal data means a list of journeys, a
screenshot or a support ticket never carries any.
"""

from __future__ import annotations

from datetime import UTC

from contracts.deal import DealClosed

SUMMARY_LIMIT = 200  # the server keeps summaries short; a line, not a paragraph
CONTACTS_SHOWN = 5


def money(amount: float, currency: str) -> str:
    """24000 -> '24,000 USD'; cents only when there are any."""
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{text} {currency.upper()}"


def static_summary(deal: DealClosed) -> str:
    """One line of ids: 'D-1001 · customer ACME-1 · smb · 24,000 USD'."""
    line = f"{deal.deal_id} · customer {deal.account.id} · {deal.segment} · {money(deal.amount, deal.currency)}"
    return line if len(line) <= SUMMARY_LIMIT else line[: SUMMARY_LIMIT - 1] + "…"


def static_details(deal: DealClosed, playbook_name: str | None = None, owner: str | None = None) -> str:
    """Short Markdown: the customer's id, the deal, how many contacts in which roles, the
    playbook and the owner at start (later changes show in the current details)."""
    account = deal.account
    product = f" · {deal.product}" if deal.product else ""
    lines = [
        f"**Customer:** `{account.id}` · {account.timezone} · {account.locale}",
        f"**Deal:** `{deal.deal_id}` · closed {deal.closed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC · "
        f"{money(deal.amount, deal.currency)} · {deal.segment}{product}",
    ]
    roles = [c.role or "no role" for c in deal.contacts[:CONTACTS_SHOWN]]
    more = len(deal.contacts) - CONTACTS_SHOWN
    if more > 0:
        roles.append(f"and {more} more")
    count = len(deal.contacts)
    lines.append(f"**Contacts:** {count} ({', '.join(roles)})")
    lines.append(f"**Playbook:** {playbook_name or 'chosen at start by segment and product'}")
    lines.append(f"**Owner at start:** {owner or 'assigned at start (see current details)'}")
    lines.append("**Names and contacts:** in the journey's input, through the codec server")
    return "\n".join(lines)
