"""Configuration of the HTTP starters, read from the environment (pydantic-settings)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from standardwebhooks.webhooks import Webhook

from privacy.keys import CURRENT_VARIABLE, FILE_VARIABLE, KEYS_VARIABLE, CodecKeys, load_keys
from starters.salesforce import SalesforceFields
from starters.segment import SegmentMapping

MIB = 1024 * 1024


def _split(value: object) -> object:
    # Environment variables carry lists as "a,b" or "a b"; JSON arrays stay accepted too.
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value.strip()) if part]
    return value


def _split_commas(value: object) -> object:
    # A secret the vendor lets you type may hold spaces: only commas separate, trimmed around.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class StarterSettings(BaseSettings):
    # hide_input_in_errors: a misconfigured secret must not be printed in the startup error.
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    # The worker's task queue (DESIGN.md: "onboarding"); tests run workers on their own.
    onboarding_task_queue: str = "onboarding"
    # Bounds every Temporal call made while a webhook waits, so an outage answers 503 quickly.
    temporal_rpc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Also read the SDK's own environment configuration (TEMPORAL_API_KEY, TLS, profiles).
    temporal_env_config: bool = True

    # Standard Webhooks secrets (whsec_...). Several, separated by commas or spaces, while
    # a secret is rotated: a delivery signed with any of them is accepted.
    onboarding_webhook_secret: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    hubspot_client_secret: SecretStr | None = None
    hubspot_closed_won_stages: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["closedwon"])
    # The URL HubSpot calls, when a proxy rewrites scheme or host: the v3 signature covers
    # the full URI as HubSpot saw it, e.g. https://hooks.example.com
    public_base_url: str | None = None

    # Salesforce outbound messages (starters/salesforce.py): the organizations whose messages
    # are accepted (15- or 18-character ids), and the Opportunity fields (JSON) that say
    # closed-won and carry the deal.
    salesforce_org_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    salesforce_fields: Annotated[SalesforceFields, NoDecode] = Field(default_factory=SalesforceFields)

    # Pipedrive webhooks v2: the HTTP basic auth credentials set on the webhook.
    pipedrive_webhook_user: str | None = None
    pipedrive_webhook_password: SecretStr | None = None

    # Segment's webhook destination: shared secrets (several, comma separated, while rotating)
    # of X-Signature, and the mapping (JSON) from Segment track calls to product events.
    segment_shared_secret: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    segment_mapping: Annotated[SegmentMapping, NoDecode] = Field(default_factory=SegmentMapping)

    # The records (records/): migrated at start, like the worker does. Unset = SQLite under
    # the data dir; postgresql://... = the database the workers share.
    onboarding_database_url: str | None = Field(default=None, repr=False)
    onboarding_data_dir: Path = Path(".data")

    max_body_bytes: int = Field(default=MIB, gt=0)
    # Segment batches up to 4,000 calls of up to 32 KB each; whole events are a few KB.
    segment_max_body_bytes: int = Field(default=16 * MIB, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    # An event that names an account with no running journey is refused with this
    # Retry-After, so the sender delivers it again later (see docs/http.md).
    unknown_account_retry_after_seconds: int = Field(default=60, ge=1)
    # Floods stop at the edge (docs/http.md): each journey takes product events at this
    # sustained rate per HTTP service process, with bursts up to `journey_event_burst`;
    # beyond, 429 with Retry-After. Together with the server's continue-as-new suggestion
    # (1,500 events) this keeps every journey run under 2,000 events.
    journey_event_rate: float = Field(default=2.0, gt=0)
    journey_event_burst: int = Field(default=30, ge=1)
    # Temporal's per-run signal limit reached: the journey must move to a fresh run first.
    journey_signal_limit_retry_after_seconds: int = Field(default=60, ge=1)

    # Payload encryption (privacy.keys): the same keys as the worker's.
    onboarding_codec_keys: SecretStr | None = None
    onboarding_codec_current: str | None = None
    onboarding_codec_keys_file: str | None = None
    # Codec server (/codec, docs/support.md): bearer tokens of the staff allowed to read
    # decrypted payloads (several while one is rotated), and the Web UI origins it answers.
    onboarding_codec_token: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    onboarding_codec_ui_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8233", "http://127.0.0.1:8233"]
    )
    # Staff links (/support, docs/support.md): the Temporal Web UI they land on, and the zone
    # whose midnight starts "today" and whose Monday starts "this week" (a link's ?tz= wins).
    temporal_ui_url: str = "http://localhost:8233"
    onboarding_support_time_zone: str = "UTC"
    # One-click unsubscribe (privacy.unsubscribe): the links' signing secrets, the first signs.
    onboarding_unsubscribe_secret: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    @field_validator(
        "onboarding_webhook_secret",
        "hubspot_closed_won_stages",
        "onboarding_codec_token",
        "onboarding_codec_ui_origins",
        "onboarding_unsubscribe_secret",
        "salesforce_org_ids",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _split(value)

    @field_validator("segment_shared_secret", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("salesforce_fields", "segment_mapping", mode="before")
    @classmethod
    def _json_mapping(cls, value: object) -> object:
        # JSON in the environment; empty (compose passes unset variables as "") means the defaults
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("onboarding_webhook_secret")
    @classmethod
    def _usable_secrets(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        for index, secret in enumerate(secrets):
            value = secret.get_secret_value()
            if not value.startswith("whsec_"):
                raise ValueError(f"secret #{index + 1} must start with 'whsec_'")
            try:
                Webhook(value)
            except Exception:
                # Never echo the secret itself.
                raise ValueError(f"secret #{index + 1} is not 'whsec_' followed by base64") from None
        return secrets

    def codec_keys(self) -> CodecKeys | None:
        """The payload keys (None: ONBOARDING_CODEC_KEYS=plaintext); CodecConfigError when unset."""
        env = {
            KEYS_VARIABLE: self.onboarding_codec_keys.get_secret_value() if self.onboarding_codec_keys else "",
            CURRENT_VARIABLE: self.onboarding_codec_current or "",
            FILE_VARIABLE: self.onboarding_codec_keys_file or "",
        }
        return load_keys(env)

    @field_validator("public_base_url", "temporal_ui_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("onboarding_support_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if known_zone(value) is None:
            raise ValueError("an IANA time zone, e.g. America/Chicago or UTC")
        return value


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None (an unknown or malformed name)."""
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
