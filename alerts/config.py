"""The `alerts:` section of config.yaml: channels, receivers and the routing tree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SmtpSettings(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str | None = None
    """Name of the environment variable holding the SMTP password (never the password itself)."""
    sender: str = "OKI Viral Monitor <monitor@kaboki.go.id>"
    timeout_seconds: float = Field(20.0, gt=0)


class TelegramSettings(_Strict):
    enabled: bool = True
    api_base: str = "https://api.telegram.org"
    token_env: str = "OKI_MONITOR_TELEGRAM_TOKEN"
    timeout_seconds: float = Field(15.0, gt=0)


class WebhookTarget(_Strict):
    url: str
    secret_env: str | None = None


class Receiver(_Strict):
    """Who gets a message. ``agency: CODE`` means that agency's e-mails and chats from `agencies:`."""

    name: str
    agency: str | None = None
    email: list[str] = Field(default_factory=list)
    telegram: list[str] = Field(default_factory=list)
    webhook: list[WebhookTarget] = Field(default_factory=list)


class Route(_Strict):
    """A node of the routing tree (Alertmanager-style).

    ``match`` keys: topic, agency, kecamatan, stage, urgent; each a list of accepted values.
    The special receiver ``$agency`` means the issue's own agency.
    """

    receiver: str | None = None
    match: dict[str, list[str]] = Field(default_factory=dict)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)
    repeat_interval_hours: float | None = None
    escalate_after_minutes: float | None = None
    escalate_to: str | None = None


class AlertsConfig(_Strict):
    dashboard_url: str = "http://127.0.0.1:8080"
    smtp: SmtpSettings = Field(default_factory=lambda: SmtpSettings())
    telegram: TelegramSettings = Field(default_factory=lambda: TelegramSettings())
    receivers: list[Receiver] = Field(default_factory=list)
    route: Route = Field(default_factory=lambda: Route(receiver="$agency"))
    alert_stages: list[str] = Field(default_factory=lambda: ["naik", "viral"])
    """Stages at which an issue's agency is told (the first alert comes at the first of these)."""
    repeat_interval_hours: float = Field(24.0, gt=0)
    escalate_after_minutes: float = Field(120.0, gt=0)
