"""Ingest: idempotent, batched, a bad item skipped and the rest kept — on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from collectors.base import RawItem
from monitor.kernel.config import AppConfig
from monitor.stages.ingest import Ingestor, ingest_raw
from monitor.store.db import Database
from monitor.store.models import Post, PostMetric

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def item(n: int, **kw: object) -> RawItem:
    base = RawItem(
        source="tes-sumber",
        platform="mastodon",
        external_id=f"id-{n}",
        text=f"Jalan di Desa Sri Tanjung Kecamatan Cengal OKI rusak parah nomor {n}",
        created_at=NOW - timedelta(minutes=n),
        url=f"https://example.org/p/{n}?utm_source=x",
        author="@Warga_Cengal",
        likes=n,
        shares=0,
        replies=1,
        views=10,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_same_item_twice_is_one_row_and_new_counts_are_snapshots(db: Database, config: AppConfig) -> None:
    items = [item(i) for i in range(1, 6)]
    first = ingest_raw(db, config, items, NOW)
    assert (first.stored, first.duplicates) == (5, 0)
    again = ingest_raw(db, config, items, NOW)
    assert (again.stored, again.duplicates, again.updated) == (0, 5, 0)
    assert count(db, Post) == 5
    snapshots_before = count(db, PostMetric)
    grown = [replace(i, likes=i.likes + 100) for i in items[:2]]
    third = ingest_raw(db, config, grown, NOW + timedelta(minutes=5))
    assert (third.stored, third.updated) == (0, 2)
    assert count(db, Post) == 5
    assert count(db, PostMetric) == snapshots_before + 2
    with db.session() as s:
        post = s.scalar(select(Post).where(Post.external_id == "id-1"))
        assert post is not None and post.likes == 101


def test_bad_item_is_skipped_and_batch_kept(db: Database, config: AppConfig) -> None:
    items = [
        item(1),
        item(2, text="   "),  # empty
        item(3, created_at=datetime(1970, 1, 1, tzinfo=UTC)),
        item(4, created_at=NOW + timedelta(days=30)),
        item(5, likes=-3),
        item(6, text="Jalan rusak Cengal OKI\x00 dengan NUL"),  # PostgreSQL rejects NUL: cleaned, kept
        item(7),
    ]
    report = ingest_raw(db, config, items, NOW)
    assert report.stored == 3
    assert report.rejected == 4
    assert all("tes-sumber" in e for e in report.errors)
    with db.session() as s:
        stored = set(s.scalars(select(Post.external_id)))
    assert stored == {"id-1", "id-6", "id-7"}


def test_duplicate_ids_within_one_page_keep_the_last(db: Database, config: AppConfig) -> None:
    report = ingest_raw(db, config, [item(1, likes=1), item(1, likes=9)], NOW)
    assert report.stored == 1
    with db.session() as s:
        assert s.scalar(select(Post.likes)) == 9


def test_authors_are_pseudonymised(db: Database, config: AppConfig) -> None:
    ingest_raw(db, config, [item(1), item(2, author="warga_cengal")], NOW)
    with db.session() as s:
        keys = list(s.scalars(select(Post.author_key)))
    assert len(set(keys)) == 1  # same person, same pseudonym ("@" and case ignored)
    assert "cengal" not in keys[0].lower() and keys[0].startswith("a_")


def test_same_story_through_two_sources_is_linked(db: Database, config: AppConfig) -> None:
    a = item(1, source="portal-a", url="https://berita.example/jalan-cengal?utm_source=fb")
    b = item(1, source="portal-b", url="https://berita.example/jalan-cengal", external_id="other-id")
    ingest_raw(db, config, [a], NOW)
    ingest_raw(db, config, [b], NOW)
    with db.session() as s:
        posts = {p.external_id: p for p in s.scalars(select(Post))}
    assert posts["other-id"].duplicate_of_id == posts["id-1"].id


def test_prefilter_drops_items_with_no_oki_evidence(db: Database, config: AppConfig) -> None:
    report = ingest_raw(db, config, [item(1, text="Harga cabai naik di Bandung hari ini")], NOW)
    assert (report.stored, report.filtered) == (0, 1)


def test_ingestor_store_in_callers_transaction(sqlite_db: Database, config: AppConfig) -> None:
    ing = Ingestor(config)
    with sqlite_db.new_session() as s:  # closed without commit: nothing may persist
        src = ing.source_row(s, "tes-sumber", "mastodon")
        rep = ing.store(s, src, [item(1), item(2)], NOW)
        assert rep.stored == 2
    assert count(sqlite_db, Post) == 0


def test_awkward_text_and_extra_round_trip_unchanged(db: Database, config: AppConfig) -> None:
    """Bulk inserts skip SQLAlchemy's statement path (COPY on PostgreSQL): every character must survive."""
    awkward = 'OKI Cengal jalan\trusak\nbaris dua \\N \\. \\\\ "kutip" \'satu\' 😡 ñ \r akhir'
    extra = {"catatan": "tab\tbaris\nmiring\\ \\N", "angka": [1, 2.5, None], "🚧": {"x": "y"}}
    ingest_raw(db, config, [item(1, text=awkward, title="Judul\t\\N", extra=extra, url=None)], NOW)
    with db.session() as s:
        post = s.scalar(select(Post).where(Post.external_id == "id-1"))
        assert post is not None
        assert post.text == awkward and post.title == "Judul\t\\N"
        assert post.extra == extra
        assert post.url is None and post.canonical_url is None
        assert post.created_at.replace(tzinfo=UTC) == NOW - timedelta(minutes=1)


def test_copy_links_to_the_first_stored_copy_of_text_and_url(db: Database, config: AppConfig) -> None:
    """Several stored copies: a new one links to the smallest id (the first-copy look-up of 0004)."""
    text = "Jembatan di Desa Sri Tanjung Kecamatan Cengal OKI ambruk"
    for n in range(1, 4):  # three copies of the text, each from another source, stored one by one
        ingest_raw(db, config, [item(n, source=f"s{n}", text=text, url=f"https://a.example/{n}")], NOW)
    ingest_raw(db, config, [item(9, source="s9", url="https://a.example/2?utm_source=x")], NOW)
    ingest_raw(db, config, [item(10, source="s10", text=text, url=None)], NOW)
    with db.session() as s:
        posts = {p.external_id: p for p in s.scalars(select(Post))}
    first = posts["id-1"].id
    assert [posts[f"id-{n}"].duplicate_of_id for n in (2, 3, 10)] == [first, first, first]
    assert posts["id-9"].duplicate_of_id == posts["id-2"].id  # same canonical URL, other text


def test_one_of_binds_the_list_once_and_matches_in(db: Database, config: AppConfig) -> None:
    """one_of's one-parameter forms (ANY(array), json_each) select what an IN list selects."""
    from monitor.store.db import one_of

    odd = ["id-1", "12", "0012", 'q"uote', "back\\slash", "ñ😡", "null", "[1]"]
    ingest_raw(db, config, [item(n, external_id=e) for n, e in enumerate(odd, start=1)], NOW)
    with db.session() as s:
        for wanted in (odd, odd[1:3], ["12.0", "missing"], []):
            got = set(s.scalars(select(Post.external_id).where(one_of(s, Post.external_id, wanted))))
            assert got == set(wanted) & set(odd)
        ids = list(s.scalars(select(Post.id).order_by(Post.id)))
        assert list(s.scalars(select(Post.id).where(one_of(s, Post.id, ids[:3])).order_by(Post.id))) == ids[:3]
