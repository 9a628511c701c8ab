"""Triage list: which posts are listed, the page and the API (access, bad input, labels stored as corrections)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.reports.triage import parse_label, triage_count, triage_list
from monitor.stages.corrections import stored_corrections
from monitor.store.db import Database
from monitor.store.models import AuditLog, LabelCorrection, User
from monitor.web.app import create_app
from tests.triage_support import TriagePosts, seed_triage
from tests.web_support import AGENCY_TOKEN, ANALYST_TOKEN, NOW, csrf_from, login, make_clock, seed


def test_list_holds_only_uncertain_posts_that_may_be_oki_complaints(db: Database, config: AppConfig) -> None:
    posts = seed_triage(db)
    with db.session() as s:
        items = triage_list(s, config)
        assert [i.post_id for i in items] == [posts.water, posts.road]  # newest classification first
        assert triage_count(s, config) == 2
        # The floors are config: raise the relevance floor above the water post's score and it goes.
        stricter = config.model_copy(
            update={"classifier": config.classifier.model_copy(update={"triage_relevance_floor": 0.5})}
        )
        assert [i.post_id for i in triage_list(s, stricter)] == [posts.water]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"relevant": False}, {"relevant": False}),
        ({"relevant": "ya", "is_complaint": "tidak"}, {"relevant": True, "is_complaint": False}),
        (
            {"relevant": True, "is_complaint": True, "topic": "  air BERSIH "},
            {"relevant": True, "is_complaint": True, "topic": "air_bersih"},
        ),
        (
            {"relevant": True, "is_complaint": True, "topic": "pungli_korupsi"},
            {"relevant": True, "is_complaint": True, "topic": "pungli_korupsi"},
        ),
    ],
)
def test_labels_map_to_corrections(given: dict[str, object], stored: dict[str, object]) -> None:
    assert parse_label(given) == stored


# ------------------------------------------------------------------------------------------ web


@pytest.fixture
def app_env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, TriagePosts, Database]]:
    seed(sqlite_db)
    posts = seed_triage(sqlite_db)
    with TestClient(create_app(config, sqlite_db, make_clock())) as client:
        yield client, posts, sqlite_db


def _corrections(db: Database) -> list[LabelCorrection]:
    with db.session() as s:
        rows = list(s.scalars(select(LabelCorrection).where(LabelCorrection.source == "triage")))
        s.expunge_all()
    return rows


def test_comms_labels_a_post_by_api_and_it_leaves_the_list(app_env: tuple[TestClient, TriagePosts, Database]) -> None:
    client, posts, db = app_env
    login(client, "kominfo")
    token = csrf_from(client.get("/triage").text)
    listed = client.get("/api/triage").json()
    assert [p["post_id"] for p in listed] == [posts.water, posts.road]
    assert listed[0]["topic_name"] == "Air bersih" and "Teluk Gelam" in listed[0]["text"]

    r = client.post(
        f"/api/triage/{posts.water}",
        json={"relevant": True, "is_complaint": True, "topic": "Air bersih"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "post_id": posts.water,
        "stored": {"relevant": True, "is_complaint": True, "topic": "air_bersih"},
    }
    assert [p["post_id"] for p in client.get("/api/triage").json()] == [posts.road]
    rows = _corrections(db)
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "kominfo"))
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "triage_label"))
    assert user is not None and {r.user_id for r in rows} == {user.id}
    assert sorted((r.field, r.value) for r in rows) == [
        ("is_complaint", "true"),
        ("relevant", "true"),
        ("topic", "air_bersih"),
    ]
    assert audit is not None and audit.target == f"post:{posts.water}" and audit.actor == "kominfo"
    # Read back for retraining like any other correction.
    assert dict(stored_corrections(db))["Ledeng di Teluk Gelam mampet lagi"] == {
        "relevant": True,
        "is_complaint": True,
        "topic": "air_bersih",
    }


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "relevant", "relevan: wajib diisi"),
        ({"relevant": "mungkin"}, "relevant", "relevan: isi true atau false"),
        ({"relevant": False, "is_complaint": True}, "is_complaint", "keluhan: hanya untuk unggahan yang relevan"),
        ({"relevant": True}, "is_complaint", "keluhan: wajib diisi"),
        ({"relevant": True, "is_complaint": True}, "topic", "topik: wajib diisi untuk keluhan"),
        (
            {"relevant": True, "is_complaint": True, "topic": "jalan_rusak"},
            "topic",
            "topik: 'jalan_rusak' tidak dikenal",
        ),
        ({"relevant": True, "is_complaint": False, "topic": "bencana"}, "topic", "topik: hanya untuk keluhan"),
        ({"relevant": True, "is_complaint": True, "topic": 7}, "topic", "topik: isi nama topik"),
        ({"relevan": True}, "relevan", "kolom tidak dikenal"),
        ([{"relevant": True}], None, "kirim objek JSON"),
    ],
)
def test_bad_labels_are_422_naming_the_field_in_bahasa(
    app_env: tuple[TestClient, TriagePosts, Database], body: object, field: str | None, words: str
) -> None:
    client, posts, db = app_env
    login(client, "admin")
    token = csrf_from(client.get("/triage").text)
    r = client.post(f"/api/triage/{posts.road}", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()
    assert _corrections(db) == []


def test_agency_and_analyst_users_cannot_triage(app_env: tuple[TestClient, TriagePosts, Database]) -> None:
    client, posts, db = app_env
    for token in (AGENCY_TOKEN, ANALYST_TOKEN):
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/triage", headers=h).status_code == 403
        r = client.post(f"/api/triage/{posts.road}", json={"relevant": False}, headers=h)
        assert r.status_code == 403 and "Teluk Gelam" not in r.text
    login(client, "pupr")
    page = client.get("/triage")
    assert page.status_code == 403 and "Pedamaran Timur" not in page.text
    assert 'href="/triage"' not in client.get("/").text  # no menu entry either
    r = client.post(f"/triage/{posts.road}", data={"csrf_token": "x", "relevant": "tidak"}, follow_redirects=False)
    assert r.status_code == 403
    assert _corrections(db) == []
    with db.session() as s:
        denied = s.scalars(select(AuditLog.target).where(AuditLog.action == "access_denied")).all()
    assert "/api/triage" in denied and "/triage" in denied


def test_unknown_post_is_404_and_a_session_needs_the_csrf_token(
    app_env: tuple[TestClient, TriagePosts, Database],
) -> None:
    client, posts, db = app_env
    login(client, "kominfo")
    token = csrf_from(client.get("/triage").text)
    r = client.post("/api/triage/999999", json={"relevant": False}, headers={"X-CSRF-Token": token})
    assert r.status_code == 404 and "tidak ditemukan" in r.json()["detail"]
    assert client.post(f"/api/triage/{posts.road}", json={"relevant": False}).status_code == 403
    assert _corrections(db) == []


def test_page_labels_with_one_click_and_shows_retrain_runs(app_env: tuple[TestClient, TriagePosts, Database]) -> None:
    from monitor.store.models import ModelRun

    client, posts, db = app_env
    with db.session() as s:
        s.add(
            ModelRun(
                started_at=NOW - timedelta(days=1),
                finished_at=NOW - timedelta(days=1),
                trigger="schedule",
                status="refused",
                corrections=12,
                corrections_dropped=0,
                tolerance=0.005,
                current_scores={},
                candidate_scores={},
                reasons=[{"code": "no_blind", "message": "set buta tidak tersedia: tidak ada berkas *.jsonl"}],
                seconds=1.0,
            )
        )
    login(client, "kominfo")
    page = client.get("/triage").text
    assert 'href="/triage"' in page and "2</span> unggahan menunggu" in page
    assert (
        "Keluhan OKI: Infrastruktur" in page
        and "Bukan OKI" in page
        and "kota sebelah" not in page
        and "Mantap Pedamaran" not in page
    )
    assert "ditolak" in page and "set buta tidak tersedia" in page and "0 2 * * 0" in page
    token = csrf_from(page)
    r = client.post(f"/triage/{posts.road}", data={"csrf_token": token, "relevant": "tidak"})
    assert r.status_code == 200 and f"Unggahan #{posts.road} dilabeli: bukan OKI" in r.text
    assert f'id="triage-{posts.road}"' not in r.text and f'id="triage-{posts.water}"' in r.text
    assert [(c.post_id, c.field, c.value) for c in _corrections(db)] == [(posts.road, "relevant", "false")]
    bad = client.post(f"/triage/{posts.water}", data={"csrf_token": token, "relevant": "ya", "is_complaint": "ya"})
    assert "Gagal: topik: wajib diisi" in bad.text and f'id="triage-{posts.water}"' in bad.text
