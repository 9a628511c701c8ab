"""Dashboard pages: board, issue (escaping, actions, corrections), agency, trends and exports, sources, admin."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, AuditLog, Issue, IssueEvent, IssuePost, LabelCorrection, User
from tests import web_support
from tests.web_support import XSS_IMG, XSS_SCRIPT, Seeded, csrf_from, dashboard, seed

# The dashboard tests' shared fixture: the seeded app signed in as the communications team.
env = web_support.kominfo_env


class _Scan(HTMLParser):
    """Collects script tags and event-handler attributes, the two ways injected text would run."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name == "href" and value:
                self.hrefs.append(value)


def test_board_ranks_rising_issue_first_with_its_facts(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    html = client.get("/").text
    first = html.index(f'data-issue="{s.rising_id}"')
    assert first < html.index(f'data-issue="{s.pdam_id}"') < html.index(f'data-issue="{s.quiet_id}"')
    row = html[first : html.index("</tr>", first)]
    assert "Naik" in row and "0,9" in row and "±1,6 jam" in row and "Dinas PUPR OKI" in row
    assert "Kayu Agung" in row and "Belum diterima" in row
    assert "<polyline" in row  # sparkline of its growth
    # An agency never told about an issue is not "late to acknowledge" it.
    quiet = html[html.index(f'data-issue="{s.quiet_id}"') :]
    quiet = quiet[: quiet.index("</tr>")]
    assert "Belum diperingatkan" in quiet and "Belum diterima" not in quiet
    partial = client.get("/partials/board").text
    assert "<html" not in partial and f'data-issue="{s.rising_id}"' in partial


def test_hostile_post_text_is_shown_as_text(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    html = client.get(f"/issues/{s.rising_id}").text
    scan = _Scan()
    scan.feed(html)
    assert scan.scripts == [{"src": "/static/app.js", "defer": None}]
    assert scan.handlers == []
    assert "&lt;script&gt;document.title=" in html
    assert "&lt;img src=x onerror=" in html
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert not any(h.lower().startswith("javascript:") for h in scan.hrefs)
    # Real links to originals stay, without the author's handle (monitor/domain/personal_urls.py).
    assert "https://mastodon.example/api/v1/statuses/2" in scan.hrefs and "@warga" not in html
    assert "rawhandle_" not in html  # authors only as aliases


def test_issue_page_shows_chart_alerts_and_is_audited(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    html = client.get(f"/issues/{s.rising_id}").text
    assert "Garis dasar" in html and 'class="chart"' in html
    # Engagement (thousands) and the 0-100 score get a chart each: on one axis the score was a flat line.
    assert html.count('class="chart"') == 3 and "Skor dari waktu ke waktu" in html
    assert "pupr@okikab.example" in html and "<td>Terkirim</td>" in html and ">sent<" not in html
    client.app.state.web.audit_writer.flush()  # type: ignore[attr-defined]  # views are written in batches
    with db.session() as session:
        views = list(session.scalars(select(AuditLog).where(AuditLog.action == "view_issue")))
    assert [v.target for v in views] == [f"issue:{s.rising_id}"] and views[0].actor == "kominfo"


def test_acknowledge_resolve_from_the_issue_page(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    r = client.post(f"/issues/{s.rising_id}/ack", data={"csrf_token": token})
    assert r.status_code == 200 and "Diterima oleh kominfo" in r.text
    assert "Diterima" in client.get("/").text
    ask = client.post(f"/issues/{s.rising_id}/resolve", data={"csrf_token": token})
    # Not yet: closing an issue asks first, on a page of its own (no script needed).
    assert ask.status_code == 200 and "Tutup isu" in ask.text and 'name="konfirmasi" value="ya"' in ask.text
    with db.session() as session:
        still = session.get(Issue, s.rising_id)
        assert still is not None and still.status == "open"
    client.post(f"/issues/{s.rising_id}/resolve", data={"csrf_token": token, "konfirmasi": "ya"})
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        alert = session.get(Alert, s.alert_id)
        kinds = list(session.scalars(select(IssueEvent.kind).where(IssueEvent.issue_id == s.rising_id)))
    assert issue is not None and issue.status == "resolved" and issue.acknowledged_by == "kominfo"
    assert alert is not None and alert.acknowledged_at is not None
    assert "acknowledged" in kinds and "resolved" in kinds


def test_merge_and_split(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    ask = client.post(f"/issues/{s.rising_id}/merge", data={"csrf_token": token, "others": f"#{s.quiet_id}"})
    assert f"#{s.quiet_id} " in ask.text and "Ya, gabungkan" in ask.text and "Isu digabung" not in ask.text
    with db.session() as session:
        quiet = session.get(Issue, s.quiet_id)
        assert quiet is not None and quiet.status == "open"
    r = client.post(
        f"/issues/{s.rising_id}/merge", data={"csrf_token": token, "others": str(s.quiet_id), "konfirmasi": "ya"}
    )
    assert "Isu digabung" in r.text
    bad = client.post(f"/issues/{s.rising_id}/merge", data={"csrf_token": token, "others": "abc"})
    assert "tidak valid" in bad.text
    r = client.post(
        f"/issues/{s.rising_id}/split",
        data={"csrf_token": token, "post_id": [str(p) for p in s.xss_post_ids]},
    )
    assert "dipisah ke isu baru" in r.text
    with db.session() as session:
        quiet = session.get(Issue, s.quiet_id)
        moved = set(session.scalars(select(IssuePost.issue_id).where(IssuePost.post_id.in_(s.xss_post_ids))))
    assert quiet is not None and quiet.status == "merged" and quiet.merged_into_id == s.rising_id
    assert len(moved) == 1 and moved != {s.rising_id}


def test_label_correction_is_stored_for_retraining(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    url = f"/issues/{s.rising_id}/labels"
    r = client.post(url, data={"csrf_token": token, "post_id": s.plain_post_id, "field": "topic", "value": "bencana"})
    assert "Koreksi label disimpan" in r.text
    r = client.post(url, data={"csrf_token": token, "post_id": s.plain_post_id, "field": "topic", "value": "x"})
    assert "tidak dikenal" in r.text
    r = client.post(url, data={"csrf_token": token, "post_id": s.plain_post_id, "field": "relevant", "value": "tidak"})
    with db.session() as session:
        rows = list(session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)))
        user = session.scalar(select(User).where(User.username == "kominfo"))
    assert [(c.field, c.value) for c in rows] == [("topic", "bencana"), ("relevant", "false")]
    assert rows[0].text and "Lintas Timur" in rows[0].text and user is not None and rows[0].user_id == user.id
    assert "bencana" in client.get(f"/issues/{s.rising_id}").text


def test_trends_page_and_exports(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, db = env
    html = client.get("/trends?bucket=week&topic=infrastruktur").text
    assert 'class="heatmap"' in html and "Kayu Agung" in html
    assert "Pedamaran</td>" not in html  # the topic filter applies to rows
    assert "Dinas PUPR OKI</td>" in html and "<td>pupr</td>" not in html  # agencies by name, not code
    four_weeks = client.get("/trends?bucket=week&topic=infrastruktur&start=2026-10-05&end=2026-11-01").text
    chart = four_weeks[four_weeks.index('<svg class="chart"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count("<circle") == 4  # every week of the range is drawn, empty ones too
    assert "export-csv" in html and "topic=infrastruktur" in html
    warn = client.get("/trends?topic=bogus&start=2026-99-01").text
    assert "tidak dikenal" in warn and "tidak valid" in warn
    r = client.get("/trends/export?format=csv&agency=pupr")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Periode mulai (WIB)" and len(rows) > 1
    assert {row[3] for row in rows[1:]} == {"Dinas PUPR OKI"}
    assert all(not row[1].startswith("=") for row in rows[1:])  # no formula injection
    r = client.get("/trends/export?format=xlsx&kecamatan=Pedamaran")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "Periode mulai (WIB)" and len(values) > 1 and {v[2] for v in values[1:]} == {"Pedamaran"}
    with db.session() as session:
        exports = list(session.scalars(select(AuditLog).where(AuditLog.action == "export")))
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx"] and exports[0].detail["agency"] == "pupr"


def test_agency_page_shows_response_times(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    client.post(f"/issues/{s.rising_id}/ack", data={"csrf_token": token})
    html = client.get("/agency/pupr").text
    assert "Dinas PUPR OKI" in html and "Jalan rusak di Kayu Agung" in html
    assert "10,0 jam" in html  # first post 10 h before the (simulated) acknowledgement
    assert client.get("/agency/nope").status_code == 404


def test_sources_metrics_and_docs(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, _db = env
    assert "mastodon-oki" in client.get("/sources").text
    metrics = client.get("/metrics").text
    assert 'oki_source_items_total{source="mastodon-oki"} 42.0' in metrics
    assert 'oki_alert_deliveries{status="sent"} 1.0' in metrics
    assert 'oki_queue_depth{queue="posts_new"} 0.0' in metrics
    assert "oki_classify_seconds" in metrics
    docs = client.get("/docs").text
    assert "/api/trends" in docs and "cdn" not in docs.lower()
    assert "/api/ingest" in client.get("/openapi.json").json()["paths"]


def test_admin_manages_users(config: AppConfig, sqlite_db: Database) -> None:
    seed(sqlite_db)
    with dashboard(config, sqlite_db, "admin") as client:
        token = csrf_from(client.get("/admin/users").text)
        r = client.post(
            "/admin/users",
            data={
                "csrf_token": token,
                "username": "Dinsos1",
                "password": "kata-sandi-baru-1",
                "role": "agency",
                "agency": "dinsos",
            },
        )
        assert "Pengguna ditambahkan" in r.text and "dinsos1" in r.text
        r = client.post(
            "/admin/users",
            data={"csrf_token": token, "username": "x2", "password": "pendek", "role": "comms", "agency": ""},
        )
        assert "minimal 10" in r.text
        with sqlite_db.session() as session:
            user = session.scalar(select(User).where(User.username == "dinsos1"))
            assert user is not None and user.agency_code == "dinsos"
            uid = user.id
        ask = client.post(f"/admin/users/{uid}/active", data={"csrf_token": token})
        assert "Nonaktifkan dinsos1?" in ask.text
        with sqlite_db.session() as session:
            user = session.get(User, uid)
            assert user is not None and user.active
        client.post(f"/admin/users/{uid}/active", data={"csrf_token": token, "konfirmasi": "ya"})
        with sqlite_db.session() as session:
            user = session.get(User, uid)
            assert user is not None and not user.active


def test_board_shows_overdue_badge_until_the_agency_acts(config: AppConfig, sqlite_db: Database) -> None:
    """An issue past its LAPOR! response deadline carries a badge on the board; acknowledging clears it."""
    from datetime import timedelta

    from alerts.engine import deadlines_payload
    from alerts.sla import Clocks, WorkCalendar, deadlines
    from tests.web_support import NOW

    s = seed(sqlite_db)
    with sqlite_db.session() as session:
        alert = session.get(Alert, s.alert_id)
        assert alert is not None
        # Told twelve days ago (no holidays, to keep the arithmetic plain): response and process clocks ran out.
        due = deadlines(NOW - timedelta(days=12), Clocks(3, 5, 10), WorkCalendar(national=False))
        alert.receiver = "agency:pupr"  # the agency's own clocks (comms' copy carries none on the board)
        alert.respond_due_at = due.respond
        alert.payload = {"deadlines": deadlines_payload(due)}
    with dashboard(config, sqlite_db, "kominfo") as client:
        board = client.get("/partials/board").text
        assert "Lewat batas tanggapan awal, tindak lanjut" in board, board
        assert board.count("Lewat batas") == 1  # the issues never told carry none
        token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
        client.post(f"/issues/{s.rising_id}/ack", data={"csrf_token": token})
        board = client.get("/partials/board").text
        assert "Lewat batas tindak lanjut" in board and "tanggapan awal" not in board
