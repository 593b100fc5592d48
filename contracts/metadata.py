"""Static summary and static details of a journey: what staff see first on its page in the
Temporal Web UI (User Metadata tab), in its list of workflows, and in `temporal workflow
describe`. Set once, at start, by whoever starts the journey; the changing picture is the
current details (details.py).

Privacy: metadata is kept with the history for its whole retention. It is a payload, so it
goes through the payload codec (privacy.codec) like the journey's input: encrypted at rest,
decrypted in the Web UI and the CLI only for staff the codec server lets decrypt it
(docs/support.md). The summary names the account (the company's name), so staff recognise a
customer in the list; the name is the customer's, not a person's, and never readable without
the codec. The details carry ids, roles and counts only: no person's name, no email address,
no customer text, so that the box staff copy into tickets and screenshots most often stays
free of personal data; contacts' names and emails stay in the journey's input.
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
    """One line naming the customer: 'D-1001 · Acme Corp (ACME-1) · smb · 24,000 USD'. A long
    name is cut, not the ids or the amount."""
    name = " ".join(deal.account.name.split())  # one line, whatever the CRM sent
    before, after = f"{deal.deal_id} · ", f" ({deal.account.id}) · {deal.segment} · {money(deal.amount, deal.currency)}"
    room = SUMMARY_LIMIT - len(before) - len(after)
    if len(name) > room:
        name = name[: max(room - 1, 0)].rstrip() + "…"
    line = before + name + after
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
