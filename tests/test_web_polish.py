"""Dashboard safety and polish: one-shot messages, confirmations, error pages, gzip, navigation, API tokens, roles."""

from __future__ import annotations

import csv
import gzip
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from monitor.kernel.clock import format_wib, to_wib
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog, Post
from monitor.web import exports, flash
from monitor.web.app import create_app
from monitor.web.queries import TrendRow
from tests.web_support import NOW, Seeded, csrf_from, flash_after, login, make_clock, seed, stored_user


@pytest.fixture
def app_env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[FastAPI, Database, Seeded]]:
    seeded = seed(sqlite_db)
    yield create_app(config, sqlite_db, make_clock()), sqlite_db, seeded


def _client(app: FastAPI, username: str | None = None) -> TestClient:
    client = TestClient(app)
    if username:
        login(client, username)
    return client


# ---------------------------------------------------------------- one-shot messages


def test_a_message_cannot_be_put_on_a_page_through_the_url(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, s = app_env
    admin = _client(app, "admin")
    bait = "Akun Anda diblokir, hubungi 0812-0000"
    for path in (f"/admin/users?msg={bait}", f"/issues/{s.rising_id}?msg={bait}", f"/silences?msg={bait}"):
        page = admin.get(path)
        assert page.status_code == 200 and "0812-0000" not in page.text and 'id="flash"' not in page.text, path
    # Nor through a cookie the server did not sign.
    admin.cookies.set(flash.COOKIE, "eyJ0IjoiaGFjayIsImUiOmZhbHNlfQ.forged.sig")
    assert 'id="flash"' not in admin.get("/admin/users").text


def test_a_message_shows_once_and_errors_are_announced_as_errors(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, db, _s = app_env
    admin = _client(app, "admin")
    token = csrf_from(admin.get("/admin/users").text)
    me = stored_user(db, "admin")
    refused = admin.post(f"/admin/users/{me.id}/active", data={"csrf_token": token}, follow_redirects=False)
    assert refused.headers["location"] == "/admin/users"  # nothing of the message in the URL
    assert flash_after(admin, refused) == ("Gagal: Anda tidak bisa menonaktifkan akun sendiri.", True)
    assert 'id="flash"' not in admin.get("/admin/users").text  # shown once
    comms = _client(app, "kominfo")
    ok = comms.post(
        "/silences",
        data={
            "csrf_token": csrf_from(comms.get("/silences").text),
            "topic": "infrastruktur",
            "kecamatan": "Kayu Agung",
            "hours": "24",
            "note": "sudah ditangani",
        },
        follow_redirects=False,
    )
    assert flash_after(comms, ok) == ("Pembisuan dibuat.", False)


# ---------------------------------------------------------------- confirmation, tokens, roles


def test_admin_creates_and_revokes_an_api_token_shown_once(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, db, _s = app_env
    admin = _client(app, "admin")
    target = stored_user(db, "kominfo")
    token = csrf_from(admin.get("/admin/users").text)
    page = admin.post(f"/admin/users/{target.id}/token", data={"csrf_token": token})
    assert page.status_code == 200 and "hanya ditampilkan sekali" in page.text
    assert page.headers["cache-control"] == "no-store"
    secret_token = page.text.split('id="api-token" class="token" readonly value="')[1].split('"')[0]
    assert secret_token.startswith("oki_")
    assert secret_token not in admin.get("/admin/users").text  # never shown again
    api = TestClient(app)
    bearer = {"Authorization": f"Bearer {secret_token}"}
    assert api.get("/api/issues", headers=bearer).status_code == 200

    # Revoking asks first; until confirmed the token keeps working.
    ask = admin.post(f"/admin/users/{target.id}/token/revoke", data={"csrf_token": token})
    assert "Cabut token API kominfo?" in ask.text and 'name="konfirmasi" value="ya"' in ask.text
    assert api.get("/api/issues", headers=bearer).status_code == 200
    done = admin.post(
        f"/admin/users/{target.id}/token/revoke", data={"csrf_token": token, "konfirmasi": "ya"}, follow_redirects=False
    )
    assert flash_after(admin, done) == ("Token API kominfo dicabut.", False)
    assert api.get("/api/issues", headers=bearer).status_code == 401
    with db.session() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "user_token_created" in actions and "user_token_revoked" in actions
    # Creating again for a user who has a token asks first (the old one would stop working).
    admin.post(f"/admin/users/{target.id}/token", data={"csrf_token": token})
    again = admin.post(f"/admin/users/{target.id}/token", data={"csrf_token": token})
    assert "Ganti token API kominfo?" in again.text


def test_token_pages_are_for_admins_only(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, db, _s = app_env
    comms = _client(app, "kominfo")
    token = csrf_from(comms.get("/").text)
    target = stored_user(db, "kominfo")
    assert comms.post(f"/admin/users/{target.id}/token", data={"csrf_token": token}).status_code == 403
    assert stored_user(db, "kominfo").api_token_hash is None


def test_role_change_from_opd_to_analyst_clears_the_agency(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, db, _s = app_env
    admin = _client(app, "admin")
    pdam = stored_user(db, "pdam")
    assert (pdam.role, pdam.agency_code) == ("agency", "pdam")
    # The form still has the old agency selected: that must not block the change.
    r = admin.post(
        f"/admin/users/{pdam.id}/role",
        data={"csrf_token": csrf_from(admin.get("/admin/users").text), "role": "analyst", "agency": "pdam"},
        follow_redirects=False,
    )
    assert flash_after(admin, r) == ("Peran pdam diubah; sesinya diakhiri.", False)
    changed = stored_user(db, "pdam")
    assert (changed.role, changed.agency_code) == ("analyst", None)


# ---------------------------------------------------------------- error pages, layout, gzip


def test_error_pages_are_in_bahasa_inside_the_layout(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, _s = app_env
    comms = _client(app, "kominfo")
    missing = comms.get("/tidak-ada")
    assert missing.status_code == 404
    assert "Halaman tidak ditemukan" in missing.text and "Not Found" not in missing.text
    assert 'aria-label="Navigasi utama"' in missing.text and 'role="alert"' in missing.text
    assert '<html lang="id">' in missing.text and 'href="#isi"' in missing.text
    assert comms.post("/").status_code == 405 and "Method Not Allowed" not in comms.post("/").text
    assert comms.get("/api/tidak-ada").json() == {
        "detail": "Alamat ini tidak ada. Periksa tautannya atau kembali ke papan isu."
    }
    analis = _client(app, "analis")
    denied = analis.get("/admin/users")
    assert denied.status_code == 403 and "Akses ditolak" in denied.text and 'aria-label="Navigasi utama"' in denied.text
    stranger = TestClient(app).get("/tidak-ada")
    assert stranger.status_code == 404 and 'href="/login"' in stranger.text and "Navigasi utama" not in stranger.text


def test_server_error_page_in_bahasa(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, _s = app_env

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    login(client, "kominfo")
    r = client.get("/boom")
    assert r.status_code == 500 and "Terjadi kesalahan di server" in r.text and "a bug" not in r.text
    assert "Navigasi utama" in r.text and "default-src 'self'" in r.headers["content-security-policy"]


def test_navigation_marks_the_current_page_and_has_a_skip_link(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, s = app_env
    comms = _client(app, "kominfo")
    trends = comms.get("/trends").text
    assert '<a href="/trends" aria-current="page">Tren</a>' in trends and trends.count('aria-current="page"') == 1
    assert '<main id="isi"' in trends and '<a class="skip-link" href="#isi">' in trends
    issue = comms.get(f"/issues/{s.rising_id}").text
    assert '<a href="/" aria-current="page">Papan</a>' in issue


def test_board_says_auto_refresh_only_with_script_and_stamps_in_one_format(
    app_env: tuple[FastAPI, Database, Seeded],
) -> None:
    app, _db, _s = app_env
    comms = _client(app, "kominfo")
    board = comms.get("/").text
    assert '<span id="board-auto" hidden>' in board and "<noscript>" in board
    assert f'<span id="board-updated">{format_wib(NOW)}</span>' in board
    rows = comms.get("/partials/board")
    assert rows.headers["x-board-updated"] == format_wib(NOW)
    unchanged = comms.get("/partials/board", headers={"If-None-Match": rows.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.headers["x-board-updated"] == format_wib(NOW)


def test_html_css_and_json_are_gzipped_when_asked(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, _s = app_env
    comms = _client(app, "kominfo")
    for path in ("/", "/static/app.css", "/api/issues", "/trends"):
        r = comms.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", path
        assert "accept-encoding" in r.headers.get("vary", "").lower(), path
        plain = comms.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == r.content, path
    # The compressed bytes really are gzip, and smaller (the client decodes them above; read them raw here).
    with comms.stream("GET", "/", headers={"Accept-Encoding": "gzip"}) as raw:
        body = b"".join(raw.iter_raw())
    page = comms.get("/", headers={"Accept-Encoding": "identity"}).content
    assert gzip.decompress(body) == page and len(body) < len(page) / 3
    xlsx = comms.get("/trends/export?format=xlsx", headers={"Accept-Encoding": "gzip"})
    assert xlsx.status_code == 200 and "content-encoding" not in xlsx.headers  # a zip already


# ---------------------------------------------------------------- exports


def test_trend_xlsx_has_real_times_names_bahasa_headers_frozen_and_filtered(
    app_env: tuple[FastAPI, Database, Seeded],
) -> None:
    app, _db, _s = app_env
    comms = _client(app, "kominfo")
    query = "start=2026-10-01&end=2026-11-30&bucket=day"
    book = load_workbook(io.BytesIO(comms.get(f"/trends/export?format=xlsx&{query}").content))
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == exports.HEADER and all(c.font.b for c in sheet[1])
    assert sheet.auto_filter.ref == f"A1:H{len(rows)}" and len(rows) > 10
    for row in rows[1:]:
        assert isinstance(row[0], datetime) and row[0].hour == 0  # a WIB day starts at 00:00 WIB
        assert all(isinstance(v, int) for v in row[5:]), row
    assert {r[3] for r in rows[1:]} == {"Dinas PUPR OKI", "PDAM Tirta Agung OKI"}  # names, not codes
    assert {"Infrastruktur", "Air bersih"} <= {r[1] for r in rows[1:]}
    assert sheet.cell(2, 1).number_format == exports.XLSX_TIME
    # The CSV has the same columns and values, times written as the WIB date-time.
    table = list(csv.reader(io.StringIO(comms.get(f"/trends/export?format=csv&{query}").content.decode("utf-8-sig"))))
    assert tuple(table[0]) == exports.HEADER and len(table) == len(rows)
    for line, row in zip(table[1:], rows[1:], strict=True):
        assert line[0] == row[0].strftime("%Y-%m-%d %H:%M") and line[1:5] == [
            exports.plain_cell(v or "") for v in row[1:5]
        ]
        assert [int(v) for v in line[5:]] == list(row[5:])


def test_engagement_is_a_whole_number_and_times_are_wib() -> None:
    when = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)  # 4 Nov 00:00 WIB
    row = TrendRow(when, "air_bersih", "Pedamaran", "pdam", "mastodon", 3, 2, 53.58)
    sheet = load_workbook(io.BytesIO(exports.to_xlsx([row], lambda code: f"Nama {code}"))).active
    assert sheet is not None
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        (datetime(2026, 11, 4, 0, 0), "Air bersih", "Pedamaran", "Nama pdam", "mastodon", 3, 2, 54)
    ]
    text = exports.to_csv([row], lambda code: f"Nama {code}").decode("utf-8-sig")
    assert text.splitlines()[1] == "2026-11-04 00:00,Air bersih,Pedamaran,Nama pdam,mastodon,3,2,54"


def test_post_xlsx_times_are_datetimes_in_wib(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, db, s = app_env
    analis = _client(app, "analis")
    sheet = load_workbook(
        io.BytesIO(analis.get(f"/api/posts/export?issue_id={s.rising_id}&format=xlsx").content)
    ).active
    assert sheet is not None and sheet.freeze_panes == "A2" and sheet.auto_filter.ref is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == exports.POST_HEADER
    with db.session() as session:
        created = {p.id: p.created_at for p in session.scalars(select(Post))}
    for row in rows[1:]:
        assert row[2] == to_wib(created[row[0]]).replace(tzinfo=None)
        assert all(isinstance(v, int) for v in row[8:12]) and row[12] in ("ya", "tidak")


# ---------------------------------------------------------------- API documentation


ENGLISH = re.compile(r"\b(the|and|with|your|of|issues|posts|returns?)\b", re.IGNORECASE)


def test_api_docs_are_in_bahasa_with_every_parameter_described(app_env: tuple[FastAPI, Database, Seeded]) -> None:
    app, _db, _s = app_env
    analis = _client(app, "analis")
    spec = analis.get("/openapi.json").json()
    assert not ENGLISH.search(spec["info"]["description"]) and "oki-monitor" not in spec["info"]["description"]
    page = html.unescape(analis.get("/docs").text)
    operations = [(path, op) for path, ops in spec["paths"].items() for op in ops.values()]
    assert len(operations) >= 15
    for path, op in operations:
        for text in (op.get("summary"), op.get("description")):
            assert text and not ENGLISH.search(text.replace("Bearer", "")), (path, text)
            assert text in page, (path, text)
        for param in op.get("parameters", []):
            said = param.get("description")
            assert said and not ENGLISH.search(said), (path, param["name"], said)
            assert said in page, (path, param["name"])


def test_every_error_message_in_the_templates_is_announced() -> None:
    """An error looks like one (class ``error``) and screen readers announce it (``role="alert"``)."""
    folder = Path(exports.__file__).parent / "templates"
    tags = [
        (path.name, tag)
        for path in sorted(folder.glob("*.html"))
        for tag in re.findall(
            r"<[a-z]+ [^>]*class=\"(?:[\w -]* )?error(?: [\w -]*)?\"[^>]*>", path.read_text(encoding="utf-8")
        )
    ]
    assert tags and all('role="alert"' in tag for _name, tag in tags), [t for t in tags if 'role="alert"' not in t[1]]
