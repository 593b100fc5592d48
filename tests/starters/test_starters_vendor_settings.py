"""The vendor integrations' configuration as operators write it (environment variables, JSON),
and their place in the OpenAPI document. No server needed."""

from __future__ import annotations

import pytest

from starters.app import create_app
from starters.segment import sign_segment, verify_segment
from starters.settings import StarterSettings
from starters.signatures import SignatureError
from tests.harness.starters_fixtures import settings_for

VARIABLES = (
    "SALESFORCE_ORG_IDS",
    "SALESFORCE_FIELDS",
    "PIPEDRIVE_WEBHOOK_USER",
    "PIPEDRIVE_WEBHOOK_PASSWORD",
    "SEGMENT_SHARED_SECRET",
    "SEGMENT_MAPPING",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_leave_every_vendor_endpoint_closed(env: pytest.MonkeyPatch) -> None:
    settings = StarterSettings()
    assert settings.salesforce_org_ids == [] and settings.segment_shared_secret == []
    assert settings.pipedrive_webhook_user is None and settings.pipedrive_webhook_password is None
    assert settings.salesforce_fields.won == "IsWon" and settings.salesforce_fields.closed_won_stages == ["Closed Won"]
    assert settings.segment_mapping.rules == []


def test_empty_mappings_mean_the_defaults(env: pytest.MonkeyPatch) -> None:
    # docker compose passes an unset variable as an empty string
    env.setenv("SALESFORCE_FIELDS", "")
    env.setenv("SEGMENT_MAPPING", " ")
    settings = StarterSettings()
    assert settings.salesforce_fields.won == "IsWon" and settings.segment_mapping.rules == []


def test_environment_values_are_read(env: pytest.MonkeyPatch) -> None:
    env.setenv("SALESFORCE_ORG_IDS", "00D5e000000GxYzEAK, 00D5e000000GxYa")
    env.setenv("SALESFORCE_FIELDS", '{"segment": "Customer_Tier__c", "closed_won_stages": ["Closed Won", "Signed"]}')
    env.setenv("PIPEDRIVE_WEBHOOK_USER", "hook")
    env.setenv("PIPEDRIVE_WEBHOOK_PASSWORD", "pw")
    env.setenv("SEGMENT_SHARED_SECRET", "new-secret,old-secret")
    env.setenv(
        "SEGMENT_MAPPING",
        '{"rules": [{"event": "Dataset Uploaded", "type": "taken", "action": "dataset_uploaded"}],'
        ' "account_id_path": "context.groupId"}',
    )
    settings = StarterSettings()
    assert settings.salesforce_org_ids == ["00D5e000000GxYzEAK", "00D5e000000GxYa"]
    assert settings.salesforce_fields.segment == "Customer_Tier__c"
    assert settings.salesforce_fields.closed_won_stages == ["Closed Won", "Signed"]
    assert settings.salesforce_fields.amount == "Amount"  # keys left out keep their defaults
    assert [s.get_secret_value() for s in settings.segment_shared_secret] == ["new-secret", "old-secret"]
    assert settings.segment_mapping.account_id_path == "context.groupId"
    assert settings.segment_mapping.rules[0].action == "dataset_uploaded"


def test_a_segment_secret_with_spaces_verifies(env: pytest.MonkeyPatch) -> None:
    """Segment's Shared Secret is a free-text password field (segmentio/action-destinations,
    packages/destination-actions/src/destinations/webhook/index.ts: `sharedSecret`, type
    `password`): spaces are part of it. Only commas separate rotated secrets, trimmed."""
    env.setenv("SEGMENT_SHARED_SECRET", " correct horse battery staple , old secret,,")
    settings = StarterSettings()
    secrets = [s.get_secret_value() for s in settings.segment_shared_secret]
    assert secrets == ["correct horse battery staple", "old secret"]
    body = b'{"type":"track","messageId":"m-1"}'
    for secret in ("correct horse battery staple", "old secret"):
        verify_segment(secrets, body, sign_segment(secret, body))
    with pytest.raises(SignatureError):
        verify_segment(secrets, body, sign_segment("correct", body))


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("SALESFORCE_FIELDS", '{"sement": "Tier__c"}', "sement"),
        ("SEGMENT_MAPPING", '{"rules": [{"event": "X", "type": "done"}]}', "type"),
        ("SEGMENT_MAPPING", "not json", "segment_mapping"),
    ],
)
def test_a_mistyped_mapping_stops_the_service_naming_the_field(
    env: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ValueError) as caught:
        StarterSettings()
    assert field in str(caught.value)


def test_the_vendor_endpoints_are_documented() -> None:
    spec = create_app(settings_for("127.0.0.1:1")).openapi()
    for path in ("/webhooks/salesforce", "/webhooks/pipedrive", "/events/segment"):
        assert "post" in spec["paths"][path]
        assert "401" in spec["paths"][path]["post"]["responses"]
