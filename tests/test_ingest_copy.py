"""The bulk paths (COPY on PostgreSQL, the driver's executemany on SQLite) store exactly what a plain
SQLAlchemy ``insert`` stores: the same rows, the same copies linked, the same rejects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collectors.base import RawItem
from monitor.kernel.config import AppConfig
from monitor.stages.ingest import Ingestor, IngestReport, ingest_raw
from monitor.store import db as db_module
from monitor.store.db import Database
from monitor.store.models import Post, PostMetric, Source

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
PLACE = "Jalan rusak di Kayuagung OKI"
HOSTILE = [
    f"{PLACE}\x00 NUL di tengah\x00",
    f"{PLACE}\ttab\tdan\nbaris baru\r\nCRLF",
    f"{PLACE} \\N \\. \\\\ \\t miring terbalik \\",
    f"{PLACE} emoji 😡🙏🏽 👨‍👩‍👧 dan aksara ñ é 中文",
    f"{PLACE} \\.\n\\.\n akhir COPY palsu",
    f"{PLACE} kutip \"dua\" 'satu' `balik` ; -- komentar",
    f"{PLACE} surrogate \ud800 sendiri",
    f"{PLACE} " + "panjang\t\\ 😡 " * 2000,  # longer than max_text_chars: cut
    "\\" * 10 + f" {PLACE} " + "\t" * 10,
]


def item(n: int, **kw: Any) -> RawItem:
    base = RawItem(
        source=f"sumber-{n % 3}",
        platform="mastodon",
        external_id=f"id-{n}",
        text=f"{PLACE} nomor {n}",
        created_at=NOW - timedelta(minutes=n),
        url=f"https://example.org/p/{n}?utm_source=x",
        author=f"@Warga_{n % 4}",
        likes=n % 3,
        shares=0,
        replies=n % 2,
        views=10 * n,
    )
    return replace(base, **kw)


def odd_url(n: int) -> str:
    return f"https://example.org/a\\b/{n}\t?x=1"


def hostile_items() -> list[RawItem]:
    items = [
        item(
            n,
            text=text,
            title=("Judul\t\\N\n😡" if n % 2 else None),
            author="@a\tb\\c\n😡" if n == 3 else f"@w{n}",
            extra={"catatan": text[:50], "angka": [1, 2.5, None], "🚧": {"x": "\\N\t"}} if n % 3 == 0 else {},
            url=None if n == 4 else odd_url(n),
        )
        for n, text in enumerate(HOSTILE, start=1)
    ]
    items += [
        item(20, text=HOSTILE[1]),  # the same text again (id-2 has no title), another source: a copy of id-2
        item(21, url=odd_url(5) + "&utm_source=wa"),  # the same canonical URL as id-5: a copy
        item(22, text=HOSTILE[3], url=odd_url(6)),  # text of id-4, URL of id-6: the text is looked up first
        item(23, platform="x", external_id="1865000000000000001", url="https://x.com/a/status/1865000000000000001"),
        item(24, platform="import", external_id="HUMAS-7", url="https://twitter.com/A/status/1865000000000000001"),
        item(25, likes=7),
        item(25, likes=9),  # the same id twice in a page: the last reading wins
    ]
    return items


def dump(db: Database) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Every stored post (every column, its source by name) and engagement reading."""
    with db.session() as s:
        names = {sid: name for sid, name in s.execute(select(Source.id, Source.name))}
        posts = [
            {c.key: getattr(row, c.key) for c in Post.__table__.c} | {"source_id": names[row.source_id]}
            for row in s.scalars(select(Post).order_by(Post.id))
        ]
        metrics = [
            (m.post_id, m.at, m.likes, m.shares, m.replies, m.views)
            for m in s.scalars(select(PostMetric).order_by(PostMetric.id))
        ]
    return posts, metrics


@contextmanager
def twin(db: Database, request: pytest.FixtureRequest) -> Iterator[Database]:
    """Another empty migrated database on the same backend as ``db`` (``request``: the test's, for its fixtures)."""
    if db.is_sqlite:
        other = Database(f"sqlite:///{request.getfixturevalue('tmp_path') / 'twin.db'}")
        other.upgrade()
        try:
            yield other
        finally:
            other.dispose()
        return
    with request.getfixturevalue("pg_schema_pool").database() as other:
        yield other


def store_batch(db: Database, config: AppConfig, items: list[RawItem], now: datetime) -> IngestReport:
    """All items in one ``store_sources`` call (one transaction, one look-up), sources in order of appearance."""
    ingestor = Ingestor(config)
    by_source: dict[str, list[RawItem]] = {}
    for it in items:
        by_source.setdefault(it.source, []).append(it)
    with db.session() as s:
        return ingestor.store_sources(
            s, [(ingestor.source_row(s, name, "tes"), group) for name, group in by_source.items()], now
        )


def run_both(
    db: Database, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, scenario: Any
) -> tuple[Any, Any, Any, Any]:
    """``scenario(db)`` through the bulk path, then on a twin database through plain ``insert``."""
    fast = scenario(db)
    with twin(db, request) as other, monkeypatch.context() as m:
        m.setattr(db_module, "fast_path", lambda dialect: "")
        plain = scenario(other)
        return fast, dump(db), plain, dump(other)


def test_bulk_path_stores_what_plain_insert_stores(
    db: Database, config: AppConfig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def scenario(target: Database) -> list[tuple[int, int, int, int]]:
        first = store_batch(target, config, hostile_items(), NOW)
        # Read again later with more engagement, and a page of new posts through ingest_raw.
        grown = [replace(it, likes=it.likes + 5) for it in hostile_items()[:4]]
        again = store_batch(target, config, grown, NOW + timedelta(minutes=5))
        third = ingest_raw(target, config, [item(n) for n in range(30, 40)], NOW + timedelta(minutes=6))
        return [(r.stored, r.duplicates, r.updated, r.rejected) for r in (first, again, third)]

    fast, fast_rows, plain, plain_rows = run_both(db, request, monkeypatch, scenario)
    assert fast == plain
    assert fast_rows == plain_rows
    posts, metrics = fast_rows
    # 9 hostile, 3 copies, the tweet, id-25 once; the import of the tweet is the X post again (its views higher).
    assert fast[0] == (14, 1, 1, 0) and fast[1] == (0, 4, 4, 0) and fast[2] == (10, 0, 0, 0)
    # A first reading of each post (all have views), the import's higher views, the four grown ones.
    assert len(posts) == 24 and len(metrics) == 24 + 1 + 4

    by_ext = {p["external_id"]: p for p in posts}
    texts = {ext: p["text"] for ext, p in by_ext.items()}
    # What went in is what comes out: NUL dropped (PostgreSQL cannot store it), lone surrogate replaced, cut at
    # max_text_chars; every tab, backslash, newline, COPY marker and emoji intact.
    assert texts["id-1"] == HOSTILE[0].replace("\x00", "")
    assert [texts[f"id-{n}"] for n in (2, 3, 4, 5, 6, 9)] == [HOSTILE[n - 1] for n in (2, 3, 4, 5, 6, 9)]
    assert texts["id-7"] == HOSTILE[6].replace("\ud800", "?")
    assert texts["id-8"] == HOSTILE[7][: config.ingest.max_text_chars]
    assert by_ext["id-1"]["title"] == "Judul\t\\N\n😡"
    assert by_ext["id-3"]["extra"] == {"catatan": HOSTILE[2][:50], "angka": [1, 2.5, None], "🚧": {"x": "\\N\t"}}
    assert by_ext["id-3"]["author_key"].startswith("a_")
    assert by_ext["id-4"]["url"] is None and by_ext["id-4"]["canonical_url"] is None
    assert by_ext["id-25"]["likes"] == 9
    # Copies point to the first stored copy, text before URL.
    ids = {ext: p["id"] for ext, p in by_ext.items()}
    dup = {ext: p["duplicate_of_id"] for ext, p in by_ext.items()}
    assert dup["id-20"] == ids["id-2"] and dup["id-22"] == ids["id-4"] and dup["id-21"] == ids["id-5"]
    tweet = by_ext["1865000000000000001"]
    assert "HUMAS-7" not in by_ext and tweet["canonical_url"] == "https://x.com/i/status/1865000000000000001"


def test_one_bad_row_costs_only_itself_and_copies_skip_it(
    db: Database, config: AppConfig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def scenario(target: Database) -> tuple[int, int, list[str]]:
        items = [
            item(1, text=f"{PLACE} pertama"),
            item(2, text=f"{PLACE} yang rusak", extra={"tidak-json": {1, 2}}),  # not JSON: refused
            item(3, text=f"{PLACE} yang rusak"),  # a copy of the refused one: nothing to point to
            item(4, text=f"{PLACE} pertama"),  # a copy of id-1
            item(5, text=HOSTILE[2]),
        ]
        report = store_batch(target, config, items, NOW)
        return report.stored, report.rejected, report.errors

    fast, fast_rows, plain, plain_rows = run_both(db, request, monkeypatch, scenario)
    # The same rows and counts; the error's class may differ (SQLAlchemy wraps what it converts itself).
    assert fast[:2] == plain[:2] and fast_rows == plain_rows
    assert [e.rsplit(": ", 1)[0] for e in fast[2]] == [e.rsplit(": ", 1)[0] for e in plain[2]]
    stored, rejected, errors = fast
    assert (stored, rejected) == (4, 1)
    assert len(errors) == 1 and "'id-2' not stored: TypeError" in errors[0] and "sumber-2" in errors[0]
    posts = {p["external_id"]: p for p in fast_rows[0]}
    assert sorted(posts) == ["id-1", "id-3", "id-4", "id-5"]
    assert posts["id-3"]["duplicate_of_id"] is None and posts["id-4"]["duplicate_of_id"] == posts["id-1"]["id"]
    assert posts["id-5"]["text"] == HOSTILE[2]


def test_a_row_only_the_database_refuses_costs_only_itself(db: Database, config: AppConfig) -> None:
    """PostgreSQL refuses a platform name longer than its column inside COPY; the rest of the batch is kept."""
    items = [item(n) for n in range(1, 6)]
    items[2] = replace(items[2], platform="p" * 40)
    report = store_batch(db, config, items, NOW)
    with db.session() as s:
        stored = sorted(s.scalars(select(Post.external_id)))
    if db.is_sqlite:  # SQLite does not enforce VARCHAR lengths
        assert report.stored == 5 and report.rejected == 0
        return
    assert (report.stored, report.rejected) == (4, 1) and "'id-3' not stored" in report.errors[0]
    assert stored == ["id-1", "id-2", "id-4", "id-5"]


def test_nul_in_a_url_id_or_handle_costs_no_batch(
    db: Database, config: AppConfig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL text holds no NUL: a NUL in a URL once failed the batch's look-up, so no item of it was stored."""
    plain_handles = config.model_copy(
        update={"privacy": config.privacy.model_copy(update={"pseudonymise_authors": False})}
    )

    def scenario(target: Database) -> tuple[int, int, list[str]]:
        items = [
            item(1, url="https://example.org/a\x00b?utm_source=x"),
            item(2, external_id="id\x00-2"),  # an id cannot lose its NUL (it could become another's): rejected
            item(3, author="@wa\x00rga", parent_id="p\x00-1", extra={"k": "a\x00b"}),
            item(4),
        ]
        report = store_batch(target, plain_handles, items, NOW)
        return report.stored, report.rejected, report.errors

    fast, fast_rows, plain, plain_rows = run_both(db, request, monkeypatch, scenario)
    assert fast == plain and fast_rows == plain_rows
    stored, rejected, errors = fast
    assert (stored, rejected) == (3, 1) and "NUL" in errors[0]
    posts = {p["external_id"]: p for p in fast_rows[0]}
    assert sorted(posts) == ["id-1", "id-3", "id-4"]
    assert posts["id-1"]["url"] == "https://example.org/ab?utm_source=x"
    assert posts["id-1"]["canonical_url"] == "https://example.org/ab"
    assert posts["id-3"]["author_key"] == "warga" and posts["id-3"]["parent_external_id"] == "p-1"
    assert posts["id-3"]["extra"] == {"k": "a\x00b"}  # JSON escapes it: stored exactly
