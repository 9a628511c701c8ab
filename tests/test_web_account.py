"""Post export, admin role/agency change and password reset, changing one's own password."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog
from monitor.web.app import create_app
from monitor.web.queries import author_alias
from tests.web_support import PASSWORD, Seeded, csrf_from, flash_after, login, make_clock, seed, stored_user

NEW_PASSWORD = "kata-sandi-baru-456"


@pytest.fixture
def app_env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[AppConfig, Database, Seeded]]:
    yield config, sqlite_db, seed(sqlite_db)


_APPS: dict[tuple[int, int], tuple[AppConfig, Database, FastAPI]] = {}


def _client(config: AppConfig, db: Database, username: str | None = None) -> TestClient:
    """A browser of its own on the test's one app (sessions live in the app process)."""
    key = (id(config), id(db))  # the stored references keep these ids from being reused
    if key not in _APPS:
        _APPS.clear()
        _APPS[key] = (config, db, create_app(config, db, make_clock()))
    client = TestClient(_APPS[key][2])
    if username:
        login(client, username)
    return client


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _audit(db: Database, action: str) -> list[AuditLog]:
    with db.session() as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        s.expunge_all()
    return rows


# ---------------------------------------------------------------- post export


def test_post_export_csv_is_filtered_pseudonymised_and_audited(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, s = app_env
    client = _client(config, db, "kominfo")
    r = client.get(f"/api/posts/export?issue_id={s.rising_id}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _csv_rows(r.content)
    assert len(rows) == 9 and {row["ID isu"] for row in rows} == {str(s.rising_id)}
    assert all(row["Akun"].startswith("akun-") for row in rows)
    assert "rawhandle" not in r.text  # the stored key never leaves as is
    assert author_alias("rawhandle_0") in {row["Akun"] for row in rows}
    everything = _csv_rows(client.get("/api/posts/export").content)
    assert {row["ID isu"] for row in everything} == {str(s.rising_id), str(s.pdam_id), str(s.quiet_id)}
    audit = _audit(db, "export")
    assert audit[-1].target == "posts" and audit[-1].actor == "kominfo"
    assert audit[-2].detail["issue_id"] == s.rising_id and audit[-2].detail["rows"] == 9
    assert audit[-2].detail["authors"] == "aliases"


def test_post_export_xlsx_neutralises_formulas(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, s = app_env
    with db.session() as session:
        from monitor.store.models import Post

        post = session.get(Post, s.plain_post_id)
        assert post is not None
        post.text = '=HYPERLINK("http://evil")'
    client = _client(config, db, "analis")
    r = client.get(f"/api/posts/export?issue_id={s.rising_id}&format=xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["ID unggahan", "ID isu", "Waktu (WIB)"]
    cells = {row[7].value: row[7] for row in sheet.iter_rows(min_row=2)}
    # The text as written, stored as text: a spreadsheet shows it and never runs it.
    assert cells['=HYPERLINK("http://evil")'].data_type == "s"


def test_agency_user_exports_only_its_own_agency_posts(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, s = app_env
    client = _client(config, db, "pdam")
    rows = _csv_rows(client.get("/api/posts/export?format=csv").content)
    assert rows and {row["ID isu"] for row in rows} == {str(s.pdam_id)}
    # Asking for another agency's issue by id gives an empty file, not its posts.
    other = _csv_rows(client.get(f"/api/posts/export?issue_id={s.rising_id}").content)
    assert other == []


def test_post_export_shows_handles_only_when_pseudonymisation_is_off(
    app_env: tuple[AppConfig, Database, Seeded],
) -> None:
    config, db, s = app_env
    plain = config.model_copy(update={"privacy": config.privacy.model_copy(update={"pseudonymise_authors": False})})
    client = _client(plain, db, "kominfo")
    rows = _csv_rows(client.get(f"/api/posts/export?issue_id={s.pdam_id}").content)
    assert [row["Akun"] for row in rows] == ["rawhandle_9"]
    assert _audit(db, "export")[-1].detail["authors"] == "handles"


def test_post_export_needs_a_session_or_token(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, _s = app_env
    assert _client(config, db).get("/api/posts/export").status_code == 401


# ---------------------------------------------------------------- admin: role, agency, password


def test_admin_changes_role_and_agency_and_ends_the_users_sessions(
    app_env: tuple[AppConfig, Database, Seeded],
) -> None:
    config, db, s = app_env
    admin = _client(config, db, "admin")
    pdam = _client(config, db, "pdam")
    assert pdam.get(f"/issues/{s.pdam_id}").status_code == 200
    target = stored_user(db, "pdam")
    token = csrf_from(admin.get("/admin/users").text)
    r = admin.post(
        f"/admin/users/{target.id}/role",
        data={"csrf_token": token, "role": "agency", "agency": "pupr"},
        follow_redirects=False,
    )
    assert flash_after(admin, r) == ("Peran pdam diubah; sesinya diakhiri.", False)
    changed = stored_user(db, "pdam")
    assert (changed.role, changed.agency_code) == ("agency", "pupr")
    # The old session is gone: the next page asks for a login.
    assert pdam.get("/", follow_redirects=False).status_code == 303
    relogged = _client(config, db, "pdam")
    assert relogged.get(f"/issues/{s.pdam_id}").status_code == 404
    assert relogged.get(f"/issues/{s.rising_id}").status_code == 200
    entry = _audit(db, "user_role_changed")[-1]
    assert entry.actor == "admin" and entry.target == "user:pdam"
    assert entry.detail["old_agency"] == "pdam" and entry.detail["agency"] == "pupr"


def test_admin_role_change_is_validated_and_csrf_protected(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, _s = app_env
    admin = _client(config, db, "admin")
    token = csrf_from(admin.get("/admin/users").text)
    target = stored_user(db, "analis")
    no_csrf = admin.post(f"/admin/users/{target.id}/role", data={"role": "admin"}, follow_redirects=False)
    assert no_csrf.status_code == 403
    bad = admin.post(
        f"/admin/users/{target.id}/role",
        data={"csrf_token": token, "role": "agency", "agency": ""},
        follow_redirects=False,
    )
    text, error = flash_after(admin, bad)
    assert error and text.startswith("Gagal: peran OPD perlu satu OPD") and "--" not in text
    me = stored_user(db, "admin")
    own = admin.post(
        f"/admin/users/{me.id}/role", data={"csrf_token": token, "role": "analyst"}, follow_redirects=False
    )
    assert flash_after(admin, own)[1]
    assert stored_user(db, "analis").role == "analyst" and stored_user(db, "admin").role == "admin"
    comms = _client(config, db, "kominfo")
    token = csrf_from(comms.get("/").text)
    denied = comms.post(f"/admin/users/{target.id}/role", data={"csrf_token": token, "role": "admin"})
    assert denied.status_code == 403 and stored_user(db, "analis").role == "analyst"


def test_admin_resets_a_password_and_the_old_one_stops_working(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, _s = app_env
    admin = _client(config, db, "admin")
    victim = _client(config, db, "kominfo")
    target = stored_user(db, "kominfo")
    token = csrf_from(admin.get("/admin/users").text)
    short = admin.post(
        f"/admin/users/{target.id}/password", data={"csrf_token": token, "password": "pendek"}, follow_redirects=False
    )
    assert flash_after(admin, short)[1]
    r = admin.post(
        f"/admin/users/{target.id}/password",
        data={"csrf_token": token, "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert flash_after(admin, r) == ("Kata sandi kominfo diganti; sesinya diakhiri.", False)
    assert victim.get("/", follow_redirects=False).status_code == 303  # session ended
    fresh = _client(config, db)
    page = fresh.get("/login")
    old = fresh.post("/login", data={"username": "kominfo", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    assert old.status_code == 401
    login(fresh, "kominfo", NEW_PASSWORD)
    assert [e.target for e in _audit(db, "user_password_reset")] == ["user:kominfo"]


# ---------------------------------------------------------------- own password


def test_user_changes_own_password(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, _s = app_env
    phone = _client(config, db, "pupr")
    laptop = _client(config, db, "pupr")
    page = laptop.get("/account/password")
    assert page.status_code == 200 and "Ganti kata sandi" in page.text
    token = csrf_from(page.text)
    wrong = laptop.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": "salah-salah-1",
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400 and "saat ini salah" in wrong.text
    mismatch = laptop.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
    )
    assert mismatch.status_code == 400
    no_csrf = laptop.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert no_csrf.status_code == 403
    ok = laptop.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert laptop.get("/account/password").status_code == 200  # this browser got a fresh session
    assert phone.get("/", follow_redirects=False).status_code == 303  # the other one was signed out
    login(_client(config, db), "pupr", NEW_PASSWORD)
    assert [e.action for e in _audit(db, "password_changed")] == ["password_changed"]
    assert len(_audit(db, "password_change_failed")) == 1


def test_wrong_current_password_is_rate_limited(app_env: tuple[AppConfig, Database, Seeded]) -> None:
    config, db, _s = app_env
    client = _client(config, db, "analis")
    token = csrf_from(client.get("/account/password").text)
    data = {"csrf_token": token, "current": "bukan-ini-123", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    codes = [client.post("/account/password", data=data).status_code for _ in range(11)]
    assert codes[:10] == [400] * 10 and codes[10] == 429
    right = {**data, "current": PASSWORD}
    assert client.post("/account/password", data=right).status_code == 429
