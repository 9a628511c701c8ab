"""config.yaml, validated. A wrong key or value stops the program with one line naming it.

Secrets never live in the file: the config names environment variables, and
:func:`secret` reads them. Every secret read is registered with the log
redactor so it can never reach a log line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts.config import AlertsConfig, TelegramTopic
from classifiers.taxonomy import TOPICS
from classifiers.virality import STAGES, ViralityParams
from monitor.kernel import redact

DATABASE_ENV = "OKI_MONITOR_DATABASE_URL"
DEFAULT_CONFIG = Path("config.yaml")
PACKAGED_CONFIG = resources.files("monitor") / "defaults" / "config.yaml"
"""OKI's default config.yaml as shipped inside the package (in a checkout: the top-level config.yaml,
which ``monitor/defaults/config.yaml`` links to), so an installed package has it in any folder."""


__all__ = [
    "TOPICS",
    "AppConfig",
    "ConfigError",
    "load_config",
    "packaged_config_file",
    "packaged_config_text",
    "parse_config",
    "secret",
]


class ConfigError(Exception):
    """The configuration is wrong; the message names the key and what is expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencyConfig(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    emails: list[str] = Field(default_factory=list)
    telegram_chat_ids: list[str] = Field(default_factory=list)
    telegram_topics: list[TelegramTopic] = Field(default_factory=list)
    """The agency's topic(s) in a shared supergroup (``chat_id`` + ``thread_id``)."""
    whatsapp_numbers: list[str] = Field(default_factory=list)
    non_pemkab: bool = False
    """Not a Pemkab OPD (PLN, BPJS, ...): alerts go as 'forward/inform' via the liaison."""


class SourceConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    enabled: bool = True
    interval_seconds: int = Field(600, ge=10)
    token_env: list[str] = Field(default_factory=list)
    """Environment variables the source needs; missing ones keep it disabled with a message."""
    daily_call_budget: int | None = Field(None, ge=1)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("token_env", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler weekday names.

    APScheduler 3 numbers weekdays from Monday (0 = mon), crontab from Sunday (0 and 7 = sun): a
    plain ``from_crontab("0 2 * * 0")`` fires on Mondays. Numbers, ranges and steps are expanded
    to a list of names in crontab's meaning; ``*`` stays as it is.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step must be at least 1 in {field!r}")
        if base == "*":
            first, last = 0, 6
        else:
            ends = [_WEEKDAYS.index(x[:3]) if x[:3] in _WEEKDAYS else int(x) for x in base.split("-", 1)]
            # "a/step" runs from a to the end of the week, as in Vixie cron.
            first, last = ends[0], ends[1] if len(ends) > 1 else (7 if step_text else ends[0])
        if not (0 <= first <= 7 and 0 <= last <= 7) or first > last:
            raise ValueError(f"weekday {part!r} is not 0-7 (0 and 7 are Sunday) or a range low-high")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def crontab_trigger(line: str) -> Any:
    """An APScheduler cron trigger (WIB) for a crontab line, weekdays meant as crontab means them."""
    from apscheduler.triggers.cron import CronTrigger

    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_cron_weekdays(weekday),
        timezone="Asia/Jakarta",
    )


class RetrainConfig(_Strict):
    """The scheduled retrain with stored corrections, promoted only past the gate (monitor/stages/retrain.py)."""

    enabled: bool = True
    schedule: str = "0 2 * * 0"
    """Crontab line (minute hour day month weekday) in WIB; default Sunday 02:00, when few posts arrive."""
    tolerance: float = Field(0.005, ge=0, le=0.1)
    """How much lower (absolute, 0-1 scale) a candidate's score may be and still count as "no worse"."""
    data_dir: str = "../shared/data"
    """Shared evaluation data (as `oki-monitor eval --data-dir`), relative to the working directory."""
    surabaya_file: str = "surabaya_mediacenter_complaints/complaints_2023H1.csv"
    """Surabaya complaints for the gate, relative to data_dir."""
    blind_dir: str | None = None
    """Folder of the blind set's *.jsonl; empty means classifiers/data/blind."""
    seed: int = Field(0, ge=0)

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        try:
            crontab_trigger(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab line (minute hour day month weekday, e.g. '0 2 * * 0'): {exc}") from None
        return value


class ClassifierConfig(_Strict):
    model_path: str | None = None
    """Trained model file; empty means var/models/classifier.joblib, trained on first use."""
    triage_threshold: float = Field(0.6, ge=0, le=1)
    triage_relevance_floor: float = Field(0.2, ge=0, le=1)
    """The triage list shows uncertain posts whose relevance score is above this (see monitor/reports/triage.py)."""
    triage_complaint_floor: float = Field(0.4, ge=0, le=1)
    """... and whose complaint score is at least this."""
    retrain: RetrainConfig = Field(default_factory=lambda: RetrainConfig())


class IngestConfig(_Strict):
    prefilter: bool = True
    """Drop items with no OKI evidence at all before classification (the classifier is not fed the whole internet)."""
    batch_size: int = Field(1000, ge=1, le=50_000)
    max_text_chars: int = Field(5000, ge=100)


class IssuesConfig(_Strict):
    match_window_hours: float = Field(72, gt=0)
    min_similarity: float = Field(0.2, ge=0, le=1)
    close_after_hours: float = Field(72, gt=0)
    regression_window_days: float = Field(30, gt=0)
    incident_window_hours: float = Field(24, gt=0)
    """A post sharing an incident's event words at its place joins it, whatever its topic, until the
    incident has been quiet this long (``monitor.domain.incident``)."""
    other_desa_window_hours: float = Field(6, gt=0)
    """A post naming another desa of the same kecamatan joins an issue only if the issue began within this time."""
    unplaced_recent_hours: float = Field(24, gt=0)
    """A post naming no place joins an issue only if the issue had a post within this time."""


class ScheduleConfig(_Strict):
    pipeline_seconds: int = Field(60, ge=5)
    delivery_seconds: int = Field(15, ge=1)
    tracking_seconds: int = Field(300, ge=30)
    retention_hours: int = Field(24, ge=1)
    misfire_grace_fraction: float = Field(0.5, gt=0, le=1)
    """A late job still runs if it is at most this fraction of its interval late."""


class PrivacyConfig(_Strict):
    pseudonymise_authors: bool = True
    author_key_env: str = "OKI_MONITOR_AUTHOR_KEY"
    retention_days: int = Field(180, ge=1)


class WebConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_key_env: str = "OKI_MONITOR_SECRET_KEY"
    ingest_token_env: str = "OKI_MONITOR_INGEST_TOKEN"
    secure_cookies: bool | None = None
    """``Secure`` on cookies: None (default) follows ``alerts.dashboard_url`` (on when it is https)."""
    hsts: bool | None = None
    """``Strict-Transport-Security`` header: None (default) follows ``alerts.dashboard_url`` like cookies."""
    workers: int = Field(1, ge=1, le=32)
    """uvicorn worker processes for the dashboard; sessions live in the database, so any number works."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (CIDR) of reverse proxies whose ``X-Forwarded-For`` / ``X-Real-IP`` are believed.

    Empty (default): those headers are ignored and the connecting address is the client everywhere
    (login throttling, audit log); anyone could otherwise write any address into them.
    """

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network (CIDR): {item!r}") from None
        return [item.strip() for item in value]


class TrackedQueriesConfig(_Strict):
    """While an issue rises, its place and key words are searched too (``monitor/stages/tracked_queries.py``)."""

    enabled: bool = True
    max_per_platform: int = Field(2, ge=0, le=10)
    """Tracked queries per searchable platform at once (each costs a search per run on X)."""
    expiry_hours: float = Field(48, gt=0, le=24 * 14)
    """A query stops this long after its issue began to rise, even if it still rises."""
    max_words: int = Field(3, ge=1, le=8)
    """Key words of the issue searched together with its place (any of them)."""
    platforms: list[str] = Field(default_factory=lambda: ["x", "googlenews", "reddit", "bluesky"])

    @field_validator("platforms")
    @classmethod
    def _searchable(cls, value: list[str]) -> list[str]:
        from collectors.queries import SEARCHABLE

        bad = [p for p in value if p not in SEARCHABLE]
        if bad:
            raise ValueError(f"{bad} cannot take tracked queries; choose from {list(SEARCHABLE)}")
        return value


class LaporConfig(_Strict):
    """The SP4N-LAPOR! bridge (``monitor/stages/lapor.py``): ticket exports from a folder, an upload or the CLI."""

    source: str = Field("lapor", pattern=r"^[A-Za-z0-9_.-]+$")
    """Name of the source the tickets are stored under (a ``sources`` row of kind ``lapor``)."""
    folder: str | None = None
    """Folder checked for new ``.csv`` / ``.xlsx`` exports every ``interval_seconds``; none: no folder job."""
    interval_seconds: int = Field(900, ge=30)
    ticket_url: str = "https://www.lapor.go.id/pengaduan/{tracking_id}"
    """A ticket's public page; ``{tracking_id}`` is replaced (LAPOR!'s API documentation gives this form)."""
    trust_tickets: bool = True
    """The export is the regency's own LAPOR! inbox: every ticket is about OKI and a report to be
    handled, whatever the classifier makes of its text (topic and place still come from the text)."""

    @field_validator("ticket_url")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or "{tracking_id}" not in value:
            raise ValueError("must be an http(s) address containing {tracking_id}")
        return value


class AppConfig(_Strict):
    region: str = "Kabupaten Ogan Komering Ilir"
    region_code: str = Field("16.02", pattern=r"^\d{2}\.\d{2}$")
    """Kemendagri code of the kabupaten/kota monitored; 16.02 (OKI) uses the hand-tuned gazetteer."""
    region_places: str | None = None
    """For another region: its extract of the national list (`oki-monitor init --region`), relative
    to this file's folder; the gazetteer is built from it at load."""
    database_url: str = "sqlite:///var/oki-monitor.db"
    agencies: list[AgencyConfig]
    routing: dict[str, str]
    sources: list[SourceConfig] = Field(default_factory=list)
    classifier: ClassifierConfig = Field(default_factory=lambda: ClassifierConfig())
    ingest: IngestConfig = Field(default_factory=lambda: IngestConfig())
    issues: IssuesConfig = Field(default_factory=lambda: IssuesConfig())
    virality: ViralityParams = Field(default_factory=lambda: ViralityParams())
    alerts: AlertsConfig = Field(default_factory=lambda: AlertsConfig())
    schedules: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig())
    privacy: PrivacyConfig = Field(default_factory=lambda: PrivacyConfig())
    web: WebConfig = Field(default_factory=lambda: WebConfig())
    tracked_queries: TrackedQueriesConfig = Field(default_factory=lambda: TrackedQueriesConfig())
    lapor: LaporConfig = Field(default_factory=lambda: LaporConfig())

    @model_validator(mode="after")
    def _check_references(self) -> AppConfig:
        codes = [a.code for a in self.agencies]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"agencies: duplicate code(s) {sorted(dup)}")
        missing = [t for t in TOPICS if t not in self.routing]
        if missing:
            raise ValueError(f"routing: every topic needs an agency; missing {missing}")
        unknown_topics = [t for t in self.routing if t not in TOPICS]
        if unknown_topics:
            raise ValueError(f"routing: unknown topic(s) {unknown_topics}; expected keys of taxonomy.md")
        bad = {t: a for t, a in self.routing.items() if a not in codes}
        if bad:
            raise ValueError(f"routing: agency code(s) not in agencies: {bad}")
        sla = self.alerts.sla
        unknown_sla = [t for t in sla.topics if t not in TOPICS]
        if unknown_sla:
            raise ValueError(f"alerts.sla.topics: unknown topic(s) {unknown_sla}; expected keys of taxonomy.md")
        unknown_stages = [st for st in sla.stages if st not in STAGES]
        if unknown_stages:
            raise ValueError(f"alerts.sla.stages: unknown stage(s) {unknown_stages}; use {', '.join(STAGES)}")
        names = [s.name for s in self.sources]
        dup_s = {n for n in names if names.count(n) > 1}
        if dup_s:
            raise ValueError(f"sources: duplicate name(s) {sorted(dup_s)}")
        return self

    def agency(self, code: str | None) -> AgencyConfig | None:
        return next((a for a in self.agencies if a.code == code), None)

    @property
    def public_https(self) -> bool:
        """Is the dashboard's public address (``alerts.dashboard_url``, used in e-mail links) https?"""
        return self.alerts.dashboard_url.strip().lower().startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        """Set ``Secure`` on cookies: ``web.secure_cookies`` when given, else whether the public URL is https."""
        return self.public_https if self.web.secure_cookies is None else self.web.secure_cookies

    @property
    def hsts(self) -> bool:
        """Send ``Strict-Transport-Security``: ``web.hsts`` when given, else whether the public URL is https."""
        return self.public_https if self.web.hsts is None else self.web.hsts

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r} in config (known: {', '.join(s.name for s in self.sources)})")


def _format_error(path: Path, exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = re.sub(r"^Value error, ", "", first["msg"])
    got = ""
    if first["type"] not in ("missing", "value_error") and "input" in first:
        shown = repr(first["input"])
        got = f" (got {shown[:60]})"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    if msg.startswith(loc + "."):  # the validator already named the exact key path below ``loc``
        return f"{path}: {msg}{got}{more}"
    return f"{path}: {loc}: {msg}{got}{more}"


def parse_config(data: Mapping[str, Any], path: Path = DEFAULT_CONFIG) -> AppConfig:
    """Validate an already-read mapping; raise :class:`ConfigError` with one clear line."""
    try:
        cfg = AppConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None
    override = os.environ.get(DATABASE_ENV)
    if override:
        cfg = cfg.model_copy(update={"database_url": override})
    return cfg


def load_config(path: Path | str = DEFAULT_CONFIG) -> AppConfig:
    """Read and validate a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found; pass --config FILE, run from the project folder "
            "or write a starter config with `oki-monitor init`"
        ) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: baris {line}: berkas bukan UTF-8 (byte 0x{exc.object[exc.start]:02X}); "
            "simpan ulang config.yaml sebagai UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: tidak bisa dibaca ({exc.strerror or exc}); periksa izin berkas") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return parse_config(data, path)


def packaged_config_text() -> str:
    """The text of the config.yaml shipped with the package: OKI's default, with its comments."""
    return PACKAGED_CONFIG.read_text(encoding="utf-8")


@contextmanager
def packaged_config_file() -> Iterator[Path]:
    """A real file holding the packaged config.yaml (a temporary copy only if the package is zipped)."""
    with resources.as_file(PACKAGED_CONFIG) as path:
        yield path


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment and make sure logs never show it."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value:
        redact.register(value)
    return value or None
