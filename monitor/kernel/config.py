"""config.yaml, validated. A wrong key or value stops the program with one line naming it.

Secrets never live in the file: the config names environment variables, and
:func:`secret` reads them. Every secret read is registered with the log
redactor so it can never reach a log line.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from alerts.config import AlertsConfig, TelegramTopic
from classifiers.gazetteer import Gazetteer
from classifiers.region import DEFAULT_REGION, gazetteer_of
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
    "Region",
    "RegionConfig",
    "RegionalConfig",
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


REGION_CODE = r"^\d{2}\.\d{2}$"
REGION_KEYS = ("region", "region_code", "region_places", "agencies", "routing", "sources")
"""What a region file of a deployment brings (the keys `oki-monitor init --region` writes first); its
other keys are deployment-wide and come from the main config."""


def _check_region_keys(agencies: list[AgencyConfig], routing: Mapping[str, str], sources: list[SourceConfig]) -> None:
    """One region's agencies, routing and sources agree with each other and the taxonomy."""
    codes = [a.code for a in agencies]
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        raise ValueError(f"agencies: duplicate code(s) {sorted(dup)}")
    missing = [t for t in TOPICS if t not in routing]
    if missing:
        raise ValueError(f"routing: every topic needs an agency; missing {missing}")
    unknown_topics = [t for t in routing if t not in TOPICS]
    if unknown_topics:
        raise ValueError(f"routing: unknown topic(s) {unknown_topics}; expected keys of taxonomy.md")
    bad = {t: a for t, a in routing.items() if a not in codes}
    if bad:
        raise ValueError(f"routing: agency code(s) not in agencies: {bad}")
    names = [s.name for s in sources]
    dup_s = {n for n in names if names.count(n) > 1}
    if dup_s:
        raise ValueError(f"sources: duplicate name(s) {sorted(dup_s)}")


class RegionConfig(_Strict):
    """The region keys of one region file of a deployment (see :data:`REGION_KEYS`)."""

    region: str
    region_code: str = Field(pattern=REGION_CODE)
    region_places: str | None = None
    """Its extract of the national list, relative to the region file's folder."""
    agencies: list[AgencyConfig]
    routing: dict[str, str]
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> RegionConfig:
        _check_region_keys(self.agencies, self.routing, self.sources)
        return self


@dataclass(frozen=True, slots=True)
class Region:
    """One kabupaten/kota of the deployment as the stages read it: its agencies, routing, sources and places."""

    code: str
    name: str
    agencies: tuple[AgencyConfig, ...]
    routing: Mapping[str, str]
    sources: tuple[str, ...]
    """Names of the sources whose posts are this region's."""
    places: Path | None = None
    """Its extract of the national list (the gazetteer is built from it); None: OKI's hand-tuned gazetteer."""
    file: Path | None = dataclasses.field(default=None, compare=False)
    """The file it was read from (the main config for the deployment's own region); where, not what."""

    def agency(self, code: str | None) -> AgencyConfig | None:
        """This region's agency with that code, or None."""
        return next((a for a in self.agencies if a.code == code), None)

    def gazetteer(self) -> Gazetteer | None:
        """The gazetteer its posts are read with, built once per process; None: OKI's hand-tuned one."""
        return gazetteer_of(self.code, self.places)


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
    lease_seconds: float = Field(60.0, ge=1)
    """``oki-monitor worker``: a job claimed by a worker that died is taken over after this long.

    A live worker renews its leases every third of this, so it only has to outlast a stalled
    database round trip; clocks of the workers' machines must agree to well within it (NTP)."""
    worker_poll_seconds: float = Field(1.0, gt=0, le=60)
    """``oki-monitor worker``: how long an idle worker waits before looking for a due job again."""


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
    region_code: str = Field(DEFAULT_REGION, pattern=REGION_CODE)
    """Kemendagri code of the kabupaten/kota monitored; 16.02 (OKI) uses the hand-tuned gazetteer."""
    region_places: str | None = None
    """For another region: its extract of the national list (`oki-monitor init --region`), relative
    to this file's folder; the gazetteer is built from it at load."""
    regions: list[str] = Field(default_factory=list)
    """Further regions of this deployment: files `oki-monitor init --region CODE` writes, relative to
    this file's folder. Each brings its agencies, routing, sources and places; everything else
    (database, alerts, schedules, web) is this file's. See :func:`parse_config`."""
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

    _regions: dict[str, Region] | None = PrivateAttr(None)
    _source_regions: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_references(self) -> AppConfig:
        _check_region_keys(self.agencies, self.routing, self.sources)
        sla = self.alerts.sla
        unknown_sla = [t for t in sla.topics if t not in TOPICS]
        if unknown_sla:
            raise ValueError(f"alerts.sla.topics: unknown topic(s) {unknown_sla}; expected keys of taxonomy.md")
        unknown_stages = [st for st in sla.stages if st not in STAGES]
        if unknown_stages:
            raise ValueError(f"alerts.sla.stages: unknown stage(s) {unknown_stages}; use {', '.join(STAGES)}")
        return self

    def __eq__(self, other: object) -> bool:
        # The regions read from region files are part of what a config says; where it was read from is not.
        if not isinstance(other, AppConfig):
            return NotImplemented
        return self.__dict__ == other.__dict__ and self.deployment_regions() == other.deployment_regions()

    __hash__ = None  # type: ignore[assignment]

    @property
    def home(self) -> Region:
        """The deployment's own region: this file's region keys (OKI, 16.02, by default)."""
        return self.deployment_regions()[self.region_code]

    def deployment_regions(self) -> dict[str, Region]:
        """Every region of the deployment by code, its own region first (one when `regions:` is empty)."""
        if self._regions is None:
            # A config validated without parse_config (a test's model_validate) is its own region only.
            self._regions = {self.region_code: self._own_region(Path("."), [s.name for s in self.sources])}
        return self._regions

    def region_of(self, code: str | None) -> Region:
        """The region with this code; None or a code the deployment no longer has: its own region."""
        regions = self.deployment_regions()
        return regions.get(code or self.region_code) or regions[self.region_code]

    def for_region(self, code: str | None) -> AppConfig | RegionalConfig:
        """This deployment seen from one region (:class:`alerts.directory.Directory`): that region's agencies,
        routing and ``agency()``, everything else this config's. Its own region (or None): the config itself."""
        if code is None or code == self.region_code:
            return self
        return RegionalConfig(self, self.region_of(code))

    def source_region(self, name: str) -> str:
        """The region code of a configured source's posts (a region's LAPOR! source, :meth:`lapor_source`: that
        region's; a source not in the config: the own region's)."""
        found = self._source_regions.get(name)
        if found is not None:
            return found
        return next((code for code in self.deployment_regions() if self.lapor_source(code) == name), self.region_code)

    def lapor_source(self, code: str | None = None) -> str:
        """The source a region's LAPOR! tickets are stored under: ``lapor.source`` for the deployment's own region
        (None; today's tickets stay there), ``lapor.source`` and the code's digits for another (``lapor-1601``).

        Each regency has its own LAPOR! inbox: its tickets are its posts, read with its gazetteer and
        routed to its agencies, and its imported files are remembered apart.
        """
        if code is None or code == self.region_code:
            return self.lapor.source
        return f"{self.lapor.source}-{code.replace('.', '')}"

    def _own_region(self, folder: Path, sources: list[str]) -> Region:
        return Region(
            code=self.region_code,
            name=self.region,
            agencies=tuple(self.agencies),
            routing=dict(self.routing),
            sources=tuple(sources),
            places=folder / self.region_places if self.region_places else None,
        )

    def agency(self, code: str | None, region: str | None = None) -> AgencyConfig | None:
        """The agency with this code in `region` (default: the deployment's own region), or None."""
        if region is None or region == self.region_code:
            return next((a for a in self.agencies if a.code == code), None)
        found = self.deployment_regions().get(region)
        return found.agency(code) if found is not None else None

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


class RegionalConfig:
    """A deployment seen from one of its regions: what reads ``agencies``, ``routing`` or ``agency()``
    (alerts, digests, the classify stage) gets that region's; every other setting is the deployment's."""

    def __init__(self, config: AppConfig, region: Region) -> None:
        self._config = config
        self.region = region

    @property
    def region_code(self) -> str:
        return self.region.code

    @property
    def agencies(self) -> tuple[AgencyConfig, ...]:
        return self.region.agencies

    @property
    def routing(self) -> Mapping[str, str]:
        return self.region.routing

    def agency(self, code: str | None) -> AgencyConfig | None:
        """This region's agency with that code, or None."""
        return self.region.agency(code)

    def for_region(self, code: str | None) -> AppConfig | RegionalConfig:
        """Another region of the same deployment (None: the deployment's own)."""
        return self._config.for_region(code)

    def deployment_regions(self) -> dict[str, Region]:
        """Every region of the deployment (the same whichever region it is seen from)."""
        return self._config.deployment_regions()

    @property
    def alerts(self) -> AlertsConfig:
        return self._config.alerts

    @property
    def sources(self) -> list[SourceConfig]:
        return self._config.sources

    @property
    def privacy(self) -> PrivacyConfig:
        return self._config.privacy

    def __getattr__(self, name: str) -> Any:
        # Everything deployment-wide (database, schedules, web, lapor, ...) is the deployment's.
        return getattr(self._config, name)


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
    """Validate an already-read mapping; raise :class:`ConfigError` with one clear line.

    With ``regions:``, each listed file (relative to `path`'s folder) is read too and adds its
    region: its agencies (codes may repeat across regions), routing, sources (names unique in the
    whole deployment; the very same source in several files is one, the first file's) and places.
    A main config without ``agencies:`` takes its own region's keys from the listed file of its
    ``region_code`` (what ``oki-monitor init --province`` writes).
    """
    raw = dict(data)
    folder = path.parent
    files = _region_files(raw.get("regions"), path)
    region_data = [(file, _read_region_file(file)) for file in files]
    own_file: Path | None = None
    if files and "agencies" not in raw and "routing" not in raw:
        own_code = str(raw.get("region_code", AppConfig.model_fields["region_code"].default))
        match = [(f, d) for f, d in region_data if str(d.get("region_code")) == own_code]
        if not match:
            raise ConfigError(
                f"{path}: regions: tidak ada berkas wilayah dengan region_code {own_code} untuk wilayah utama "
                "(tulis agencies dan routing di berkas ini, atau daftarkan berkas wilayah itu)"
            )
        own_file, own = match[0]
        region_data = [(f, d) for f, d in region_data if f != own_file]
        raw.update({k: v for k, v in own.items() if k in REGION_KEYS and k not in ("region_places", "sources")})
        raw["sources"] = [*own.get("sources", []), *raw.get("sources", [])]
        if own.get("region_places"):
            raw["region_places"] = os.path.relpath(own_file.parent / str(own["region_places"]), folder)
    try:
        cfg = AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None
    regions = {cfg.region_code: cfg._own_region(folder, [s.name for s in cfg.sources])}
    regions[cfg.region_code] = dataclasses.replace(regions[cfg.region_code], file=own_file or path)
    where = {s.name: own_file or path for s in cfg.sources}
    defined = {s.name: s for s in cfg.sources}
    source_regions = {s.name: cfg.region_code for s in cfg.sources}
    extra_sources: list[SourceConfig] = []
    for file, region_raw in region_data:
        try:
            region = RegionConfig.model_validate({k: v for k, v in region_raw.items() if k in REGION_KEYS})
        except ValidationError as exc:
            raise ConfigError(_format_error(file, exc)) from None
        if region.region_code in regions:
            other = regions[region.region_code].file
            raise ConfigError(
                f"{file}: region_code: wilayah {region.region_code} sudah ada di {other}; "
                "satu wilayah cukup satu berkas dalam satu deployment"
            )
        own_sources: list[SourceConfig] = []
        for source in region.sources:
            if source.name in where and source == defined[source.name]:
                continue  # the same feed written into several files (a province's news): collected once
            if source.name in where:
                raise ConfigError(
                    f"{file}: sources: nama sumber {source.name!r} juga dipakai di {where[source.name]}; "
                    "dengan isi lain; nama sumber harus unik dalam satu deployment (mis. beri akhiran kode wilayah: "
                    f"{source.name}-{region.region_code.replace('.', '')})"
                )
            where[source.name] = file
            defined[source.name] = source
            source_regions[source.name] = region.region_code
            own_sources.append(source)
        extra_sources.extend(own_sources)
        regions[region.region_code] = Region(
            code=region.region_code,
            name=region.region,
            agencies=tuple(region.agencies),
            routing=dict(region.routing),
            sources=tuple(s.name for s in own_sources),
            places=file.parent / region.region_places if region.region_places else None,
            file=file,
        )
    if files:  # a one-region config keeps today's checks (classify reports a missing extract)
        for each in regions.values():
            _check_places(each)
    override = os.environ.get(DATABASE_ENV)
    update: dict[str, Any] = {"database_url": override} if override else {}
    if extra_sources:
        update["sources"] = [*cfg.sources, *extra_sources]
    if update:
        cfg = cfg.model_copy(update=update)
    cfg._regions = regions
    cfg._source_regions = source_regions
    return cfg


def _check_places(region: Region) -> None:
    """A derived region needs its extract of the national list, and the file must be there."""
    if region.places is None and region.code != DEFAULT_REGION:
        raise ConfigError(
            f"{region.file}: region_places: wilayah {region.code} butuh berkas daftar wilayahnya "
            f"(tulis ulang dengan `oki-monitor init --region {region.code}`)"
        )
    if region.places is not None and not region.places.is_file():
        raise ConfigError(
            f"{region.file}: region_places: berkas {region.places} tidak ada "
            f"(tulis ulang dengan `oki-monitor init --region {region.code}`)"
        )


def _region_files(value: object, path: Path) -> list[Path]:
    """The region files `regions:` lists, relative to the main config's folder."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{path}: regions: harus daftar nama berkas wilayah, mis. [regions/16.01.yaml]")
    files = [path.parent / v for v in value]
    seen: set[Path] = set()
    for file in files:
        if file in seen:
            raise ConfigError(f"{path}: regions: berkas {file} tercantum dua kali")
        seen.add(file)
    return files


def _read_region_file(file: Path) -> dict[str, Any]:
    """A region file's top-level mapping; its deployment-wide keys are left to the main config."""
    data = _read_yaml(file)
    if "regions" in data:
        raise ConfigError(
            f"{file}: regions: berkas wilayah tidak boleh mendaftar wilayah lain; daftarkan semuanya di config utama"
        )
    return data


# libyaml's parser, where PyYAML was built with it, reads config.yaml ~7x faster than the pure-Python one
# (38 -> 6 ms, most of what loading a config costs); every command, every region file of a province
# deployment and every worker start pays it. Both raise the same YAMLError with the same marks.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml_text(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it (the same documents, several times faster)."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # a safe loader either way


def load_config(path: Path | str = DEFAULT_CONFIG) -> AppConfig:
    """Read and validate a config file (and the region files it lists)."""
    path = Path(path)
    return parse_config(_read_yaml(path, main=True), path)


def _read_yaml(path: Path, *, main: bool = False) -> dict[str, Any]:
    """The top-level mapping of a config or region file; every failure names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not main:
            raise ConfigError(
                f"{path}: berkas wilayah tidak ada (buat dengan `oki-monitor init --region KODE`)"
            ) from None
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
        data = read_yaml_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


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
