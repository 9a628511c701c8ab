"""Sessions in the database: shared by workers, hashed, expiring; `serve --workers 2` end to end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import User, WebSession
from monitor.web.app import create_app
from monitor.web.auth import SESSION_COOKIE
from monitor.web.sessions import RECHECK_AFTER, DbSessionStore, session_hash
from tests.web_support import PASSWORD, answers_health, csrf_from, free_port, login, make_clock, seed

ROOT = Path(__file__).resolve().parent.parent


def _user_id(db: Database, name: str) -> int:
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
    assert uid is not None
    return int(uid)


def test_two_app_processes_share_sessions_and_logout(config: AppConfig, db: Database) -> None:
    seed(db)
    one = TestClient(create_app(config, db, make_clock()))
    two = TestClient(create_app(config, db, make_clock()))  # another worker: no memory in common
    login(one, "kominfo")
    two.cookies.set(SESSION_COOKIE, one.cookies[SESSION_COOKIE])
    page = two.get("/")
    assert page.status_code == 200 and "kominfo" in page.text
    two.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert one.get("/", follow_redirects=False).status_code == 303


def test_only_a_hash_of_the_session_id_is_stored(config: AppConfig, db: Database) -> None:
    seed(db)
    client = login(TestClient(create_app(config, db, make_clock())), "analis")
    sid = client.cookies[SESSION_COOKIE]
    with db.session() as s:
        stored = list(s.scalars(select(WebSession.id_hash)))
    assert stored == [session_hash(sid)] and sid not in stored


def test_sessions_expire_when_idle_or_too_old_and_end_per_user(db: Database) -> None:
    seed(db)
    clock = [datetime(2026, 11, 29, 6, 0, tzinfo=UTC)]
    store = DbSessionStore(db.engine, idle_timeout=600, max_age=3600, now=lambda: clock[0])
    uid, other = _user_id(db, "pupr"), _user_id(db, "pdam")
    a, b, c = store.create(uid), store.create(uid), store.create(other)
    first = store.get(a)
    assert first is not None and first.user_id == uid and first.csrf_token
    for _ in range(6):  # active every 9 minutes: the idle timer keeps being refreshed
        clock[0] += timedelta(minutes=9)
        assert store.get(a) is not None
    assert store.get(b) is None  # idle for 54 minutes
    clock[0] += timedelta(minutes=9)
    assert store.get(a) is None  # over the 1-hour maximum however active
    c2 = store.create(other)
    store.destroy_user(other)
    assert store.get(c) is None and store.get(c2) is None
    assert store.get("") is None and store.get("x" * 500) is None


def test_a_worker_rechecks_a_remembered_session_after_a_short_time(db: Database) -> None:
    seed(db)
    clock = [datetime(2026, 11, 29, 6, 0, tzinfo=UTC)]
    one = DbSessionStore(db.engine, now=lambda: clock[0])
    two = DbSessionStore(db.engine, now=lambda: clock[0])  # another worker over the same table
    sid = one.create(_user_id(db, "pupr"))
    assert two.get(sid) is not None
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert two.get(sid) is not None and statements == []  # remembered: no round trip
        one.destroy(sid)
        assert one.get(sid) is None  # the worker that ended it forgets it at once
        assert two.get(sid) is not None  # another may honour it a moment longer ...
        clock[0] += timedelta(seconds=RECHECK_AFTER + 0.1)
        assert two.get(sid) is None  # ... but no longer than RECHECK_AFTER
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_upgrade_twice_is_harmless(db: Database) -> None:
    db.upgrade()
    db.upgrade()
    assert db.current_revision() == db.head_revision() == "0014_stage_region_index"




def test_serve_with_two_workers_keeps_users_signed_in(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    db.upgrade()
    seed(db)
    db.dispose()
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["sources"] = []
    data["database_url"] = f"sqlite:///{tmp_path / 'web.db'}"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data))
    port = free_port()
    env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": "serve-test-key-0123456789", "PYTHONPATH": str(ROOT)}
    env.pop("OKI_MONITOR_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(cfg), "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert answers_health(base, proc, 60), "serve --workers 2 did not start"
        with httpx.Client(base_url=base) as client:
            token = csrf_from(client.get("/login").text)
            r = client.post("/login", data={"username": "kominfo", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303
            # New connections land on either worker; every one must know the session.
            for _ in range(12):
                with httpx.Client(base_url=base, cookies=client.cookies) as fresh:
                    assert fresh.get("/partials/board").status_code == 200
        # A SIGTERM to `serve` alone (not its process group) stops the workers too.
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=2)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group (nothing, normally)
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
