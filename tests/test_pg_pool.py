"""The pool of migrated PostgreSQL schemas behind the ``db`` fixture (tests/pg_support.py).

A schema goes from one test to the next only as a fresh one would be: no rows, every id starting
where a fresh schema's starts. One a test changed in any other way is dropped, not handed on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from monitor.store.db import Database
from monitor.store.models import Post, Source
from tests.conftest import PG_URL
from tests.pg_support import PgSchemaPool, Statement, schema_pool

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def pool(pg_migration_statements: list[Statement]) -> Iterator[PgSchemaPool]:
    """A pool of its own, so what it builds, reuses and drops is this test's alone."""
    with schema_pool(PG_URL, pg_migration_statements) as own:
        yield own


def _schemas() -> set[str]:
    admin = create_engine(PG_URL)
    try:
        with admin.connect() as conn:
            return set(conn.execute(text("SELECT nspname FROM pg_namespace")).scalars())
    finally:
        admin.dispose()


def _fill(db: Database) -> None:
    """Rows in two tables, one referencing the other, and every sequence of the schema moved on."""
    with db.session() as s:
        for n in range(3):
            source = Source(name=f"src-{n}", kind="rss")
            s.add(source)
            s.flush()
            s.add(
                Post(
                    source_id=source.id,
                    platform="rss",
                    external_id=f"p{n}",
                    created_at=NOW,
                    collected_at=NOW,
                    content_hash=f"h{n}",
                )
            )
        sequences = s.scalars(
            text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")
        ).all()
        assert sequences, "the schema has sequences to reset"
        for name in sequences:
            s.execute(text("SELECT nextval(:name)"), {"name": name})


def _rows(db: Database) -> dict[str, int]:
    """Row count of every table but alembic_version."""
    with db.session() as s:
        tables = s.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        ).all()
        return {t: s.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def test_a_used_schema_comes_back_with_no_rows_and_ids_from_the_start(pool: PgSchemaPool) -> None:
    first, schema = pool.acquire()
    assert _rows(first) and not any(_rows(first).values()), "a fresh schema has tables and no rows"
    _fill(first)
    assert _rows(first)["posts"] == 3
    lingering = Database(first.url)  # a connection a test forgot: it must not reach the next test's data
    with lingering.session() as s:
        s.execute(text("SELECT 1"))

    renamed = pool.release(first, schema)
    assert renamed is not None, "an emptied schema goes back to the pool"
    second, again = pool.acquire()
    try:
        assert again == renamed and pool.built == 1, "the next test gets the same schema, not a new one"
        assert not any(_rows(second).values()), "no row of the first use is left"
        with second.session() as s:
            source = Source(name="src-0", kind="rss")
            s.add(source)
            s.flush()
            assert source.id == 1, "ids start where a fresh schema's do"
            post = Post(
                source_id=1, platform="rss", external_id="p0", created_at=NOW, collected_at=NOW, content_hash="h0"
            )
            s.add(post)
            s.flush()
            assert post.id == 1
            version = s.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert version == [second.head_revision()]
        with pytest.raises(DBAPIError), lingering.session() as s:  # its search_path names a schema that is gone
            s.execute(select(Source.id))
    finally:
        lingering.dispose()
        pool.release(second, again)


SCHEMA_CHANGES = {
    "add_column": "ALTER TABLE sources ADD COLUMN spare integer",
    "new_table": "CREATE TABLE spare (id serial PRIMARY KEY)",
    "new_index": "CREATE INDEX ix_spare ON posts (title)",
    "dropped_default": "ALTER TABLE sources ALTER COLUMN region_code DROP DEFAULT",
    "other_version": "UPDATE alembic_version SET version_num = '0001'",
    "sequence_starting_elsewhere": "ALTER SEQUENCE sources_id_seq START WITH 100",
}
"""What a test may leave changed in its schema, each a way a fresh schema's fingerprint must tell apart."""


@pytest.mark.parametrize("change", SCHEMA_CHANGES.values(), ids=SCHEMA_CHANGES.keys())
def test_a_schema_a_test_changed_is_dropped_not_reused(pool: PgSchemaPool, change: str) -> None:
    db, schema = pool.acquire()
    with db.session() as s:
        s.execute(text(change))
    assert pool.release(db, schema) is None
    assert schema not in _schemas()
    other, fresh = pool.acquire()
    try:
        assert fresh != schema and pool.built == 2, "the next test gets a newly built schema"
        with other.session() as s:
            source = Source(name="src", kind="rss")
            s.add(source)
            s.flush()
            assert source.id == 1
    finally:
        pool.release(other, fresh)


def test_a_schema_a_connection_still_holds_is_dropped_not_reused(pool: PgSchemaPool) -> None:
    db, schema = pool.acquire()
    other = Database(db.url)
    left_open = other.new_session()  # a transaction the test never ended, its row not committed
    left_open.add(Source(name="src", kind="rss"))
    left_open.flush()
    try:
        assert pool.release(db, schema) is None, "its row could still be committed into the next test's schema"
        assert schema not in _schemas()
    finally:
        with contextlib.suppress(DBAPIError):  # its connection was ended so the schema could be dropped
            left_open.close()
        other.dispose()
