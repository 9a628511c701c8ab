"""Sessions, login, CSRF, cookies, headers and the `users` command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.cli import main
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog, Issue, User
from monitor.web.app import create_app
from monitor.web.auth import SessionStore, hash_password, verify_password
from tests import web_support
from tests.web_support import PASSWORD, Seeded, csrf_from, login, make_clock

# The dashboard tests' shared fixtures, under the names this module's tests ask for.
seeded = web_support.seeded
client = web_support.client


def test_pages_need_a_session_and_api_needs_a_token(client: TestClient, seeded: Seeded) -> None:
    for path in ("/", f"/issues/{seeded.rising_id}", "/trends", "/sources", "/admin/users", "/docs", "/agency/pupr"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    for path in ("/api/issues", f"/api/issues/{seeded.rising_id}", "/api/trends", "/api/export", "/metrics"):
        r = client.get(path)
        assert r.status_code == 401, path
    assert client.get("/api/issues", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_healthz_and_login_page_are_public(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert client.get("/login").status_code == 200


def test_login_success_sets_safe_cookie_and_redirects_only_within_site(client: TestClient) -> None:
    page = client.get("/login")
    token = csrf_from(page.text)
    r = client.post(
        "/login",
        data={"username": "kominfo", "password": PASSWORD, "csrf_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "oki_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200


def test_secure_cookie_flag_follows_config(config: AppConfig, sqlite_db: Database, seeded: Seeded) -> None:
    secure = config.model_copy(update={"web": config.web.model_copy(update={"secure_cookies": True})})
    with TestClient(create_app(secure, sqlite_db, make_clock()), base_url="https://testserver") as c:
        token = csrf_from(c.get("/login").text)
        r = c.post(
            "/login",
            data={"username": "kominfo", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused_and_audited(client: TestClient, sqlite_db: Database) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": "kominfo", "password": "salah-sekali", "csrf_token": token})
    assert r.status_code == 401
    assert "salah" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303
    with sqlite_db.session() as s:
        actions = list(s.scalars(select(AuditLog.action)))
    assert "login_failed" in actions


def test_login_without_form_token_is_refused(client: TestClient) -> None:
    r = client.post("/login", data={"username": "kominfo", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_login_attempts_are_rate_limited(client: TestClient) -> None:
    for _ in range(10):
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": "kominfo", "password": "tebakan-salah", "csrf_token": token})
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": "kominfo", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert "Tunggu" in r.text


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    login(client, "kominfo")
    old = client.cookies.get("oki_session")
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set("oki_session", old or "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_state_changes_need_the_csrf_token(client: TestClient, seeded: Seeded, sqlite_db: Database) -> None:
    login(client, "kominfo")
    url = f"/issues/{seeded.rising_id}/ack"
    assert client.post(url, data={}).status_code == 403
    assert client.post(url, data={"csrf_token": "wrong"}).status_code == 403
    good = csrf_from(client.get(f"/issues/{seeded.rising_id}").text)
    r = client.post(url, data={"csrf_token": good}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert client.post(f"/api/issues/{seeded.rising_id}/ack").status_code == 403  # session without X-CSRF-Token
    with sqlite_db.session() as s:
        assert s.get(Issue, seeded.rising_id).acknowledged_at is None  # type: ignore[union-attr]
    assert client.post(url, data={"csrf_token": good}, follow_redirects=False).status_code == 303
    with sqlite_db.session() as s:
        assert s.get(Issue, seeded.rising_id).acknowledged_by == "kominfo"  # type: ignore[union-attr]


def test_security_headers(client: TestClient) -> None:
    login(client, "kominfo")
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert "cdn" not in r.text.lower() and "https://" not in r.text.split("<main>")[0]


def test_deactivated_user_loses_access(client: TestClient, sqlite_db: Database) -> None:
    login(client, "kominfo")
    with sqlite_db.session() as s:
        user = s.scalar(select(User).where(User.username == "kominfo"))
        assert user is not None
        user.active = False
    assert client.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_argon2_hashed() -> None:
    hashed = hash_password("rahasia-sekali-1")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "rahasia-sekali-1")
    assert not verify_password(hashed, "rahasia-sekali-2")
    assert not verify_password(None, "apa saja")
    assert not verify_password("bukan-hash", "apa saja")


def test_session_store_idle_timeout_and_logout() -> None:
    store = SessionStore(idle_timeout=10, max_age=100)
    sid = store.create(7, now=0)
    assert store.get(sid, now=5) is not None
    assert store.get(sid, now=14) is not None  # activity at 5 moved the idle deadline
    assert store.get(sid, now=30) is None
    sid2 = store.create(7, now=0)
    store.destroy_user(7)
    assert store.get(sid2, now=1) is None


def test_users_command_add_list_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parent.parent
    cfg = tmp_path / "config.yaml"
    cfg.write_text((root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", url)
    schema = Database(url)
    schema.upgrade()
    schema.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("kata-sandi-panjang-1\n"))
    assert (
        main(["--config", str(cfg), "users", "add", "Budi", "--role", "agency", "--agency", "pupr", "--password-stdin"])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("kata-sandi-panjang-1\n"))
    assert main(["--config", str(cfg), "users", "add", "x1", "--role", "agency", "--password-stdin"]) == 2
    assert "--agency" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("pendek\n"))
    assert main(["--config", str(cfg), "users", "add", "ani", "--role", "analyst", "--password-stdin"]) == 2
    assert main(["--config", str(cfg), "users", "token", "budi"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("oki_")
    assert main(["--config", str(cfg), "users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "budi" in listing and "pupr" in listing and "token-api" in listing
    db = Database(url)
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "budi"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert user.api_token_hash and token not in user.api_token_hash
    db.dispose()
