"""Static summary and details: short and readable; the summary names the account so staff
recognise the customer, the details carry no personal data (ids, roles and counts: no
names, no emails)."""

from contracts.metadata import SUMMARY_LIMIT, money, static_details, static_summary
from tests.harness.support import make_deal


def test_summary_names_the_account_with_deal_customer_segment_amount():
    assert static_summary(make_deal("D-1001")) == "D-1001 · Acme Corp (ACME-1) · smb · 24,000 USD"
    assert money(1234.5, "eur") == "1,234.50 EUR"


def test_a_long_account_name_is_cut_and_the_ids_and_amount_stay():
    deal = make_deal("D-1", account={"id": "ACME-9", "name": "Very Long Name\nGmbH " * 12})
    summary = static_summary(deal)
    assert SUMMARY_LIMIT - 2 <= len(summary) <= SUMMARY_LIMIT and "\n" not in summary
    assert summary.startswith("D-1 · Very Long Name GmbH Very Long Name")
    assert summary.endswith("… (ACME-9) · smb · 24,000 USD")


def test_summary_stays_one_short_line_whatever_the_ids():
    deal = make_deal("D-1", account={"id": "X" * 128, "name": "Very Long Name " * 16})
    summary = static_summary(deal)
    assert len(summary) <= SUMMARY_LIMIT and "\n" not in summary
    assert summary.startswith("D-1 · ")


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
