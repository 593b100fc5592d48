"""Static summary and details: short, readable, and free of personal data (ids, roles and
counts: no names, no emails)."""

from contracts.metadata import SUMMARY_LIMIT, money, static_details, static_summary
from tests.harness.support import make_deal


def test_summary_reads_deal_customer_segment_amount():
    assert static_summary(make_deal("D-1001")) == "D-1001 · customer ACME-1 · smb · 24,000 USD"
    assert money(1234.5, "eur") == "1,234.50 EUR"


def test_summary_stays_one_short_line_without_the_account_name():
    deal = make_deal("D-1", account={"id": "X" * 128, "name": "Very Long Name " * 16})
    summary = static_summary(deal)
    assert len(summary) <= SUMMARY_LIMIT and "\n" not in summary
    assert "Very Long Name" not in summary


def test_details_count_contacts_by_role_without_names_or_emails():
    deal = make_deal(
        "D-1001",
        closed_at="2026-11-20T09:04:05-06:00",
        contacts=[
            {"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"},
            {"email": "bo@acme.example", "name": "Bo Lind", "role": "admin"},
        ],
    )
    details = static_details(deal, playbook_name="default", owner="Leo Martins (leo)")
    assert "**Contacts:** 2 (champion, admin)" in details
    for personal in ("@", "Ana", "Ruiz", "Bo Lind", "Acme Corp"):
        assert personal not in details
    assert "closed 2026-11-20 15:04 UTC" in details
    assert "**Playbook:** default" in details and "**Owner at start:** Leo Martins (leo)" in details
    assert "**Customer:** `ACME-1` · America/Chicago" in details


def test_details_without_playbook_or_owner_say_where_to_look():
    details = static_details(make_deal("D-2"))
    assert "chosen at start" in details and "see current details" in details
