"""JSON API: push ingest, trends, and the pure helpers behind pages and API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.domain import display
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Issue, Post
from monitor.web import queries, svg
from monitor.web.app import create_app
from monitor.web.routes_api import parse_ingest_body
from tests.web_support import ANALYST_TOKEN, Seeded, make_clock, seed

INGEST_ENV = "OKI_MONITOR_INGEST_TOKEN"
INGEST_TOKEN = "push-token-for-tests-0123456789"


@pytest.fixture
def env(
    config: AppConfig, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded, Database]]:
    monkeypatch.setenv(INGEST_ENV, INGEST_TOKEN)
    seeded = seed(sqlite_db)
    with TestClient(create_app(config, sqlite_db, make_clock())) as c:
        yield c, seeded, sqlite_db


def _item(n: int, **over: object) -> dict[str, object]:
    item: dict[str, object] = {
        "source": "lapor-push",
        "external_id": f"x{n}",
        "url": f"https://lapor.example/{n}",
        "author": "Warga Kayuagung",
        "text": f"Jalan di Kayuagung OKI berlubang besar nomor {n}, mohon segera diperbaiki",
        "created_at": "2026-11-29T10:00:00+07:00",
        "likes": 3,
        "shares": 1,
        "replies": 0,
        "views": 10,
    }
    item.update(over)
    return item


def _post_count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Post)) or 0)


def test_ingest_keeps_good_items_and_reports_bad_ones(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, db = env
    before = _post_count(db)
    body = [_item(1), _item(2, created_at="kemarin"), _item(3, likes=-5), "not an object", _item(4)]
    r = client.post("/api/ingest", json=body, headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["received"] == 5 and out["valid"] == 2 and out["stored"] == 2
    assert [e["index"] for e in out["errors"]] == [1, 2, 3]
    assert "created_at" in out["errors"][0]["error"] and "likes" in out["errors"][1]["error"]
    assert _post_count(db) == before + 2
    with db.session() as s:
        authors = set(s.scalars(select(Post.author_key).where(Post.external_id.in_(["x1", "x4"]))))
    assert authors and "Warga Kayuagung" not in authors  # pseudonymised on the way in
    again = client.post("/api/ingest", json=[_item(1)], headers={"Authorization": f"Bearer {INGEST_TOKEN}"}).json()
    assert again["stored"] == 0 and again["duplicates"] + again["updated"] == 1


def test_ingest_accepts_json_lines_with_a_broken_line(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, db = env
    before = _post_count(db)
    lines = "\n".join([json.dumps(_item(10)), "{broken", json.dumps(_item(11))])
    r = client.post(
        "/api/ingest",
        content=lines.encode(),
        headers={"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/x-ndjson"},
    )
    out = r.json()
    assert out["received"] == 3 and out["stored"] == 2 and out["errors"][0]["index"] == 1
    assert "line 2" in out["errors"][0]["error"]
    assert _post_count(db) == before + 2


def test_ingest_needs_the_token(env: tuple[TestClient, Seeded, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _s, _db = env
    assert client.post("/api/ingest", json=[_item(1)]).status_code == 401
    r = client.post("/api/ingest", json=[_item(1)], headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert r.status_code == 401  # a user's API token is not the ingest token
    monkeypatch.delenv(INGEST_ENV)
    r = client.post("/api/ingest", json=[_item(1)], headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
    assert r.status_code == 503 and INGEST_ENV in r.json()["detail"]


def test_trends_api_buckets_and_validation(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, _db = env
    h = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    weekly = client.get("/api/trends?dimension=topic&bucket=week&topic=infrastruktur", headers=h).json()
    assert [s["key"] for s in weekly["series"]] == ["infrastruktur"]
    points = weekly["series"][0]["points"]
    assert len(points) == 8 and [p["complaints"] for p in points] == [10, 9, 8, 7, 6, 5, 4, 3]
    monthly = client.get("/api/trends?dimension=kecamatan&bucket=month", headers=h).json()
    total_week = sum(p["complaints"] for s in weekly["series"] for p in s["points"])
    total_month = sum(p["complaints"] for s in monthly["series"] if s["key"] == "Kayu Agung" for p in s["points"])
    assert total_week == total_month == 52
    assert client.get("/api/trends?bucket=year", headers=h).status_code == 422
    warn = client.get("/api/trends?kecamatan=Atlantis", headers=h).json()["warnings"]
    assert warn and "Atlantis" in warn[0]


def test_issues_api_filters(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    h = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    assert [i["id"] for i in client.get("/api/issues?stage=naik", headers=h).json()] == [s.rising_id]
    detail = client.get(f"/api/issues/{s.rising_id}", headers=h).json()
    assert len(detail["posts"]) == 9 and all(p["author"].startswith("akun-") for p in detail["posts"])
    assert len(detail["signals"]) == 10 and detail["alerts"][0]["receiver"] == "pupr"
    with db.session() as session:
        session.get(Issue, s.pdam_id).status = "resolved"  # type: ignore[union-attr]
    assert [i["id"] for i in client.get("/api/issues?status=resolved", headers=h).json()] == [s.pdam_id]


def test_parse_ingest_body_shapes() -> None:
    assert parse_ingest_body(b"") == ([], [])
    assert parse_ingest_body(b'{"a": 1}') == ([{"a": 1}], [])
    assert parse_ingest_body(b'[{"a": 1}, 2]') == ([{"a": 1}, 2], [])
    values, errors = parse_ingest_body(b'{"a": 1}\n\nnope\n{"b": 2}\n')
    assert values == [{"a": 1}, None, {"b": 2}] and [e.index for e in errors] == [1]


def test_bucket_of_uses_wib_calendar() -> None:
    # 2026-11-29 20:30 UTC is Monday 30 Nov 03:30 WIB.
    t = datetime(2026, 11, 29, 20, 30, tzinfo=UTC)
    assert queries.bucket_of(t, "day").isoformat() == "2026-11-30T00:00:00+07:00"
    assert queries.bucket_of(t, "week").isoformat() == "2026-11-30T00:00:00+07:00"
    assert queries.bucket_of(t - timedelta(hours=4), "week").isoformat() == "2026-11-23T00:00:00+07:00"
    assert queries.bucket_of(t, "month").isoformat() == "2026-11-01T00:00:00+07:00"
    with pytest.raises(ValueError):
        queries.bucket_of(t, "year")


def test_hourly_counts_and_baseline() -> None:
    t0 = datetime(2026, 11, 29, 1, 5, tzinfo=UTC)
    counts = queries.hourly_counts([t0, t0 + timedelta(minutes=10), t0 + timedelta(hours=3)])
    assert [c for _, c in counts] == [2, 0, 0, 1]
    assert queries.baseline([1, 3, 2, 9, 9, 9, 9, 9, 9], recent=6) == 2
    assert queries.baseline([5, 5], recent=6) == 0.0


def test_author_alias_never_shows_the_handle() -> None:
    alias = queries.author_alias("@budi_kayuagung")
    assert alias.startswith("akun-") and "budi" not in alias
    assert alias == queries.author_alias("@budi_kayuagung") != queries.author_alias("@ani")


def test_safe_url_and_eta_text() -> None:
    assert display.safe_url("https://x.example/a?b=1") == "https://x.example/a?b=1"
    for bad in ("javascript:alert(1)", " JAVASCRIPT:alert(1)", "data:text/html,<b>", "//evil", "", None):
        assert display.safe_url(bad) is None
    assert display.eta_text(None) == "-" and display.eta_text(0) == "sekarang"
    assert display.eta_text(45) == "±45 menit" and display.eta_text(90) == "±1,5 jam"
    assert display.forecast_text(1.0, None) == "sudah viral" and display.forecast_text(0.6, 90) == "±1,5 jam"
    assert display.forecast_text(0.0, None) == "-"


def test_svg_escapes_labels() -> None:
    chart = svg.line_chart(["<a>", "b"], [svg.Series("<script>x</script>", [1.0, 2.0])])
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    heat = svg.heatmap(["<r>"], ["c"], {("<r>", "c"): 3.0})
    assert "<r>" not in heat.replace("<rect", "") and "&lt;r&gt;" in heat
    assert "<polyline" in svg.sparkline([1, 2, 3]) and "<polyline" not in svg.sparkline([])


def test_response_times_median_per_week() -> None:
    base = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday WIB
    issues = [
        Issue(first_seen=base, acknowledged_at=base + timedelta(hours=2), resolved_at=base + timedelta(hours=30)),
        Issue(first_seen=base, acknowledged_at=base + timedelta(hours=4), resolved_at=None),
        Issue(first_seen=base + timedelta(days=7), acknowledged_at=None, resolved_at=None),
    ]
    weeks = queries.response_times(issues)
    assert [(w.issues, w.median_ack_hours, w.median_resolve_hours) for w in weeks] == [(2, 3.0, 30.0), (1, None, None)]
