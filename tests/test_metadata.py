"""Static summary and details: short, readable, and without contact emails."""

from tests.support import make_deal
from workflows.metadata import SUMMARY_LIMIT, money, static_details, static_summary


def test_summary_reads_account_deal_segment_amount():
    assert static_summary(make_deal("D-1001")) == "Acme Corp · D-1001 · smb · 24,000 USD"
    assert money(1234.5, "eur") == "1,234.50 EUR"


def test_summary_stays_one_short_line():
    deal = make_deal("D-1", account={"name": "Very Long Name " * 16})
    summary = static_summary(deal)
    assert len(summary) <= SUMMARY_LIMIT and "\n" not in summary
    assert summary.endswith(" · D-1 · smb · 24,000 USD") and "…" in summary


def test_details_name_contacts_by_role_without_emails():
    deal = make_deal(
        "D-1001",
        closed_at="2026-11-20T09:04:05-06:00",
        contacts=[
            {"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"},
            {"email": "bo@acme.example", "name": "Bo Lind", "role": "admin"},
        ],
    )
    details = static_details(deal, playbook_name="default", owner="Leo Martins (leo)")
    assert "**Contacts:** Ana Ruiz (champion), Bo Lind (admin)" in details
    assert "@" not in details
    assert "closed 2026-11-20 15:04 UTC" in details
    assert "**Playbook:** default" in details and "**Owner at start:** Leo Martins (leo)" in details
    assert "Acme Corp (`ACME-1`) · America/Chicago" in details


def test_details_without_playbook_or_owner_say_where_to_look():
    details = static_details(make_deal("D-2"))
    assert "chosen at start" in details and "see current details" in details
