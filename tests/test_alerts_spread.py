"""Alerts say where an issue spreads: posts per platform and source, the first post, the top hashtags."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from sqlalchemy import select

from alerts.engine import evaluate, spread_summary
from alerts.outbox import deliver_due
from alerts.render import Links, render, spread_lines
from monitor.demo.local_http import LocalHTTPServer
from monitor.demo.smtp_sink import SmtpSink
from monitor.domain.personal_urls import author_alias
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, IssuePost, Post, Source
from tests.telegram_server import TelegramStub, alert_config, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


class _Sink(LocalHTTPServer):
    """A webhook receiver that keeps every JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler, 0)


def _source(session: Any, name: str, kind: str) -> Source:
    src = Source(name=name, kind=kind, enabled=True, cursor={})
    session.add(src)
    session.flush()
    return src


def _spread_issue(session: Any) -> Issue:
    """An issue whose first post is a TikTok video with tags, then X posts and two news items."""
    issue = make_issue(session, T0, posts=0, title="Banjir rendam Desa Sungai Pedada")
    tiktok = _source(session, "tiktok-oki", "tiktok")
    x = _source(session, "x-oki", "x")
    news = _source(session, "rss-sumeks", "rss")
    rows = [
        (tiktok, "tiktok", "@warga_asli", -120, "Air sudah sepinggang #BanjirOKI #SungaiPedada", {"hashtags": ["oki"]}),
        (x, "x", "akun2", -60, "Banjir lagi #banjiroki tolong pemkab", {}),
        (x, "x", "akun3", -50, "Jalan putus #BanjirOKI #oki", {}),
        (x, "x", "akun4", -40, "masih banjir", {}),
        (news, "rss", None, -30, "Ratusan rumah terendam di Pangkalan Lampam", {}),
        (news, "rss", None, -20, "BPBD OKI kirim perahu #BanjirOKI", {}),
    ]
    for k, (src, platform, author, minutes, text, extra) in enumerate(rows):
        at = T0 + timedelta(minutes=minutes)
        post = Post(
            source_id=src.id,
            platform=platform,
            external_id=f"s{k}",
            author_key=author,
            text=text,
            extra=extra,
            created_at=at,
            collected_at=T0,
            content_hash=f"spread{k}",
            stage="grouped",
        )
        session.add(post)
        session.flush()
        session.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=T0, post_created_at=at))
    # The government's own answer is part of the issue but not of its spread.
    answer = Post(
        source_id=news.id,
        platform="facebook",
        external_id="resp",
        text="Pemkab menurunkan tim #tanggapbencana",
        created_at=T0 - timedelta(minutes=500),
        collected_at=T0,
        content_hash="spread-resp",
        stage="grouped",
    )
    session.add(answer)
    session.flush()
    session.add(IssuePost(post_id=answer.id, issue_id=issue.id, added_at=T0, post_created_at=T0, is_response=True))
    issue.post_count = 6
    session.flush()
    return issue


def _part(mail: Any, content_type: str) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == content_type)
    raw = part.get_payload(decode=True)
    return str(raw.decode(part.get_content_charset() or "utf-8"))


def test_spread_summary_counts_platforms_sources_first_post_and_tags(db: Database) -> None:
    with db.session() as s:
        spread = spread_summary(s, _spread_issue(s))
    assert spread["platforms"] == [["x", 3], ["rss", 2], ["tiktok", 1]]
    assert spread["sources"] == [["x-oki", 3], ["rss-sumeks", 2], ["tiktok-oki", 1]]
    first = spread["first"]
    assert first["platform"] == "tiktok" and first["author"] == author_alias("@warga_asli")
    assert "warga_asli" not in json.dumps(spread)
    assert first["text"].startswith("Air sudah sepinggang")
    # Case folded, one count per post; the platform's own tag list counts too; the response's tag does not.
    tags = dict((t.lower(), n) for t, n in spread["hashtags"])
    assert tags["banjiroki"] == 4 and tags["oki"] == 2 and tags["sungaipedada"] == 1
    assert "tanggapbencana" not in tags
    assert spread["hashtags"][0][0] == "BanjirOKI"


def test_spread_lines_read_as_bahasa_and_survive_old_payloads() -> None:
    spread = {
        "platforms": [["x", 3], ["rss", 2], ["tiktok", 1], ["facebook", 1], ["youtube", 1], ["reddit", 1]],
        "sources": [["x-oki", 3], ["rss-sumeks", 2]],
        "first": {"platform": "tiktok", "author": "akun-1a2b3c4d", "at": "2026-12-01T00:00:00+00:00", "text": "Air"},
        "hashtags": [["BanjirOKI", 4], ["oki", 2]],
    }
    lines = dict(spread_lines(spread))
    assert lines["Sebaran: "] == (
        "X 3, berita 2, TikTok 1, Facebook 1, 2 platform lain 2; sumber teratas: x-oki 3, rss-sumeks 2."
    )
    assert lines["Pertama muncul: "].endswith("di TikTok oleh akun-1a2b3c4d: “Air”")
    assert "07.00" in lines["Pertama muncul: "] or "07:00" in lines["Pertama muncul: "]
    assert lines["Tagar teratas: "] == "#BanjirOKI #oki"
    assert spread_lines({}) == []


def test_every_channel_says_where_it_spreads(db: Database, config: AppConfig, tg: TelegramStub) -> None:
    with SmtpSink() as smtp, _Sink() as hook:
        cfg = alert_config(
            config,
            smtp_port=smtp.port,
            telegram_base=tg.base_url,
            receivers=[{"name": "humas", "email": ["humas@okikab.example"], "telegram": ["-1009999"],
                        "webhook": [{"url": hook.base_url + "/hook"}]}],
            route={"receiver": "humas"},
        )
        with db.session() as s:
            _spread_issue(s)
            evaluate(s, cfg, T0)
            alert = s.scalars(select(Alert)).one()
            assert alert.payload["spread"]["first"]["platform"] == "tiktok"
        report = deliver_due(db, cfg, T0)
        assert report.sent == 3, report.errors
        mail = smtp.received[0].message
        plain, html_part = (_part(mail, kind) for kind in ("text/plain", "text/html"))
        body = hook.bodies[0]
    text = tg.sent_messages()[0]["text"]
    for shown in (plain, html_part, text):
        assert "Sebaran:" in shown and "TikTok 1" in shown and "x-oki 3" in shown
        assert "Pertama muncul:" in shown and author_alias("@warga_asli") in shown
        assert "#BanjirOKI" in shown
        assert "warga_asli" not in shown
    assert body["spread"]["platforms"][0] == ["x", 3]


def test_render_escapes_spread_text() -> None:
    spread = {
        "platforms": [["x", 1]],
        "sources": [["<b>evil</b>", 1]],
        "first": {"platform": "x", "author": "akun-1", "at": "2026-12-01T00:00:00+00:00", "text": "<script>&"},
        "hashtags": [["a<b", 1]],
    }
    out = render({"kind": "first", "issue": {"id": 1, "title": "t"}, "spread": spread}, Links(dashboard="http://d"))
    assert "<script>" not in out.telegram and "&lt;script&gt;&amp;" in out.telegram
    assert "<b>evil</b>" not in out.html
