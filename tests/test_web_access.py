"""Row-level access: an agency user reaches only its own agency's issues, by page and by API (S3 matrix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog, Issue
from monitor.web.app import create_app
from tests.web_support import AGENCY_TOKEN, ANALYST_TOKEN, Seeded, csrf_from, login, make_clock, seed


@pytest.fixture
def env(config: AppConfig, db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    seeded = seed(db)
    with TestClient(create_app(config, db, make_clock())) as c:
        yield c, seeded, db


def test_agency_user_pages_only_show_own_agency(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    login(client, "pupr")
    board = client.get("/").text
    assert "Jalan rusak di Kayu Agung" in board and "Air PDAM" not in board
    assert client.get(f"/issues/{s.rising_id}").status_code == 200
    for path in (f"/issues/{s.pdam_id}", "/issues/999999", "/agency/pdam"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Air PDAM" not in r.text
    assert client.get("/sources").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.get("/agency", follow_redirects=False).headers["location"] == "/agency/pupr"
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    for action in ("ack", "resolve"):
        r = client.post(f"/issues/{s.pdam_id}/{action}", data={"csrf_token": token})
        assert r.status_code == 404, action
    r = client.post(f"/issues/{s.rising_id}/merge", data={"csrf_token": token, "others": str(s.pdam_id)})
    assert "tidak ditemukan" in r.text  # another agency's issue cannot be pulled in by guessing its id
    export = client.get("/trends/export?format=csv&agency=pdam").text
    assert "pdam" not in export and "Pedamaran" not in export
    with db.session() as session:
        pdam = session.get(Issue, s.pdam_id)
        assert pdam is not None and pdam.acknowledged_at is None and pdam.status == "open"
        denied = list(session.scalars(select(AuditLog.target).where(AuditLog.action == "access_denied")))
    assert f"issue:{s.pdam_id}" in denied


def test_agency_token_api_is_scoped(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    h = {"Authorization": f"Bearer {AGENCY_TOKEN}"}
    ids = {i["id"] for i in client.get("/api/issues?limit=500", headers=h).json()}
    assert s.rising_id in ids and s.pdam_id not in ids
    assert client.get(f"/api/issues/{s.pdam_id}", headers=h).status_code == 404
    assert client.get(f"/api/issues/{s.rising_id}", headers=h).status_code == 200
    assert client.post(f"/api/issues/{s.pdam_id}/ack", headers=h).status_code == 404
    assert client.get(f"/api/posts?issue_id={s.pdam_id}", headers=h).json() == []
    posts = client.get("/api/posts?limit=1000", headers=h).json()
    assert posts and all(p["issue_id"] != s.pdam_id for p in posts)
    trends = client.get("/api/trends?dimension=agency", headers=h).json()
    assert {series["key"] for series in trends["series"]} == {"pupr"}
    assert "pdam" not in client.get("/api/export?format=csv", headers=h).text
    assert client.get("/metrics", headers=h).status_code == 403


def test_analyst_reads_everything_but_cannot_act(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    h = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    ids = {i["id"] for i in client.get("/api/issues?limit=500", headers=h).json()}
    assert {s.rising_id, s.pdam_id} <= ids
    assert client.post(f"/api/issues/{s.rising_id}/ack", headers=h).status_code == 403
    login(client, "analis")
    token = csrf_from(client.get(f"/issues/{s.pdam_id}").text)
    assert client.post(f"/issues/{s.pdam_id}/ack", data={"csrf_token": token}).status_code == 403
    assert "Terima (tangani)" not in client.get(f"/issues/{s.pdam_id}").text


def test_agency_token_can_acknowledge_own_issue(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    r = client.post(f"/api/issues/{s.rising_id}/ack", headers={"Authorization": f"Bearer {AGENCY_TOKEN}"})
    assert r.status_code == 200
    body = r.json()
    assert body["acknowledged_by"] == "pupr" and body["alerts_acknowledged"] == 1
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        assert issue is not None and issue.acknowledged_at is not None
