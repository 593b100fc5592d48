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
    mail_from: str = Field(
        default="Onboarding <onboarding@vendor.example>", validation_alias="ONBOARDING_MAIL_FROM"
    )
    mail_domain: str = Field(default="onboarding.vendor.example", validation_alias="ONBOARDING_MAIL_DOMAIN")
    ui_url: str = Field(default="http://localhost:8233", validation_alias="TEMPORAL_UI_URL")
    namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    # Base of the links the HTTP service answers (one-click unsubscribe); https in production.
    public_url: str = Field(default="http://localhost:8000", validation_alias="ONBOARDING_PUBLIC_URL")
    # Signs the unsubscribe links (privacy.unsubscribe); several while rotating, the first signs.
    unsubscribe_secret: str = Field(default="", validation_alias="ONBOARDING_UNSUBSCRIBE_SECRET", repr=False)
    unsubscribe_link_days: int = Field(default=365, ge=30, validation_alias="ONBOARDING_UNSUBSCRIBE_LINK_DAYS")
