"""The pages' PostgreSQL pool: read-only, no per-request liveness round trip, and a clear 503 in an outage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update
from sqlalchemy.exc import DBAPIError

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Issue
from monitor.web import app as web_app
from tests.conftest import PG_URL
from tests.web_support import Seeded, dashboard, seed


@pytest.fixture
def pg(pg_db: Database) -> Database:
    return pg_db


def _page_backends_killed() -> int:
    """Terminate this test's page pool's server processes, as a database restart would; returns how many.

    Only this test's: the pool name is made unique per test (``signed_in``), since other workers run page
    pools of their own against the same server at the same time, and killing theirs fails their requests.
    """
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": web_app.READ_POOL_NAME},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.fixture
def signed_in(config: AppConfig, pg: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Seeded]]:
    seeded = seed(pg)
    # The app's page pool takes this name for its connections (application_name, read when it is built).
    monkeypatch.setattr(web_app, "READ_POOL_NAME", f"{web_app.READ_POOL_NAME} {uuid.uuid4().hex[:12]}")
    # As a context manager, so the app's shutdown writes its queued audit rows before the schema goes.
    with dashboard(config, pg, "kominfo") as client:
        yield client, seeded


def test_page_reads_cannot_write(signed_in: tuple[TestClient, Seeded]) -> None:
    client, s = signed_in
    ctx = client.app.state.web  # type: ignore[attr-defined]
    with ctx.read() as session:
        assert session.get(Issue, s.rising_id) is not None  # the test schema's search_path was kept
        with pytest.raises(DBAPIError, match="read-only"):
            session.execute(update(Issue).where(Issue.id == s.rising_id).values(title="ditimpa"))


def test_an_idle_page_connection_that_died_is_replaced_unseen(
    signed_in: tuple[TestClient, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, s = signed_in
    assert client.get(f"/issues/{s.rising_id}").status_code == 200
    assert _page_backends_killed() >= 1
    monkeypatch.setattr(web_app, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    page = client.get(f"/issues/{s.rising_id}")
    assert page.status_code == 200 and f"#{s.rising_id}" in page.text


def test_a_busy_page_connection_that_died_gives_a_clear_503_then_recovers(
    signed_in: tuple[TestClient, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, s = signed_in
    assert client.get(f"/issues/{s.rising_id}").status_code == 200
    monkeypatch.setattr(web_app, "PING_AFTER_IDLE_SECONDS", 1e9)  # used a moment ago: not checked
    assert _page_backends_killed() >= 1
    failed = client.get(f"/issues/{s.rising_id}", follow_redirects=False)
    assert failed.status_code == 503 and failed.headers["retry-after"] == "5"
    assert "Basis data sedang tidak dapat dihubungi" in failed.text
    api = client.get(f"/api/issues/{s.rising_id}", headers={"Accept": "application/json"})
    assert api.status_code == 200  # the pool dropped the dead connections: the next request reconnects
    assert client.get(f"/issues/{s.rising_id}").status_code == 200
