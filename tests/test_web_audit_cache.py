"""View audit rows written in batches, the issue page's data cache, and one query for session + user."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.exc import OperationalError

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog, Issue, User
from monitor.web import queries, sessions
from monitor.web.app import create_app
from monitor.web.audit import AuditWriter
from tests.web_support import Seeded, csrf_from, dashboard, login, make_clock, seed


def _views(db: Database) -> list[tuple[str, str | None]]:
    with db.session() as s:
        return [(a.actor, a.target) for a in s.scalars(select(AuditLog).where(AuditLog.action == "view_issue"))]


@pytest.fixture
def env(config: AppConfig, db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    """The app on SQLite and on PostgreSQL, signed in as the communications team."""
    seeded = seed(db)
    with dashboard(config, db, "kominfo") as c:
        yield c, seeded, db


def _ctx(client: TestClient) -> Any:
    return client.app.state.web  # type: ignore[attr-defined]


def test_writer_batches_rows_and_writes_them_on_flush_and_close(sqlite_db: Database) -> None:
    writer = AuditWriter(sqlite_db.engine, interval=60)  # the thread would wait a minute: flush decides
    at = datetime(2026, 11, 29, tzinfo=UTC)
    for n in range(3):
        writer.add({"at": at, "actor": "a", "action": "view_issue", "target": f"issue:{n}", "detail": {}})
    assert writer.pending() == 3
    assert writer.flush() == 3 and writer.pending() == 0
    assert [t for _, t in _views(sqlite_db)] == ["issue:0", "issue:1", "issue:2"]
    writer.add({"at": at, "actor": "b", "action": "view_issue", "target": "issue:9", "detail": {}})
    writer.close()  # shutdown writes what is queued
    assert ("b", "issue:9") in _views(sqlite_db)
    writer.add({"at": at, "actor": "c", "action": "view_issue", "target": "issue:10", "detail": {}})
    assert ("c", "issue:10") in _views(sqlite_db)  # after shutdown rows are written at once


def test_writer_keeps_rows_when_the_database_refuses_them(tmp_path: Any) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # no audit_log table
    writer = AuditWriter(broken, interval=60)
    writer.add({"at": datetime(2026, 11, 29, tzinfo=UTC), "actor": "a", "action": "view_issue", "detail": {}})
    with pytest.raises(OperationalError):
        writer.flush()
    assert writer.pending() == 1  # kept for the next round, not lost
    writer.close()  # logs that the row could not be written; must not raise at shutdown
    broken.dispose()


def test_writer_thread_writes_without_being_asked(sqlite_db: Database) -> None:
    writer = AuditWriter(sqlite_db.engine, interval=0.05)
    writer.add({"at": datetime(2026, 11, 29, tzinfo=UTC), "actor": "t", "action": "view_issue", "detail": {}})
    deadline = time.monotonic() + 30  # generous: only checks that the thread writes at all
    while not _views(sqlite_db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _views(sqlite_db) == [("t", None)]
    writer.close()


def test_issue_views_on_page_and_api_are_audited(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    assert client.get(f"/issues/{s.rising_id}").status_code == 200
    assert client.get(f"/api/issues/{s.rising_id}").status_code == 200
    _ctx(client).audit_writer.flush()
    assert _views(db) == [("kominfo", f"issue:{s.rising_id}")] * 2
    with db.session() as session:
        via = [a.detail for a in session.scalars(select(AuditLog).where(AuditLog.action == "view_issue"))]
    assert {} in via and {"via": "api"} in via


def test_a_re_view_is_served_from_the_cache_and_still_audited(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    statements: list[str] = []
    engine = _ctx(client).read_sessions.kw["bind"]

    def count(*args: Any) -> None:
        statements.append(args[2])

    first = client.get(f"/issues/{s.rising_id}").text
    event.listen(engine, "before_cursor_execute", count)
    try:
        second = client.get(f"/issues/{s.rising_id}").text
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert second.split("<main", 1)[1] == first.split("<main", 1)[1]
    # Session + user and the issue row only: no posts, signals, alerts, events or corrections.
    assert len([q for q in statements if "posts" in q.lower() or "signals" in q.lower()]) == 0, statements
    _ctx(client).audit_writer.flush()
    assert len(_views(db)) == 2


def test_cached_issue_data_respects_agency_scope(config: AppConfig, db: Database) -> None:
    s = seed(db)
    with dashboard(config, db, "kominfo") as client:
        assert client.get(f"/issues/{s.pdam_id}").status_code == 200  # now cached
        client.cookies.clear()
        login(client, "pupr")
        assert client.get(f"/issues/{s.pdam_id}").status_code == 404
        assert client.get(f"/api/issues/{s.pdam_id}").status_code == 404
        assert client.get(f"/issues/{s.rising_id}").status_code == 200


def test_issue_page_shows_changes_at_once(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    html = client.get(f"/issues/{s.rising_id}").text
    assert "Belum diterima" in html
    client.post(f"/issues/{s.rising_id}/ack", data={"csrf_token": csrf_from(html)})
    assert "Diterima oleh kominfo" in client.get(f"/issues/{s.rising_id}").text
    # The pipeline writes through another process: its updated_at bump is what the web app sees.
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        assert issue is not None
        session.execute(
            update(Issue)
            .where(Issue.id == s.rising_id)
            .values(title="Judul baru dari pipeline", updated_at=issue.updated_at + timedelta(minutes=1))
        )
    assert "Judul baru dari pipeline" in client.get(f"/issues/{s.rising_id}").text


def test_hourly_counts_in_sql_match_the_python_ones(env: tuple[TestClient, Seeded, Database]) -> None:
    _, s, db = env
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        assert issue is not None
        detail = queries.issue_detail(session, issue)
        from monitor.store.models import IssuePost, Post

        times = session.scalars(
            select(Post.created_at).join(IssuePost, IssuePost.post_id == Post.id).where(IssuePost.issue_id == issue.id)
        )
        # The chart's hours run from the issue's first_seen (quiet hours as zeros); the busy hours are the same.
        busy = {hour: n for hour, n in detail.hourly_mentions if n}
        assert busy == {hour: n for hour, n in queries.hourly_counts(times) if n}
        assert sum(busy.values()) == 9


def test_user_deactivated_elsewhere_is_signed_out_within_the_recheck_time(
    env: tuple[TestClient, Seeded, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change the web process is not told about (the CLI, another worker) shows once its memory expires."""
    client, _, db = env
    assert client.get("/", follow_redirects=False).status_code == 200
    with db.session() as session:
        session.execute(update(User).where(User.username == "kominfo").values(active=False))
    # The store's clock, moved past the memory's limit instead of sleeping it out in real time.
    later = datetime.now(UTC) + timedelta(seconds=sessions.RECHECK_AFTER + 0.1)
    monkeypatch.setattr(_ctx(client).sessions, "_now", lambda: later)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_security_headers_on_pages_and_redirects(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _, _ = env
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    client.cookies.clear()
    redirect = client.get("/", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["x-content-type-options"] == "nosniff"


def test_a_correction_in_one_worker_shows_in_another(config: AppConfig, db: Database) -> None:
    """Two apps on one database stand for two uvicorn workers, each with its own issue cache."""
    s = seed(db)
    with (
        TestClient(create_app(config, db, make_clock())) as one,
        TestClient(create_app(config, db, make_clock())) as two,
    ):
        login(one, "kominfo")
        login(two, "kominfo")
        assert "oleh kominfo" not in one.get(f"/issues/{s.rising_id}").text  # cached in worker one
        token = csrf_from(two.get(f"/issues/{s.rising_id}").text)
        r = two.post(
            f"/issues/{s.rising_id}/labels",
            data={"csrf_token": token, "post_id": s.plain_post_id, "field": "topic", "value": "bencana"},
        )
        assert "Koreksi label disimpan" in r.text
        assert "topik menjadi Bencana · oleh kominfo" in one.get(f"/issues/{s.rising_id}").text


def test_a_serving_app_freezes_its_startup_objects_and_a_test_app_does_not(
    config: AppConfig, sqlite_db: Database
) -> None:
    import gc

    gc.unfreeze()
    with TestClient(create_app(config, sqlite_db, make_clock())):
        assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(config, sqlite_db, make_clock(), freeze_gc=True)) as client:
            assert gc.get_freeze_count() > 10_000  # the imports' objects: out of every later collection
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
