"""The `alerts:` section of config.yaml: channels, receivers, the routing tree and alert hygiene."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from alerts.sla import ClockRule, Clocks, WorkCalendar, clocks_for, work_calendar


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
    webhook_secret_env: str | None = None
    """Set when updates arrive by webhook: the value Telegram sends as X-Telegram-Bot-Api-Secret-Token."""
    per_chat_interval_seconds: float = Field(1.0, ge=0)
    """Telegram allows about one message per second per chat; a burst to one chat is paced by this."""


class TelegramTopic(_Strict):
    """A forum topic of a Telegram supergroup: every agency can have its own topic in one group."""

    chat_id: str
    """The supergroup (``-100…``) or its ``@username``."""
    thread_id: int = Field(ge=1)
    """The topic's ``message_thread_id`` (shown in the topic's link: ``t.me/c/<group>/<thread_id>``)."""

    @property
    def recipient(self) -> str:
        """How the outbox names this topic: ``<chat_id>#<thread_id>``."""
        return f"{self.chat_id}#{self.thread_id}"


ButtonAction = Literal["ack", "n", "o", "d", "diproses", "selesai"]
DEFAULT_BUTTONS: tuple[ButtonAction, ...] = ("ack", "n", "d")


class WhatsAppCloudSettings(_Strict):
    """WhatsApp Business Cloud API (Meta): approved templates outside the 24-hour window, text inside it."""

    api_base: str = "https://graph.facebook.com"
    api_version: str = "v24.0"
    """Graph API version of the Cloud API calls (a start-up warning comes 60 days before it ends)."""
    phone_number_id: str = ""
    """The business phone number's id (WhatsApp Manager → API setup), not the number itself."""
    token_env: str = "OKI_MONITOR_WHATSAPP_TOKEN"
    """Environment variable holding the access token (a system-user token does not expire)."""
    app_secret_env: str = "OKI_MONITOR_WHATSAPP_APP_SECRET"
    """Environment variable holding the Meta app secret that signs webhooks (X-Hub-Signature-256)."""
    verify_token_env: str = "OKI_MONITOR_WHATSAPP_VERIFY_TOKEN"
    """Environment variable holding the verify token typed into the Meta app's webhook settings."""
    template: str = "oki_peringatan"
    """Approved template for alerts that ask for confirmation: body {{1}} headline, {{2}} summary,
    {{3}} dashboard link; quick-reply buttons in the order of ``template_buttons``."""
    template_buttons: list[ButtonAction] = Field(default_factory=lambda: list(DEFAULT_BUTTONS))
    """What each quick-reply button of ``template`` does: ack = Tindak lanjuti, n/o/d = label feedback,
    diproses/selesai = the agency's answer (the person is asked for the note in the chat)."""
    info_template: str = "oki_info"
    """Approved template without buttons for digests, source and delivery notices (same three parameters)."""
    language: str = "id"


class WhatsAppGatewaySettings(_Strict):
    """A generic HTTP gateway (the kind many regencies rent): one POST per message with a token."""

    url: str = ""
    body: Literal["form", "json"] = "form"
    token_env: str = "OKI_MONITOR_WHATSAPP_GATEWAY_TOKEN"
    token_header: str | None = "Authorization"
    """Header that carries the token (None: the token goes in ``token_field`` of the body instead)."""
    token_prefix: str = ""
    """Put before the token in the header, e.g. ``"Bearer "``."""
    token_field: str | None = None
    phone_field: str = "target"
    message_field: str = "message"
    extra_fields: dict[str, str] = Field(default_factory=dict)
    """Fixed fields some gateways need (e.g. ``countryCode: "62"``)."""
    success_field: str | None = "status"
    """Dotted path in the JSON answer that says the gateway took the message; None: any 2xx is success."""
    success_values: list[str] = Field(default_factory=lambda: ["true", "success", "sent", "ok"])
    """Values of ``success_field`` (compared as lower-case text) that mean success."""
    id_field: str | None = "id"
    """Dotted path of the gateway's message id in the answer, if it gives one."""
    reason_field: str | None = "reason"
    """Dotted path of the gateway's error text, shown in the delivery status."""


class WhatsAppSettings(_Strict):
    enabled: bool = False
    profile: Literal["cloud", "gateway"] = "cloud"
    timeout_seconds: float = Field(15.0, gt=0)
    per_recipient_interval_seconds: float = Field(6.0, ge=0)
    """Meta allows about one message per 6 s to one user (pair rate limit, error 131056)."""
    cloud: WhatsAppCloudSettings = Field(default_factory=lambda: WhatsAppCloudSettings())
    gateway: WhatsAppGatewaySettings = Field(default_factory=lambda: WhatsAppGatewaySettings())

    @model_validator(mode="after")
    def _profile_complete(self) -> WhatsAppSettings:
        if self.enabled and self.profile == "cloud" and not self.cloud.phone_number_id:
            raise ValueError("alerts.whatsapp.cloud.phone_number_id: wajib diisi untuk profil cloud")
        if self.enabled and self.profile == "gateway" and not self.gateway.url:
            raise ValueError("alerts.whatsapp.gateway.url: wajib diisi untuk profil gateway")
        return self


class WebhookTarget(_Strict):
    url: str
    secret_env: str | None = None
    """Environment variable holding the HMAC-SHA256 key used to sign each request body."""


class Receiver(_Strict):
    """Who gets a message. ``agency: CODE`` means that agency's e-mails and chats from `agencies:`."""

    name: str
    agency: str | None = None
    email: list[str] = Field(default_factory=list)
    telegram: list[str] = Field(default_factory=list)
    telegram_topics: list[TelegramTopic] = Field(default_factory=list)
    whatsapp: list[str] = Field(default_factory=list)
    """Phone numbers (``0812…``, ``+62812…`` or ``62812…``) that get alerts on WhatsApp."""
    webhook: list[WebhookTarget] = Field(default_factory=list)


MATCH_KEYS = ("topic", "agency", "kecamatan", "stage", "urgent", "region")


class Route(_Strict):
    """A node of the routing tree (Alertmanager-style).

    ``match`` keys: topic, agency, kecamatan, stage, urgent, region; each a list of accepted values
    (``urgent: ["true"]``, ``region: ["16.01"]``). The special receiver ``$agency`` means the issue's own agency.
    A node without ``receiver`` inherits its parent's; timers are inherited the same way.
    """

    receiver: str | None = None
    match: dict[str, list[str]] = Field(default_factory=dict)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)
    repeat_interval_hours: float | None = Field(None, gt=0)
    escalate_after_minutes: float | None = Field(None, gt=0)
    escalate_to: str | None = None

    @field_validator("match")
    @classmethod
    def _known_keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = [k for k in value if k not in MATCH_KEYS]
        if unknown:
            raise ValueError(f"route match: unknown key(s) {unknown}; use {list(MATCH_KEYS)}")
        return {k: [str(v).lower() if k == "urgent" else str(v) for v in vs] for k, vs in value.items()}


class QuietHours(_Strict):
    """Hold non-urgent alerts during the night (WIB); deliveries go out when quiet hours end."""

    enabled: bool = True
    start: time = time(21, 0)
    end: time = time(6, 0)
    bypass_topics: list[str] = Field(default_factory=lambda: ["bencana", "kesehatan"])
    bypass_urgent: bool = True
    """Urgent issues (deaths, children, disasters: set by the classifier) are never held."""


class InhibitRule(_Strict):
    """While an open issue matches ``source``, alerts matching ``target`` with the same ``equal`` labels are muted."""

    source: dict[str, list[str]]
    target: dict[str, list[str]]
    equal: list[str] = Field(default_factory=lambda: ["kecamatan"])


class ClockDays(_Strict):
    """Working days per LAPOR! clock for one topic or stage; an omitted clock keeps the default."""

    respond: int | None = Field(None, ge=1)
    process: int | None = Field(None, ge=1)
    finish: int | None = Field(None, ge=1)


CUTI_BERSAMA_2026 = [
    # SKB Menag, Menaker, MenPANRB No. 1497/2025, 2/2025, 5/2025 (8 days).
    date(2026, 2, 16),  # Imlek
    date(2026, 3, 18),  # Nyepi
    date(2026, 3, 20),  # Idulfitri
    date(2026, 3, 23),
    date(2026, 3, 24),
    date(2026, 5, 15),  # Kenaikan Yesus Kristus
    date(2026, 5, 28),  # Iduladha
    date(2026, 12, 24),  # Natal
]
CUTI_BERSAMA_2027 = [
    # SKB for 2027 as carried by the `holidays` library (government category), 8 days.
    date(2027, 2, 5),  # Imlek
    date(2027, 3, 9),  # Idulfitri
    date(2027, 3, 12),
    date(2027, 3, 15),
    date(2027, 3, 25),  # Wafat Yesus Kristus
    date(2027, 5, 18),  # Iduladha
    date(2027, 5, 19),  # Waisak
    date(2027, 12, 24),  # Natal
]


class SlaSettings(_Strict):
    """SP4N-LAPOR!-style clocks: working days in WIB, skipping weekends, national holidays and cuti bersama.

    National holidays come from the ``holidays`` library (Indonesia); cuti bersama are set each year by
    an SKB of three ministers and listed here per year; ``holidays`` adds regional days off.
    """

    respond_working_days: int = Field(3, ge=1)
    """LAPOR!: a report is answered (acknowledged, forwarded) within 3 working days."""
    process_working_days: int = Field(5, ge=1)
    """LAPOR!: the agency follows it up within 5 working days."""
    finish_working_days: int = Field(10, ge=1)
    """Finished (``selesai``) within 10 working days."""
    topics: dict[str, ClockDays] = Field(default_factory=lambda: {"bencana": ClockDays(respond=1, process=2, finish=5)})
    """Shorter (or longer) clocks per topic; disasters cannot wait three working days."""
    stages: dict[str, ClockDays] = Field(default_factory=dict)
    """Clocks per virality stage at the time the agency is told (e.g. ``viral: {respond: 1}``)."""
    cuti_bersama: dict[int, list[date]] = Field(
        default_factory=lambda: {2026: list(CUTI_BERSAMA_2026), 2027: list(CUTI_BERSAMA_2027)}
    )
    """Cuti bersama per year (SKB); a year missing here is warned about at start."""
    holidays: list[date] = Field(default_factory=list)
    """Extra days off (regional holidays) on top of the national ones and cuti bersama."""
    _calendar: WorkCalendar | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _years_match(self) -> SlaSettings:
        for year, days in self.cuti_bersama.items():
            wrong = [d.isoformat() for d in days if d.year != year]
            if wrong:
                raise ValueError(f"alerts.sla.cuti_bersama.{year}: date(s) of another year {wrong}")
        return self

    def calendar(self) -> WorkCalendar:
        """The days off these settings describe (cached per settings object)."""
        if self._calendar is None:
            self._calendar = work_calendar(self.cuti_bersama, self.holidays)
        return self._calendar

    def clocks(self, topic: str | None, stage: str | None) -> Clocks:
        """The working days of each clock for an issue of ``topic`` told at ``stage``."""
        defaults = Clocks(self.respond_working_days, self.process_working_days, self.finish_working_days)
        return clocks_for(
            defaults,
            topic,
            stage,
            {k: ClockRule(v.respond, v.process, v.finish) for k, v in self.topics.items()},
            {k: ClockRule(v.respond, v.process, v.finish) for k, v in self.stages.items()},
        )


class BriefSettings(_Strict):
    """The regent's weekly brief (``oki-monitor brief``), mailed as a PDF."""

    enabled: bool = True
    receivers: list[str] = Field(default_factory=list)
    """Receiver names (``alerts.receivers``) whose e-mail addresses get the brief; empty: nobody."""
    schedule: str = "0 7 * * 1"
    """Crontab line in WIB: Monday 07:00, the week that just ended."""


class RetrySettings(_Strict):
    base_seconds: float = Field(5.0, gt=0)
    max_seconds: float = Field(600.0, gt=0)
    max_attempts: int = Field(50, ge=1)
    max_age_hours: float = Field(24.0, gt=0)
    lease_seconds: float = Field(120.0, gt=0)
    """A delivery claimed by a worker that died is retried after this long."""


class GroupingSettings(_Strict):
    """Several small first alerts for one receiver decided together go out as one message."""

    enabled: bool = True
    max_score: float = 60.0
    """Only issues scoring below this (and not urgent) are 'small'."""
    min_issues: int = Field(2, ge=2)


class AlertsConfig(_Strict):
    dashboard_url: str = "http://127.0.0.1:8080"
    smtp: SmtpSettings = Field(default_factory=lambda: SmtpSettings())
    telegram: TelegramSettings = Field(default_factory=lambda: TelegramSettings())
    whatsapp: WhatsAppSettings = Field(default_factory=lambda: WhatsAppSettings())
    receivers: list[Receiver] = Field(default_factory=list)
    route: Route = Field(default_factory=lambda: Route(receiver="$agency"))
    alert_stages: list[str] = Field(default_factory=lambda: ["naik", "viral"])
    """Stages at which an issue's agency is told (the first alert comes at the first of these)."""
    repeat_interval_hours: float = Field(24.0, gt=0)
    escalate_after_minutes: float = Field(120.0, gt=0)
    escalate_to: str | None = None
    """Default receiver for escalations (e.g. the comms head); None means no escalation."""
    admin_receiver: str | None = None
    """Who hears about silent sources and dead deliveries; None means the Diskominfo agency."""
    crisis_words: list[str] = Field(
        default_factory=lambda: [
            "meninggal",
            "tewas",
            "korban jiwa",
            "tenggelam",
            "banjir bandang",
            "longsor",
            "kebakaran",
            "terbakar",
            "anak hilang",
            "keracunan",
            "wabah",
            "jebol",
            "ambruk",
        ]
    )
    """Words in an issue's title that alert at once, without waiting for a statistical spike."""
    quiet_hours: QuietHours = Field(default_factory=lambda: QuietHours())
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=lambda: [
            InhibitRule(
                source={"topic": ["bencana"]},
                target={"topic": ["infrastruktur", "air_bersih", "listrik", "transportasi"]},
                equal=["kecamatan"],
            )
        ]
    )
    sla: SlaSettings = Field(default_factory=lambda: SlaSettings())
    retry: RetrySettings = Field(default_factory=lambda: RetrySettings())
    grouping: GroupingSettings = Field(default_factory=lambda: GroupingSettings())
    brief: BriefSettings = Field(default_factory=lambda: BriefSettings())
    digest_time: time = time(7, 0)
    """Daily summary per agency at this WIB time."""
    source_silence_factor: float = Field(4.0, gt=1)
    """A source is silent when its last item is older than this many times its usual gap."""
    ack_secret_env: str = "OKI_MONITOR_SECRET_KEY"
    """Key that signs acknowledge links in e-mails (shared with the dashboard's session key)."""

    @field_validator("crisis_words")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [re.sub(r"\s+", " ", w.strip().lower()) for w in value if w.strip()]

    @model_validator(mode="after")
    def _receivers_defined(self) -> AlertsConfig:
        # A route to a receiver nobody defined drops that issue's alerts at delivery time: refuse to start.
        defined = {r.name for r in self.receivers} | {AGENCY_RECEIVER}
        for path, name in _receiver_refs(self):
            if name not in defined:
                known = ", ".join(sorted(defined))
                raise ValueError(
                    f"alerts.{path}: receiver {name!r} is not defined under alerts.receivers (known: {known})"
                )
        return self

    def receiver(self, name: str) -> Receiver | None:
        """The receiver called ``name``, or None."""
        return next((r for r in self.receivers if r.name == name), None)


AGENCY_RECEIVER = "$agency"
"""The receiver that means "the issue's own agency" (always defined)."""


def _receiver_refs(cfg: AlertsConfig) -> list[tuple[str, str]]:
    """(key path under ``alerts``, receiver name) of every receiver the config names."""
    refs = [(key, name) for key in ("escalate_to", "admin_receiver") if (name := getattr(cfg, key))]
    refs.extend((f"brief.receivers.{i}", name) for i, name in enumerate(cfg.brief.receivers))

    def walk(node: Route, path: str) -> None:
        refs.extend((f"{path}.{key}", name) for key in ("receiver", "escalate_to") if (name := getattr(node, key)))
        for index, child in enumerate(node.routes):
            walk(child, f"{path}.routes.{index}")

    walk(cfg.route, "route")
    return refs
