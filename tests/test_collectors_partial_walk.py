"""X and TikTok keep the posts of the pages already read when a later page times out or fails.

Through the real collect path (``run_source`` into SQLite and PostgreSQL) against a local server
whose second page misbehaves: a slow drip past the total deadline, an HTTP 500, a document cut
in half. The run must store the first page's posts, stay ``ok`` with the failure named in
source health (``last_reject``), and save where the walk stopped so the next run reads the
rest: nothing skipped, nothing lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from collectors.base import load_collector
from monitor.kernel.config import AppConfig, SourceConfig
from monitor.stages.collect import run_source
from monitor.store.db import Database
from monitor.store.models import Post, Source
from tests.hostile import cut_short, drip, hostile, send

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The timeout cases wait the deadline out: half a second is still ~100x what a good local page takes.
SMALL = {"deadline_seconds": 0.5, "max_bytes": 1 << 20}
TIKTOK_SECRETS = {"TIKTOK_CLIENT_KEY": "awkey0123456789", "TIKTOK_CLIENT_SECRET": "secret-abcdef-0123456789"}
Handler = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]


def body_of(platform: str, name: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))["body"]).encode()


def good(data: bytes) -> Handler:
    return lambda h, q: send(h, 200, data)


FAILURES: dict[str, Callable[[bytes], Handler]] = {
    "timeout": lambda page: lambda h, q: drip(h, 0.05, 3.0),
    "http_500": lambda page: lambda h, q: send(h, 500, b'{"title":"Internal Error"}'),
    "cut_document": lambda page: lambda h, q: cut_short(h, page),
}


def in_turn(*handlers: Handler) -> Handler:
    """Each request gets the next handler; the last one repeats."""
    left = list(handlers)

    def route(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        (left.pop(0) if len(left) > 1 else left[0])(h, q)

    return route


def stored(db: Database, name: str) -> tuple[Source, set[str]]:
    with db.session() as session:
        row = session.scalar(select(Source).where(Source.name == name))
        assert row is not None
        ids = set(session.scalars(select(Post.external_id).where(Post.source_id == row.id)))
        session.expunge(row)
    return row, ids


def run(db: Database, config: AppConfig, kind: str, name: str, settings: dict[str, Any], now: datetime) -> None:
    secrets = TIKTOK_SECRETS if kind == "tiktok" else {"X_BEARER_TOKEN": "test-bearer-AAAAsecret0123456789"}
    collector = load_collector(kind, name, settings, secrets)
    with httpx.Client(timeout=5.0) as client:
        report = run_source(db, config, SourceConfig(name=name, kind=kind, settings=settings), collector, client, now)
    assert report.ok, report.error


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_x_keeps_first_page_when_second_fails(failure: str, db: Database, config: AppConfig) -> None:
    page1, page2 = body_of("x", "search_page1.json"), body_of("x", "search_page2.json")
    now = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    name = f"x-{failure}"
    with hostile() as server:
        server.routes["/2/tweets/search/recent"] = in_turn(good(page1), FAILURES[failure](page2), good(page2))
        # One explicit query: the default is several gazetteer queries, each with its own walk.
        settings = {"base_url": server.base_url, "query": "OKI", **SMALL}
        run(db, config, "x", name, settings, now)
        row, ids = stored(db, name)
        assert ids == {"1985000000000000003", "1985000000000000002"}
        assert row.status == "ok" and row.last_reject and "halaman 2 gagal" in row.last_reject
        assert row.cursor["resume"]["next_token"] == "b26v89c19zqg8o3fosbkqy0xx1a4az5s1kj5a6rxhfu9l"
        run(db, config, "x", name, settings, now)  # finishes the chain from the failed page
        hits = [q for path, q, _ in server.hits if path == "/2/tweets/search/recent"]
    row, ids = stored(db, name)
    assert ids == {"1985000000000000003", "1985000000000000002", "1985000000000000001"}
    assert "resume" not in row.cursor and row.cursor["since_id"] == "1985000000000000003"
    assert hits[-1]["next_token"] == "b26v89c19zqg8o3fosbkqy0xx1a4az5s1kj5a6rxhfu9l"


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_tiktok_keeps_first_page_when_second_fails(failure: str, db: Database, config: AppConfig) -> None:
    page1, page2 = body_of("tiktok", "query_page1.json"), body_of("tiktok", "query_page2.json")
    now = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    name = f"tt-{failure}"
    with hostile() as server:
        server.routes["/v2/oauth/token/"] = good(body_of("tiktok", "token.json"))
        server.routes["/v2/research/video/query/"] = in_turn(good(page1), FAILURES[failure](page2), good(page2))
        server.routes["/v2/research/video/comment/list/"] = good(body_of("tiktok", "comments.json"))
        settings = {"base_url": server.base_url, **SMALL}
        run(db, config, "tiktok", name, settings, now)
        row, ids = stored(db, name)
        assert {"7432000000000000003", "7432000000000000002"} <= ids  # page 1 (and the comments of its video)
        assert "7432000000000000001" not in ids
        assert row.status == "ok" and row.last_reject and "halaman 2 gagal" in row.last_reject
        # The walk is pending: the watermark has not moved past the unread page, which is resumed next run.
        assert "newest_create_time" not in row.cursor
        assert row.cursor["resume"]["cursor"] == 100 and row.cursor["resume"]["search_id"] == "7432000000000000999"
        run(db, config, "tiktok", name, settings, now)
    row, ids = stored(db, name)
    assert "7432000000000000001" in ids
    assert "resume" not in row.cursor and row.cursor["newest_create_time"] == 1793598000


def test_tiktok_failed_comments_keep_the_videos(db: Database, config: AppConfig) -> None:
    now = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    page = json.loads(body_of("tiktok", "query_page1.json"))
    page["data"]["has_more"] = False
    with hostile() as server:
        server.routes["/v2/oauth/token/"] = good(body_of("tiktok", "token.json"))
        server.routes["/v2/research/video/query/"] = good(json.dumps(page).encode())
        server.routes["/v2/research/video/comment/list/"] = lambda h, q: drip(h, 0.05, 3.0)
        run(db, config, "tiktok", "tt-comments", {"base_url": server.base_url, **SMALL}, now)
    row, ids = stored(db, "tt-comments")
    assert ids == {"7432000000000000003", "7432000000000000002"}
    assert row.status == "ok" and row.last_reject and "komentar video" in row.last_reject
    assert row.cursor["newest_create_time"] == 1793598000
