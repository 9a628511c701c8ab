"""Web security holes of issue #19: login throttling shared through the database, trusted proxies,
HTTPS-only cookies and HSTS, and e-mail action links that never act on a GET."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from itsdangerous.timed import TimestampSigner
from pydantic import ValidationError
from sqlalchemy import func, select

from alerts.ack import sign_ack_link
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, AuditLog, LabelCorrection, LoginThrottleRow, User
from monitor.web.app import create_app, server_config, worker_command
from monitor.web.client import client_address, parse_networks
from monitor.web.throttle import (
    ACCOUNT,
    ADDRESS,
    Counter,
    LoginThrottle,
    ThrottlePolicy,
    delay_after,
    retry_after_header,
    wait_seconds,
    wait_text,
)
from tests import web_support
from tests.telegram_server import mailed_alert
from tests.web_support import (
    NOW,
    PASSWORD,
    Seeded,
    action_form_token,
    csrf_from,
    every_row,
    free_port,
    login,
    make_clock,
)

# The dashboard tests' shared fixtures, under the names this module's tests ask for.
seeded = web_support.seeded
client = web_support.client

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class FakeNow:
    """A wall clock the test moves by hand."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


# ---------------------------------------------------------------- the decision, without a database


def test_delay_is_free_then_doubles_up_to_the_cap() -> None:
    assert [delay_after(n, ACCOUNT) for n in range(5)] == [0.0] * 5
    assert [delay_after(n, ACCOUNT) for n in range(5, 12)] == [2, 4, 8, 16, 32, 64, 128]
    assert delay_after(13, ACCOUNT) == 300 and delay_after(10_000, ACCOUNT) == 300
    assert delay_after(19, ADDRESS) == 0 and delay_after(20, ADDRESS) == 2


def test_wait_counts_from_the_last_failure_and_the_longest_key_decides() -> None:
    five = Counter(5, T0)
    assert wait_seconds([(five, ACCOUNT)], T0) == 2.0
    assert wait_seconds([(five, ACCOUNT)], T0 + timedelta(seconds=1.5)) == 0.5
    assert wait_seconds([(five, ACCOUNT)], T0 + timedelta(seconds=2)) <= 0
    assert wait_seconds([(None, ACCOUNT), (Counter(3, T0), ADDRESS)], T0) == 0
    address = Counter(24, T0)  # 2 s * 2**4
    assert wait_seconds([(five, ACCOUNT), (address, ADDRESS)], T0) == 32.0


def test_a_stamp_from_an_attempt_that_got_the_lock_first_never_blocks_a_free_attempt() -> None:
    # Worker B read the time, then waited for A's row lock; A stamped a later time.
    assert wait_seconds([(Counter(3, T0 + timedelta(seconds=1)), ACCOUNT)], T0) == 0
    assert wait_seconds([(Counter(5, T0 + timedelta(seconds=1)), ACCOUNT)], T0) == 3.0


def test_a_quiet_counter_is_forgotten() -> None:
    policy = ThrottlePolicy(free=1, forget_after=timedelta(minutes=10))
    busy = Counter(9, T0)
    assert wait_seconds([(busy, policy)], T0 + timedelta(minutes=4)) > 0
    assert wait_seconds([(busy, policy)], T0 + timedelta(minutes=10)) == 0


def test_wait_is_said_in_bahasa_and_rounded_up() -> None:
    assert retry_after_header(0.2) == "1" and retry_after_header(2.0) == "2" and retry_after_header(2.01) == "3"
    assert wait_text(2) == "2 detik" and wait_text(300) == "sekitar 5 menit"


# ---------------------------------------------------------------- storage, SQLite and PostgreSQL


def test_throttle_counts_in_the_database(db: Database) -> None:
    now = FakeNow()
    throttle = LoginThrottle(db.engine, now=now)
    assert [throttle.attempt("kominfo", "10.0.0.1") for _ in range(5)] == [0.0] * 5
    assert throttle.attempt("kominfo", "10.0.0.1") == 2.0
    now.advance(2)
    assert throttle.attempt("kominfo", "10.0.0.1") == 0.0  # the 6th, after its wait
    assert throttle.attempt("kominfo", "10.0.0.1") == 4.0
    # Another worker (another engine, another object) sees the same counters.
    other = Database(db.url)
    try:
        assert LoginThrottle(other.engine, now=now).attempt("KOMINFO ", "10.0.0.9") == 4.0
    finally:
        other.dispose()
    # A right password clears the account: the next mistakes are free again.
    now.advance(4)
    assert throttle.attempt("kominfo", "10.0.0.1") == 0.0
    throttle.succeeded("kominfo", "10.0.0.1")
    assert [throttle.attempt("kominfo", "10.0.0.1") for _ in range(5)] == [0.0] * 5
    with db.session() as s:
        rows = {r.key: r.failures for r in s.scalars(select(LoginThrottleRow))}
    assert rows["user:kominfo"] == 5
    assert rows["ip:10.0.0.1"] == 11  # 12 attempts counted (refused ones are not), one of them right


def test_one_address_spraying_many_accounts_is_slowed(db: Database) -> None:
    now = FakeNow()
    throttle = LoginThrottle(db.engine, now=now)
    waits = [throttle.attempt(f"tebakan{i}", "203.0.113.7") for i in range(21)]
    assert waits[:20] == [0.0] * 20 and waits[20] == 2.0
    assert throttle.attempt("kominfo", "198.51.100.1") == 0.0  # another address is not affected


def test_forgotten_counters_are_pruned(db: Database) -> None:
    now = FakeNow()
    throttle = LoginThrottle(db.engine, now=now)
    throttle.attempt("lama", "10.0.0.1")
    now.advance(2 * 3600)
    throttle._pruned_at = float("-inf")
    throttle.attempt("baru", "10.0.0.2")
    with db.session() as s:
        keys = set(s.scalars(select(LoginThrottleRow.key)))
    assert keys == {"user:baru", "ip:10.0.0.2"}


def test_parallel_guesses_from_three_workers_get_exactly_the_free_allowance(db: Database) -> None:
    """40 simultaneous wrong passwords over three engines (as three uvicorn workers): 5 get through."""
    now = FakeNow()
    engines = [Database(db.url) for _ in range(3)]
    throttles = [LoginThrottle(e.engine, now=now) for e in engines]
    results: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def guess(i: int) -> None:
        start.wait()
        wait = throttles[i % 3].attempt("kominfo", f"10.1.0.{i}")
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert len(results) == 40
    assert sum(1 for w in results if w == 0) == 5


# ---------------------------------------------------------------- through the login form


def _try_login(client: TestClient, username: str, password: str, **kwargs: Any) -> Any:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
        **kwargs,
    )


def test_login_form_answers_429_with_retry_after_after_five_failures(client: TestClient, sqlite_db: Database) -> None:
    codes = [_try_login(client, "kominfo", "tebakan-salah").status_code for _ in range(5)]
    assert codes == [401] * 5
    r = _try_login(client, "kominfo", PASSWORD)  # even the right password waits now
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert "Terlalu banyak percobaan masuk" in r.text and "2 detik" in r.text
    # Another account from the same address is not held up by kominfo's counter.
    assert _try_login(client, "admin", PASSWORD).status_code == 303
    with sqlite_db.session() as s:
        limited = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "login_rate_limited"))
        row = s.get(LoginThrottleRow, "user:kominfo")
    assert limited == 1 and row is not None and row.failures == 5


def test_successful_login_clears_the_account_counter(client: TestClient, sqlite_db: Database) -> None:
    for _ in range(4):
        _try_login(client, "kominfo", "tebakan-salah")
    assert _try_login(client, "kominfo", PASSWORD).status_code == 303
    with sqlite_db.session() as s:
        assert s.get(LoginThrottleRow, "user:kominfo") is None


# ---------------------------------------------------------------- client address and proxies

TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1", "fd00::/8"])


def test_forwarding_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    forged = {"x-forwarded-for": "6.6.6.6", "x-real-ip": "7.7.7.7"}
    assert client_address("198.51.100.4", forged, TRUSTED) == "198.51.100.4"
    assert client_address("198.51.100.4", forged, ()) == "198.51.100.4"
    assert client_address("127.0.0.1", forged, ()) == "127.0.0.1"  # no proxies configured: none trusted
    assert client_address(None, forged, TRUSTED) == "unknown"


def test_from_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client sent a forged first entry; each proxy appended the address it saw.
    headers = {"x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.0.0.5"}
    assert client_address("10.0.0.2", headers, TRUSTED) == "203.0.113.9"
    assert client_address("10.0.0.2", {"x-forwarded-for": "10.0.0.7, 10.0.0.5"}, TRUSTED) == "10.0.0.7"
    # A malformed hop ends the walk at the last address known good.
    assert client_address("10.0.0.2", {"x-forwarded-for": "203.0.113.9, bukan-ip"}, TRUSTED) == "10.0.0.2"
    assert client_address("10.0.0.2", {"x-forwarded-for": "[2001:db8::5]:443"}, TRUSTED) == "2001:db8::5"
    assert client_address("fd00::1", {"x-real-ip": "203.0.113.10"}, TRUSTED) == "203.0.113.10"
    assert client_address("10.0.0.2", {"x-real-ip": "<script>"}, TRUSTED) == "10.0.0.2"


def test_trusted_proxies_must_be_addresses_or_networks(config: AppConfig) -> None:
    data = config.model_dump()
    data["web"]["trusted_proxies"] = ["10.0.0.0/8", "proxy.example"]
    with pytest.raises(ValidationError, match=r"proxy\.example"):
        AppConfig.model_validate(data)


def test_worker_processes_leave_forwarding_headers_to_the_app(tmp_path: Path) -> None:
    cmd, _env = worker_command(tmp_path / "config.yaml", "127.0.0.1", 8080, 2)
    assert "--no-proxy-headers" in cmd


def _served_login_client(app: Any, uv_config: Callable[[Any, str, int], Any], db: Database) -> str:
    """Serve ``app`` on a real socket, fail one login with a forged X-Forwarded-For, return the audited client."""
    port = free_port()
    server = uvicorn.Server(uv_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start within 10 s"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            token = csrf_from(http.get("/login").text)
            r = http.post(
                "/login",
                data={"username": "kominfo", "password": "tebakan-salah", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
            assert r.status_code == 401
    finally:
        server.should_exit = True
        thread.join(10)
    with db.session() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "login_failed").order_by(AuditLog.id.desc())).first()
    assert row is not None
    return str(row.detail["client"])


def _with_web(config: AppConfig, **web: Any) -> AppConfig:
    return config.model_copy(update={"web": config.web.model_copy(update=web)})


def test_served_dashboard_ignores_a_forged_forwarded_for(
    config: AppConfig, sqlite_db: Database, seeded: Seeded
) -> None:
    # As `serve` and `run` serve it: the peer is the client, for the audit log and the throttle ...
    assert _served_login_client(create_app(config, sqlite_db, make_clock()), server_config, sqlite_db) == "127.0.0.1"
    with sqlite_db.session() as s:
        assert set(s.scalars(select(LoginThrottleRow.key))) == {"ip:127.0.0.1", "user:kominfo"}

    # Control: uvicorn's defaults would believe X-Forwarded-For from 127.0.0.1, before the app can check.
    def uvicorn_defaults(app: Any, host: str, port: int) -> Any:
        return uvicorn.Config(app, host=host, port=port, log_level="warning")

    app = create_app(config, sqlite_db, make_clock())
    assert _served_login_client(app, uvicorn_defaults, sqlite_db) == "203.0.113.9"
    # ... unless that peer is a configured proxy.
    behind_proxy = _with_web(config, trusted_proxies=["127.0.0.1"])
    app = create_app(behind_proxy, sqlite_db, make_clock())
    assert _served_login_client(app, server_config, sqlite_db) == "203.0.113.9"


# ---------------------------------------------------------------- HTTPS: Secure cookies and HSTS


def _with_public_url(config: AppConfig, url: str) -> AppConfig:
    return config.model_copy(update={"alerts": config.alerts.model_copy(update={"dashboard_url": url})})


@pytest.mark.parametrize(
    ("url", "web", "secure", "hsts"),
    [
        ("http://127.0.0.1:8080", {}, False, False),
        ("https://monitor.okikab.go.id", {}, True, True),
        ("HTTPS://monitor.okikab.go.id/", {"hsts": False}, True, False),
        ("https://monitor.okikab.go.id", {"secure_cookies": False}, False, True),
        ("http://10.0.0.5:8080", {"secure_cookies": True, "hsts": True}, True, True),
    ],
)
def test_secure_cookies_and_hsts_follow_the_public_url(
    config: AppConfig, sqlite_db: Database, seeded: Seeded, url: str, web: dict[str, bool], secure: bool, hsts: bool
) -> None:
    conf = _with_web(_with_public_url(config, url), **web)
    with TestClient(create_app(conf, sqlite_db, make_clock()), base_url="https://testserver") as c:
        page = c.get("/login")
        assert ("secure" in page.headers["set-cookie"].lower()) is secure
        assert ("strict-transport-security" in page.headers) is hsts
        r = _try_login(c, "kominfo", PASSWORD)
        assert r.status_code == 303
        session_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("oki_session="))
        assert ("secure" in session_cookie.lower()) is secure
        if hsts:
            assert r.headers["strict-transport-security"] == "max-age=31536000"
            assert c.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"


# ---------------------------------------------------------------- e-mail action links: GET looks, POST acts

ACTIONS = ("ack", "n", "o", "d")
"""Tindak lanjuti, bukan keluhan, bukan tentang OKI, salah dinas."""


@pytest.fixture
def mailed(
    config: AppConfig, sqlite_db: Database, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Alert, dict[str, str]]]:
    """An alert with example posts, its four signed e-mail links (paths), and a client with no login."""
    monkeypatch.setenv(config.alerts.ack_secret_env, "kunci-rahasia-uji-0123456789abcdef")
    with sqlite_db.session() as s:
        alert = Alert(
            issue_id=seeded.rising_id,
            receiver="agency:pupr",
            agency_code="pupr",
            kind="first",
            stage="naik",
            created_at=NOW - timedelta(minutes=30),
            ack_token="tok-mailed",
            payload={
                "issue": {"title": "Jalan rusak di Kayu Agung"},
                "posts": [{"id": seeded.plain_post_id}, {"id": seeded.xss_post_ids[0]}],
            },
        )
        s.add(alert)
    links = {}
    for action in ACTIONS:
        url = sign_ack_link(config, "tok-mailed", action)
        assert url is not None
        links[action] = urlsplit(url).path
    with TestClient(create_app(config, sqlite_db, make_clock())) as c:
        yield c, alert, links


def test_opening_any_email_link_changes_nothing(
    mailed: tuple[TestClient, Alert, dict[str, str]], sqlite_db: Database
) -> None:
    client, _alert, links = mailed
    before = every_row(sqlite_db)
    for action, path in links.items():
        for _ in range(2):  # a scanner, then the person
            r = client.get(path)
            assert r.status_code == 200, action
            assert action_form_token(r.text) == path.rsplit("/", 1)[1]
            assert "Membuka tautan ini saja tidak mengubah apa pun" in r.text
        assert client.head(path).status_code in (200, 405)
    assert "Ya, catat tindak lanjut" in client.get(links["ack"]).text
    assert "bukan keluhan" in client.get(links["n"]).text
    assert "OKI-" in client.get(links["ack"]).text and "Jalan rusak di Kayu Agung" in client.get(links["ack"]).text
    assert every_row(sqlite_db) == before
    assert "oki_session" not in client.cookies


def test_the_confirmation_post_acts_without_a_login_and_a_repeat_changes_nothing(
    mailed: tuple[TestClient, Alert, dict[str, str]], sqlite_db: Database
) -> None:
    client, alert, links = mailed
    for action, path in links.items():
        token = action_form_token(client.get(path).text)
        r = client.post("/alerts/action", data={"token": token})
        assert r.status_code == 200 and "Terima kasih" in r.text, (action, r.text)
    with sqlite_db.session() as s:
        acked = s.get(Alert, alert.id)
        assert acked is not None and acked.acknowledged_by == "email" and acked.acknowledged_at is not None
        corrections = {(c.post_id, c.field, c.value) for c in s.scalars(select(LabelCorrection))}
        assert {(f, v) for _, f, v in corrections} == {
            ("is_complaint", "false"),
            ("relevant", "false"),
            ("agency", "bukan:pupr"),
        }
        assert len(corrections) == 6  # both example posts, three kinds
    after = every_row(sqlite_db)
    for action, path in links.items():
        r = client.post("/alerts/action", data={"token": path.rsplit("/", 1)[1]})
        assert r.status_code == 200 and "Sudah dicatat" in r.text and "sudah dicatat sebelumnya" in r.text, action
        page = client.get(path)
        assert "sudah dicatat sebelumnya" in page.text and 'action="/alerts/action"' not in page.text
    assert every_row(sqlite_db) == after


def test_bad_or_expired_links_get_a_clear_page(
    mailed: tuple[TestClient, Alert, dict[str, str]],
    sqlite_db: Database,
    config: AppConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _alert, links = mailed
    signed = links["ack"].rsplit("/", 1)[1]
    tampered = signed[:-2] + ("A" if signed[-2] != "A" else "B") + signed[-1]
    before = every_row(sqlite_db)
    for r in (client.get(f"/alerts/action/{tampered}"), client.post("/alerts/action", data={"token": tampered})):
        assert r.status_code == 400 and "Tautan tidak berlaku" in r.text and "tidak sah" in r.text
    assert client.post("/alerts/action", data={}).status_code == 400
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - 31 * 86400)
        old = sign_ack_link(config, "tok-mailed")
    assert old is not None
    for r in (
        client.get(urlsplit(old).path),
        client.post("/alerts/action", data={"token": urlsplit(old).path.rsplit("/", 1)[1]}),
    ):
        assert r.status_code == 400 and "kedaluwarsa" in r.text
    unknown = sign_ack_link(config, "tok-tidak-ada")
    assert unknown is not None
    r = client.get(urlsplit(unknown).path)
    assert r.status_code == 400 and "tidak ditemukan" in r.text
    assert every_row(sqlite_db) == before


def test_every_link_of_a_delivered_alert_email_acts_only_on_the_pages_post(
    config: AppConfig, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path: the outbox mails the alert over real SMTP; each link in it is opened (as a mail
    scanner would), which changes nothing; pressing each page's button does."""
    cfg, _issue_id, mail_html = mailed_alert(sqlite_db, config, monkeypatch, NOW)
    paths = sorted({urlsplit(u).path for u in re.findall(r'href="([^"]*/alerts/action/[^"]+)"', mail_html)})
    # Terima, "Bukan OKI" and five steps of the agency's answer (tests/test_respond_email.py), which include
    # "Bukan keluhan" and "Salah dinas" (they were label corrections before).
    assert len(paths) == 7
    with TestClient(create_app(cfg, sqlite_db, make_clock())) as client:
        before = every_row(sqlite_db)
        tokens = []
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200
            if 'name="note"' not in r.text:
                tokens.append(action_form_token(r.text))
        assert every_row(sqlite_db) == before
        assert len(tokens) == 2
        for token in tokens:
            r = client.post("/alerts/action", data={"token": token})
            assert r.status_code == 200 and "Terima kasih" in r.text
    with sqlite_db.session() as s:
        alert = s.scalars(select(Alert).where(Alert.receiver == "agency:pupr")).one()
        assert alert.acknowledged_by == "email"
        kinds = {(c.field, c.source) for c in s.scalars(select(LabelCorrection))}
    assert kinds == {("relevant", "email")}


def test_password_change_guesses_are_counted_across_workers(
    config: AppConfig, sqlite_db: Database, seeded: Seeded
) -> None:
    """A hijacked session guessing the current password: two dashboard processes share one count."""
    first = TestClient(create_app(config, sqlite_db, make_clock()))
    second = TestClient(create_app(config, sqlite_db, make_clock()))
    login(first, "analis")
    second.cookies.set("oki_session", first.cookies["oki_session"])  # the same session, another worker
    token = csrf_from(first.get("/account/password").text)
    wrong = {"csrf_token": token, "current": "bukan-ini-123", "new": "baru-sekali-456", "confirm": "baru-sekali-456"}
    codes = [(first if i % 2 else second).post("/account/password", data=wrong).status_code for i in range(10)]
    assert codes == [400] * 10
    r = second.post("/account/password", data={**wrong, "current": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and "Tunggu 2 detik" in r.text
    with sqlite_db.session() as s:
        assert s.get(LoginThrottleRow, f"password:{seeded_user_id(sqlite_db, 'analis')}") is not None


def seeded_user_id(db: Database, username: str) -> int:
    with db.session() as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return int(user_id)
