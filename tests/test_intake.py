"""'Lapor ke monitor': reports forwarded to the Telegram bot (local Bot API stub) become `laporan` posts,
join the right issue, and the forwarder is answered; refusals (rate limit, size, allow-list) and
hostile files lose nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from sqlalchemy import select

from alerts.channels.telegram import poll_updates
from collectors.base import RawItem
from monitor.demo.local_http import LocalHTTPServer
from monitor.demo.screenshot import chat_screenshot
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.service import MonitorService
from monitor.stages.ingest import Ingestor
from monitor.store.db import Database
from monitor.store.models import IssuePost, LaporanInbox, Post
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config

T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
CITIZEN = 777001
DRAWN = "Jalan di Desa Sukamulya Kecamatan Tanjung Lubuk rusak parah, berlubang dan tergenang air, motor warga jatuh"
SEED = [
    "Jalan di Desa Sukamulya Kecamatan Tanjung Lubuk rusak parah dan berlubang, tolong diperbaiki",
    "Jalan Desa Sukamulya Tanjung Lubuk rusak berlubang, tergenang air kalau hujan, warga susah lewat",
    "Kapan jalan rusak di Sukamulya Tanjung Lubuk diperbaiki? Lubangnya makin besar, motor jatuh",
]
OTHER = [
    "Lampu penerangan jalan di Kayuagung mati sudah seminggu, gelap dan rawan",
    "PJU di Kelurahan Kutaraya Kayuagung padam, mohon diperbaiki",
]


@pytest.fixture
def tg(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with TelegramStub(TOKEN) as stub:
        yield stub


def intake_config(config: AppConfig, tg: TelegramStub, **settings: Any) -> AppConfig:
    cfg = alert_config(config, telegram_base=tg.base_url, smtp={"enabled": False})
    data = cfg.model_dump(by_alias=True)
    data["sources"] = [
        {
            "name": "laporan",
            "kind": "laporan",
            "interval_seconds": 60,
            "settings": {"allow_private_addresses": True, **settings},
        }
    ]
    data["alerts"]["dashboard_url"] = "https://monitor.okikab.example"
    return AppConfig.model_validate(data)


def seed(db: Database, cfg: AppConfig, texts: list[str], at: datetime, source: str = "warga-x") -> None:
    ingestor = Ingestor(cfg)
    with db.session() as s:
        row = ingestor.source_row(s, source, "x")
        items = [
            RawItem(source, "x", f"{source}-{abs(hash(t)) % 10**9}", t, at - timedelta(minutes=30 - i), author=f"w{i}")
            for i, t in enumerate(texts)
        ]
        ingestor.store(s, row, items, at)


def words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def replies_to(tg: TelegramStub, chat: int) -> list[str]:
    return [str(m["text"]) for m in tg.sent_messages() if str(m["chat_id"]) == str(chat)]


def test_forwarded_screenshot_joins_the_issue_and_the_forwarder_is_told(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    cfg = intake_config(config, tg)
    clock = SimulatedClock(T0)
    seed(db, cfg, SEED + OTHER, T0)
    service = MonitorService(cfg, db, clock)
    try:
        service.pipeline()
        with db.session() as s:
            road_issue = s.scalar(
                select(IssuePost.issue_id).join(Post, Post.id == IssuePost.post_id).where(Post.text == SEED[0])
            )
        assert road_issue is not None

        clock.advance(timedelta(minutes=5))
        message_id = tg.user_sends(CITIZEN, photo=chat_screenshot(DRAWN), text="ini dari grup WA desa")
        assert poll_updates(db, cfg, clock.now()) == 1
        assert replies_to(tg, CITIZEN) == [], "no reply before the report is placed"
        report = service.collect("laporan")
        assert report.ok and report.ingest is not None and report.ingest.stored == 1, report
        service.pipeline()
        with db.session() as s:
            post = s.scalars(select(Post).where(Post.platform == "laporan")).one()
            assert words(DRAWN) <= words(post.text or ""), post.text
            assert "ini dari grup WA desa" in (post.text or "")
            assert post.author_key and str(CITIZEN) not in post.author_key
            joined = s.scalar(select(IssuePost.issue_id).where(IssuePost.post_id == post.id))
            row = s.scalars(select(LaporanInbox)).one()
            assert (row.status, row.reply_status, row.issue_id, row.reply_to) == ("disimpan", "terkirim", joined, None)
            assert row.payload == {}, "the text lives in the post alone (the retention purge clears it there)"
        assert joined == road_issue
        [reply] = replies_to(tg, CITIZEN)
        assert f"OKI-{road_issue}" in reply and f"https://monitor.okikab.example/issues/{road_issue}" in reply
        sent = tg.sent_messages()[-1]
        assert sent["reply_parameters"]["message_id"] == message_id

        # A second pipeline run answers nobody twice.
        service.pipeline()
        assert len(replies_to(tg, CITIZEN)) == 1
        # The retention period removes the queue rows with the posts' text.
        clock.advance(timedelta(days=cfg.privacy.retention_days + 1))
        service.purge()
        with db.session() as s:
            assert s.scalars(select(LaporanInbox)).all() == []
    finally:
        service.close()


def test_unrelated_report_is_answered_with_the_reason(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    cfg = intake_config(config, tg)
    clock = SimulatedClock(T0)
    service = MonitorService(cfg, db, clock)
    try:
        tg.user_sends(CITIZEN, text="Selamat pagi, resep rendang yang enak pakai santan kental ya")
        poll_updates(db, cfg, clock.now())
        assert service.collect("laporan").ok
        service.pipeline()
        [reply] = replies_to(tg, CITIZEN)
        assert "tidak terkait OKI" in reply
    finally:
        service.close()


def test_refusals_rate_limit_size_and_allow_list(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    cfg = intake_config(config, tg, per_sender_per_hour=2, max_image_bytes=50_000)
    clock = SimulatedClock(T0)
    service = MonitorService(cfg, db, clock)
    try:
        tg.user_sends(CITIZEN, photo=b"x" * 10, declared_size=900_000)  # too large, refused unread
        for n in range(4):
            tg.user_sends(CITIZEN, text=f"Jalan rusak di Desa Sukamulya Tanjung Lubuk, laporan ke-{n}")
        poll_updates(db, cfg, clock.now())
        with db.session() as s:
            rows = s.scalars(select(LaporanInbox).order_by(LaporanInbox.id)).all()
            statuses = [(r.status, r.reply_status) for r in rows]
        assert statuses == [
            ("ditolak", "menunggu"),  # size
            ("baru", "menunggu"),
            ("ditolak", "menunggu"),  # the limit reached: told once
            ("ditolak", "tidak_perlu"),  # then silence
            ("ditolak", "tidak_perlu"),
        ]
        service.reply_reports()
        said = replies_to(tg, CITIZEN)
        assert len(said) == 2
        assert "terlalu besar" in said[0] and "per jam" in said[1]
        assert tg.calls("getFile") == [], "a refused file is never downloaded"
        # An hour later the sender may write again.
        clock.advance(timedelta(hours=1, minutes=1))
        tg.user_sends(CITIZEN, text="Jalan rusak di Desa Sukamulya Tanjung Lubuk belum diperbaiki")
        poll_updates(db, cfg, clock.now())
        with db.session() as s:
            assert s.scalars(select(LaporanInbox).order_by(LaporanInbox.id.desc())).first().status == "baru"  # type: ignore[union-attr]
    finally:
        service.close()

    staff = intake_config(config, tg, mode="staff", allow=["@camat_pampangan", "4242"])
    tg.user_sends(5555, text="Jalan rusak di Desa Bangsal Pampangan", username="orang_lain")
    tg.user_sends(4242, text="Jembatan di Desa Bangsal Pampangan putus", username=None)
    tg.user_sends(9191, text="Jembatan di Desa Bangsal Pampangan putus", username="Camat_Pampangan")
    poll_updates(db, staff, T0 + timedelta(hours=3))
    with db.session() as s:
        last = s.scalars(select(LaporanInbox).order_by(LaporanInbox.id.desc()).limit(3)).all()[::-1]
        assert [r.status for r in last] == ["ditolak", "baru", "baru"]
        assert "petugas yang terdaftar" in (last[0].reason or "")


def test_hostile_files_are_answered_and_lose_nothing_else(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    cfg = intake_config(config, tg)
    clock = SimulatedClock(T0)
    service = MonitorService(cfg, db, clock)
    try:
        tg.user_sends(CITIZEN, document=(b"MZ\x90\x00 this is an exe", "image/png"))  # lies about its type
        tg.user_sends(CITIZEN + 1, photo=chat_screenshot(DRAWN))
        tg.user_sends(CITIZEN + 2, document=(b"%PDF-1.4", "application/pdf"))
        poll_updates(db, cfg, clock.now())
        assert service.collect("laporan").ok
        service.pipeline()
        with db.session() as s:
            rows = s.scalars(select(LaporanInbox).order_by(LaporanInbox.id)).all()
            assert [r.status for r in rows] == ["gagal", "disimpan", "ditolak"]
            assert "bukan gambar" in (rows[0].reason or "")
            assert (
                s.scalars(select(Post).where(Post.platform == "laporan")).one().external_id == f"telegram-{rows[1].id}"
            )
        assert "belum bisa kami baca" in replies_to(tg, CITIZEN)[0]
        assert "application/pdf" in replies_to(tg, CITIZEN + 2)[0]
    finally:
        service.close()


def test_a_redelivered_update_is_queued_once_and_group_chats_are_no_reports(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    from alerts.channels.telegram import handle_update

    cfg = intake_config(config, tg)
    private = {
        "message_id": 31,
        "from": {"id": CITIZEN, "is_bot": False, "first_name": "Warga"},
        "chat": {"id": CITIZEN, "type": "private"},
        "date": int(T0.timestamp()),
        "text": "Jalan di Desa Sukamulya Tanjung Lubuk rusak",
    }
    group = {**private, "message_id": 32, "chat": {"id": -1009999, "type": "supergroup"}}
    with db.session() as s:
        assert handle_update(s, cfg, {"update_id": 1, "message": private}, T0)
        # getUpdates re-read after a crash before the offset was stored: the same message again.
        assert not handle_update(s, cfg, {"update_id": 1, "message": private}, T0)
        assert not handle_update(s, cfg, {"update_id": 2, "message": group}, T0)
    with db.session() as s:
        assert len(s.scalars(select(LaporanInbox)).all()) == 1


class NewsPage(LocalHTTPServer):
    """A public news page with OpenGraph tags (and a count of the requests it got)."""

    PAGE = (
        b"<html><head><title>Berita</title>"
        b'<meta property="og:title" content="Jembatan Gantung Desa Bangsal Pampangan Putus">'
        b'<meta property="og:description" content="Warga Desa Bangsal, Kecamatan Pampangan, terisolasi.">'
        b'<meta property="og:site_name" content="Berita Sumsel"></head><body>isi</body></html>'
    )

    def __init__(self) -> None:
        self.hits = 0
        page = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                page.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page.PAGE)))
                self.end_headers()
                self.wfile.write(page.PAGE)

        self._serve(Handler)


def test_a_forwarded_link_is_unfurled_and_private_addresses_are_not_fetched(
    db: Database, config: AppConfig, tg: TelegramStub
) -> None:
    with NewsPage() as news:
        link = f"{news.base_url}/berita/jembatan-bangsal"
        # The shipped behaviour: a link into the server's own network is never fetched.
        cfg = intake_config(config, tg, allow_private_addresses=False)
        service = MonitorService(cfg, db, SimulatedClock(T0))
        try:
            tg.user_sends(CITIZEN, text=f"Lihat ini, jembatan di Bangsal Pampangan putus {link}")
            poll_updates(db, cfg, T0)
            assert service.collect("laporan").ok
        finally:
            service.close()
        assert news.hits == 0
        with db.session() as s:
            post = s.scalars(select(Post).where(Post.platform == "laporan")).one()
            assert post.url == link and "link" not in post.extra

        # A public page (the test server stands in for one): its OpenGraph title and description are kept.
        cfg = intake_config(config, tg)
        service = MonitorService(cfg, db, SimulatedClock(T0))
        try:
            tg.user_sends(CITIZEN + 5, text=f"jembatan putus {link}")
            poll_updates(db, cfg, T0)
            assert service.collect("laporan").ok
        finally:
            service.close()
        assert news.hits == 1
        with db.session() as s:
            post = s.scalars(select(Post).where(Post.platform == "laporan").order_by(Post.id.desc())).first()
            assert post is not None
            assert "Jembatan Gantung Desa Bangsal Pampangan Putus" in (post.text or "")
            assert "Warga Desa Bangsal, Kecamatan Pampangan, terisolasi." in (post.text or "")
            assert post.title == "Jembatan Gantung Desa Bangsal Pampangan Putus"
            assert post.extra["link"]["site"] == "Berita Sumsel"
