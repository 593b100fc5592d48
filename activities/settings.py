"""Worker-side configuration, read from the environment with clear errors."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ActivitySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    smtp_url: str | None = Field(default=None, validation_alias="SMTP_URL")
    slack_webhook_url: str | None = Field(default=None, validation_alias="SLACK_WEBHOOK_URL")
    data_dir: Path = Field(default=Path(".data"), validation_alias="ONBOARDING_DATA_DIR")
    mail_from: str = Field(default="Onboarding <onboarding@vendor.example>", validation_alias="ONBOARDING_MAIL_FROM")
    mail_domain: str = Field(default="onboarding.vendor.example", validation_alias="ONBOARDING_MAIL_DOMAIN")
    ui_url: str = Field(default="http://localhost:8233", validation_alias="TEMPORAL_UI_URL")
    namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    # The records (records/): unset = SQLite under data_dir; postgresql://... = PostgreSQL,
    # which every worker of a deployment must share for the ledger to protect anything.
    database_url: str | None = Field(default=None, validation_alias="ONBOARDING_DATABASE_URL", repr=False)
    # How long a claim on a message key holds without renewal (the sender renews it every
    # third of this): the delay before a crashed attempt's message can be sent again.
    delivery_lease_seconds: float = Field(
        default=30.0, gt=0, le=3600, validation_alias="ONBOARDING_DELIVERY_LEASE_SECONDS"
    )
    # Base of the links the HTTP service answers (one-click unsubscribe); https in production.
    public_url: str = Field(default="http://localhost:8000", validation_alias="ONBOARDING_PUBLIC_URL")
    # Signs the unsubscribe links (privacy.unsubscribe); several while rotating, the first signs.
    unsubscribe_secret: str = Field(default="", validation_alias="ONBOARDING_UNSUBSCRIBE_SECRET", repr=False)
    unsubscribe_link_days: int = Field(default=365, ge=30, validation_alias="ONBOARDING_UNSUBSCRIBE_LINK_DAYS")
