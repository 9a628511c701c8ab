"""Replays the bundled scenario through the real collectors, pipeline and alert delivery, offline.

A local HTTP server serves the scenario in each source's wire format as it
would look at the simulated time; a local SMTP server (aiosmtpd), a local
Telegram Bot API stub and a local WhatsApp Cloud API stub receive the alerts.
Nothing touches the internet.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from alerts.report import summarise
from monitor.demo.scenario import HOURS, START, ScenarioPost, build_scenario, peak_time
from monitor.demo.smtp_sink import SmtpSink
from monitor.kernel.clock import SimulatedClock, format_wib, to_wib
from monitor.kernel.config import AppConfig
from monitor.reports import kinerja
from monitor.service import MonitorService
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue, IssuePost, Label, Post

KIND_NAMES = {
    "first": "pertama",
    "update": "pembaruan",
    "repeat": "pengulangan",
    "escalation": "eskalasi",
    "regression": "muncul lagi",
    "group": "gabungan",
    "digest": "ringkasan harian",
    "source_health": "kesehatan sumber",
    "crisis": "krisis",
}

log = logging.getLogger(__name__)

STEP = timedelta(minutes=10)
DEMO_TOKEN_ENV = "OKI_DEMO_TELEGRAM_TOKEN"
DEMO_TOKEN = "123456789:DEMO-token-not-secret"
DEMO_WHATSAPP_TOKEN_ENV = "OKI_DEMO_WHATSAPP_TOKEN"
DEMO_WHATSAPP_TOKEN = "EAAG-demo-whatsapp-token-not-secret"
DEMO_WHATSAPP_NUMBER = "0812-7000-0001"
"""The PUPR duty officer's phone in the demo (alerts reach it as WhatsApp templates)."""
DEMO_CITIZEN = 880001
"""Telegram user id of the citizen who forwards a screenshot to the bot ("Lapor ke monitor")."""
FORWARDED = (
    "Jalan poros Desa Sungai Lumpur Kecamatan Cengal rusak parah, lubang besar, truk sawit amblas lagi. "
    "Tolong Pemkab OKI segera perbaiki"
)
"""The chat message in the forwarded screenshot (drawn into a PNG, read back by OCR)."""


@dataclass
class DemoResult:
    """What the demo did, for the report and for tests."""

    config: AppConfig
    db: Database
    posts_served: int = 0
    posts_stored: int = 0
    seconds: float = 0.0
    peak_at: datetime | None = None
    first_alert_at: datetime | None = None
    road_issue_id: int | None = None
    emails: list[Any] = field(default_factory=list)
    telegram_messages: list[Any] = field(default_factory=list)
    whatsapp_messages: list[dict[str, Any]] = field(default_factory=list)
    report_issue_id: int | None = None
    """The issue the forwarded screenshot joined."""
    report_reply: str | None = None
    """What the bot answered the citizen who forwarded it."""
    lines: list[str] = field(default_factory=list)
    hours: int = HOURS
    """How much of the scenario was replayed, from its start."""

    @property
    def end(self) -> datetime:
        """Where the replay stopped (simulated time)."""
        return START + timedelta(hours=self.hours)


def demo_config(
    base: AppConfig,
    db_url: str,
    replay_base: str,
    smtp_port: int,
    telegram_base: str,
    whatsapp_base: str | None = None,
) -> AppConfig:
    """The shipped config with sources and channels pointed at the local demo servers.

    With ``whatsapp_base``, PUPR's duty officer also gets its alerts on WhatsApp (Cloud API profile).
    """
    from monitor.demo.replay_server import demo_sources

    data = base.model_dump(by_alias=True)
    data["database_url"] = db_url
    # "Lapor ke monitor": reports sent to the demo's Telegram bot (media is on 127.0.0.1 here).
    data["sources"] = [
        *demo_sources(replay_base),
        {"name": "laporan", "kind": "laporan", "interval_seconds": 60, "settings": {"allow_private_addresses": True}},
    ]
    data["alerts"]["smtp"].update({"host": "127.0.0.1", "port": smtp_port, "security": "none", "enabled": True})
    data["alerts"]["telegram"].update({"api_base": telegram_base, "token_env": DEMO_TOKEN_ENV, "enabled": True})
    if whatsapp_base is not None:
        from monitor.demo.whatsapp_stub import PHONE_NUMBER_ID

        data["alerts"]["whatsapp"].update(
            {
                "enabled": True,
                "profile": "cloud",
                "per_recipient_interval_seconds": 0,  # simulated time: no real pause between messages
                "cloud": {
                    **data["alerts"]["whatsapp"]["cloud"],
                    "api_base": whatsapp_base,
                    "phone_number_id": PHONE_NUMBER_ID,
                    "token_env": DEMO_WHATSAPP_TOKEN_ENV,
                },
            }
        )
        for agency in data["agencies"]:
            if agency["code"] == "pupr":
                agency["whatsapp_numbers"] = [DEMO_WHATSAPP_NUMBER]
    return AppConfig.model_validate(data)


@contextmanager
def _demo_environment() -> Iterator[None]:
    """The demo's stand-in tokens (accepted only by the local servers), removed again afterwards.

    Leaving them set would make a later `run` in the same process talk to the real APIs with them.
    """
    from monitor.demo.replay_server import DEMO_X_TOKEN_ENV, DEMO_YOUTUBE_KEY_ENV

    values = {
        DEMO_TOKEN_ENV: DEMO_TOKEN,
        DEMO_WHATSAPP_TOKEN_ENV: DEMO_WHATSAPP_TOKEN,
        DEMO_X_TOKEN_ENV: "demo-x-token-not-secret",
        DEMO_YOUTUBE_KEY_ENV: "demo-youtube-key-not-secret",
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


MARKER = ".oki-demo-workdir"
"""File the demo leaves in its working folder: only a folder carrying it may be wiped by the next demo."""


class WorkdirRefused(Exception):
    """The demo's working folder holds something that is not the demo's own; nothing was deleted."""


def prepare_workdir(workdir: Path) -> None:
    """Make ``workdir`` an empty folder with the demo's marker; refuse a folder that is not the demo's.

    ``demo --workdir var`` must never wipe production data: a folder is deleted only if it
    is empty or an earlier demo marked it.
    """
    if workdir.is_symlink() or (workdir.exists() and not workdir.is_dir()):
        raise WorkdirRefused(f"{workdir} bukan folder biasa; pilih folder kosong untuk --workdir")
    if workdir.exists() and any(workdir.iterdir()):
        # A folder from before the marker existed holds only the demo database (and its WAL files).
        old_demo = all(p.name.startswith("demo.db") and p.is_file() for p in workdir.iterdir())
        if not (workdir / MARKER).is_file() and not old_demo:
            raise WorkdirRefused(
                f"{workdir} berisi berkas yang bukan milik demo (tidak ada penanda {MARKER}); tidak ada yang "
                "dihapus. Pilih folder kosong atau folder demo sebelumnya untuk --workdir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("Folder kerja `oki-monitor demo`: boleh dihapus dan diisi ulang oleh demo.\n")


def run_demo(base: AppConfig, workdir: Path, *, speak: bool = True, hours: int = HOURS) -> DemoResult:
    """Run the scenario's first ``hours`` (all of it by default); returns what happened (the report is in
    ``result.lines``)."""
    if not 1 <= hours <= HOURS:
        raise ValueError(f"hours must be 1..{HOURS}")
    from monitor.demo.replay_server import ReplayServer
    from monitor.demo.telegram_stub import TelegramStub
    from monitor.demo.whatsapp_stub import WhatsAppStub

    started = time.perf_counter()
    prepare_workdir(workdir)
    posts = build_scenario()
    clock = SimulatedClock(START)
    with (
        _demo_environment(),
        ReplayServer(posts, clock.now) as replay,
        SmtpSink() as smtp,
        TelegramStub(DEMO_TOKEN) as telegram,
        WhatsAppStub(DEMO_WHATSAPP_TOKEN, "demo-app-secret") as whatsapp,
    ):
        cfg = demo_config(
            base,
            f"sqlite:///{workdir.resolve() / 'demo.db'}",
            replay.base_url,
            smtp.port,
            telegram.base_url,
            whatsapp.base_url,
        )
        db = Database(cfg.database_url, sqlite_synchronous="NORMAL")  # a throw-away database
        db.upgrade()
        service = MonitorService(cfg, db, clock)
        result = DemoResult(config=cfg, db=db, hours=hours)
        next_run = {name: START for name in service.collectors}
        end = result.end
        acked = forwarded = False
        step = 0
        while clock.now() < end:
            now = clock.now()
            for name, due in next_run.items():
                if now >= due:
                    service.collect(name)
                    next_run[name] = now + timedelta(seconds=cfg.source(name).interval_seconds)
            service.pipeline()
            if step % 3 == 0:
                service.track()
                service.housekeeping()
            service.deliver()
            if not acked:
                acked = _maybe_acknowledge(db, telegram, now)
            if not forwarded:
                forwarded = _maybe_forward(db, telegram)
            service.poll_acks()
            clock.advance(STEP)
            step += 1
        service.deliver()
        service.close()
        result.emails = list(smtp.received)
        result.telegram_messages = list(telegram.sent_messages())
        result.whatsapp_messages = whatsapp.sent()
        said = [str(m["text"]) for m in telegram.sent_messages() if str(m["chat_id"]) == str(DEMO_CITIZEN)]
        result.report_reply = said[0] if said else None
    result.posts_served = sum(1 for p in posts if p.item.created_at < result.end)
    result.peak_at = peak_time(posts)
    result.seconds = time.perf_counter() - started
    _report(result, posts)
    return result


def _maybe_acknowledge(db: Database, telegram: Any, now: datetime) -> bool:
    """The agency presses "Tindak lanjuti" an hour after its alert was escalated (so the demo shows both)."""
    with db.session() as session:
        alert = session.scalar(select(Alert).where(Alert.kind == "escalation").order_by(Alert.created_at).limit(1))
        if alert is None or alert.parent_alert_id is None or now - alert.created_at < timedelta(hours=1):
            return False
        first = session.get(Alert, alert.parent_alert_id)
        if first is None:
            return False
        token = first.ack_token
    return bool(telegram.press_ack_button(token))


def _maybe_forward(db: Database, telegram: Any) -> bool:
    """Once the road issue has been alerted, a citizen forwards a screenshot of a WhatsApp group about it."""
    from monitor.demo.screenshot import chat_screenshot

    with db.session() as session:
        alerted = session.scalar(
            select(Alert.id).join(Issue, Issue.id == Alert.issue_id).where(Issue.kecamatan == "Cengal").limit(1)
        )
    if alerted is None:
        return False
    telegram.user_sends(DEMO_CITIZEN, photo=chat_screenshot(FORWARDED, sender="Grup Warga Sungai Lumpur"))
    return True


def performance_lines(config: AppConfig, db: Database, start: datetime, end: datetime) -> list[str]:
    """The performance table (``/kinerja``) of the agencies told something during the scenario."""
    period = kinerja.Period(to_wib(start).date(), to_wib(end).date())
    with db.session() as session:
        rows = [r for r in kinerja.agency_performance(session, config, period, end) if r.received]
    rows = kinerja.sort_rows(rows, "viral_before_ack", descending=True)
    out = ["Kinerja OPD (seperti di /kinerja; waktu sejak OPD diberi tahu, batas waktu hari kerja LAPOR!):"]
    if not rows:
        return [*out, "  belum ada OPD yang diberi tahu"]
    return out + ["  " + line for line in kinerja.table_text(rows)]


def _report(result: DemoResult, posts: list[ScenarioPost]) -> None:
    db = result.db
    lines = result.lines
    with db.session() as session:
        stored = session.scalar(select(func.count()).select_from(Post)) or 0
        result.posts_stored = int(stored)
        relevant = session.scalar(select(func.count()).select_from(Label).where(Label.relevant)) or 0
        complaints = (
            session.scalar(select(func.count()).select_from(Label).where(Label.relevant, Label.is_complaint)) or 0
        )
        issues = list(session.scalars(select(Issue).order_by(Issue.score.desc())))
        alerts = list(session.scalars(select(Alert).order_by(Alert.created_at)))
        deliveries = list(session.scalars(select(Delivery)))
        road_ids = {p.item.external_id for p in posts if p.role == "road"}
        lookalike_ids = {p.item.external_id for p in posts if p.role == "lookalike"}
        membership = dict(
            session.execute(
                select(Post.external_id, IssuePost.issue_id).join(IssuePost, IssuePost.post_id == Post.id)
            ).all()
        )
    road_issue_counts: dict[int, int] = {}
    for ext, iid in membership.items():
        if ext in road_ids:
            road_issue_counts[iid] = road_issue_counts.get(iid, 0) + 1
    road_issue = max(road_issue_counts, key=lambda i: road_issue_counts[i]) if road_issue_counts else None
    result.road_issue_id = road_issue
    lookalike_issues = {membership[e] for e in lookalike_ids if e in membership}
    road_alerts = [a for a in alerts if a.issue_id == road_issue]
    if road_alerts:
        result.first_alert_at = road_alerts[0].created_at

    lines.append("== Laporan demo OKI Viral Monitor ==")
    lines.append(f"Skenario: {format_wib(START)} s.d. {format_wib(result.end)} (disimulasikan)")
    lines.append(
        f"Unggahan disajikan: {result.posts_served}; tersimpan (lolos saring awal): {stored}; "
        f"tentang OKI: {relevant}; keluhan: {complaints}"
    )
    lines.append(f"Isu terbentuk: {len(issues)}")
    for issue in issues[:6]:
        lines.append(
            f"  #{issue.id} [{issue.stage}] {issue.title} — {issue.post_count} unggahan, skor {issue.score:.0f}"
        )
    lines.append(
        f"Unggahan mirip (Oki Setiana Dewi, KTT OKI, OKU, Mesuji Lampung, ...) yang masuk isu: {len(lookalike_issues)}"
    )
    lines.append(
        f"Peringatan tercatat: {len(alerts)}; pengiriman: "
        f"{sum(d.status == 'sent' for d in deliveries)} terkirim, "
        f"{sum(d.status not in ('sent',) for d in deliveries)} belum/gagal"
    )
    kinds = Counter(a.kind for a in alerts)
    lines.append("  menurut jenis: " + ", ".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in sorted(kinds.items())))
    lines.append("Riwayat peringatan isu (digest harian dan kesehatan sumber tidak dirinci):")
    with db.session() as session:
        history = summarise(session)
    issue_lines = [line for line in history if "isu #" in line]
    lines.extend("  " + line.strip() for line in issue_lines[:14])
    if len(issue_lines) > 14:
        lines.append(f"  ... dan {len(issue_lines) - 14} lagi")
    lines.extend("  " + line.strip() for line in history if line.strip().lower().startswith(("waktu", "rata")))
    if result.first_alert_at and result.peak_at:
        lead = result.peak_at - result.first_alert_at
        hours, minutes = divmod(int(lead.total_seconds() // 60), 60)
        when = "sebelum" if lead.total_seconds() > 0 else "SESUDAH"
        lines.append(
            f"Isu jalan rusak Cengal: peringatan pertama {format_wib(result.first_alert_at)}, "
            f"puncak {format_wib(result.peak_at)} → {hours} jam {minutes} menit {when} puncak"
        )
    else:
        lines.append("Isu jalan rusak Cengal: TIDAK ada peringatan (periksa konfigurasi)")
    lines.append(
        f"Email diterima server SMTP lokal: {len(result.emails)}; pesan Telegram: {len(result.telegram_messages)}; "
        f"pesan WhatsApp (Cloud API lokal): {len(result.whatsapp_messages)}"
    )
    issue_alerts = [m for m in result.whatsapp_messages if (m.get("template") or {}).get("name") == "oki_peringatan"]
    if issue_alerts:
        body = [c for c in issue_alerts[0]["template"].get("components", []) if c.get("type") == "body"]
        params = [str(p.get("text", "")) for c in body for p in c.get("parameters", [])]
        lines.append(f"  WhatsApp pertama tentang isu ke petugas PUPR (templat): {params[0] if params else '-'}")
    with db.session() as session:
        report = session.scalars(select(Post).where(Post.platform == "laporan")).first()
        if report is not None:
            result.report_issue_id = session.scalar(select(IssuePost.issue_id).where(IssuePost.post_id == report.id))
            joined = session.get(Issue, result.report_issue_id) if result.report_issue_id is not None else None
            lines.append(
                "Laporan warga lewat bot Telegram (tangkapan layar grup WhatsApp, dibaca OCR): "
                + (f"masuk isu #{joined.id} {joined.title}" if joined is not None else "tidak masuk isu")
            )
            lines.append(f"  Teks terbaca: {' '.join((report.text or '').split())[:160]}")
    if result.report_reply:
        lines.append(f"  Balasan bot ke pelapor: {result.report_reply.splitlines()[0]}")
    lines.extend(performance_lines(result.config, db, START, result.end))
    lines.append(f"Selesai dalam {result.seconds:.1f} detik.")
