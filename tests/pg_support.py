"""A per-worker pool of migrated PostgreSQL schemas, emptied between tests instead of rebuilt.

Building a schema (the migrations' ~169 statements replayed into a new one) and dropping it with
CASCADE cost ~0.2 s of PostgreSQL CPU per test; emptying a used one costs ~0.01 s. A schema goes back
to the pool only when it is, after the reset, exactly what a fresh one is: the same catalog (tables,
columns, defaults, constraints, indexes, sequences, triggers, functions, types, rules, policies,
grants), the same alembic_version, every sequence where a fresh schema's starts, no rows. Anything
else (a test altered the schema, a connection still holds one of its tables, the reset failed) and
the schema is dropped, and the next test gets a freshly built one.

Each use renames the schema: a connection a test left open names the old one in its search_path,
so whatever it still does fails instead of writing into the next test's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from graphlib import CycleError, TopologicalSorter
from typing import Any

from sqlalchemy import Connection, create_engine, text

from monitor.store.db import Database

# One catalog query whose result is equal for two schemas exactly when a test cannot tell them apart
# (the schema's own name left out: the connection's search_path is the schema, so deparsed definitions
# name its objects unqualified, and the one that qualifies anyway has the name cut).
_FINGERPRINT = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema()),
rel AS (SELECT c.* FROM pg_class c, ns WHERE c.relnamespace = ns.oid)
SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
    SELECT concat_ws(' ', 'class', relname, relkind, relpersistence, relrowsecurity, relacl::text,
                     reloptions::text, relhasrules, relhastriggers) FROM rel
    UNION ALL
    SELECT concat_ws(' ', 'column', r.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                     a.attnotnull, a.attidentity, a.attgenerated, a.attisdropped, a.attcollation,
                     pg_get_expr(d.adbin, d.adrelid))
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    UNION ALL
    SELECT concat_ws(' ', 'constraint', co.conname, co.conrelid::regclass::text, pg_get_constraintdef(co.oid))
    FROM pg_constraint co, ns WHERE co.connamespace = ns.oid
    UNION ALL
    -- pg_get_indexdef qualifies the table whatever the search_path
    SELECT concat_ws(' ', 'index', replace(pg_get_indexdef(i.indexrelid), quote_ident(current_schema()) || '.', ''))
    FROM pg_index i JOIN rel r ON r.oid = i.indrelid
    UNION ALL
    -- a foreign key's own triggers are its constraint; their names carry an OID, different in each schema
    SELECT concat_ws(' ', 'trigger', r.relname, t.tgname, t.tgfoid::regproc::text, t.tgtype, t.tgenabled)
    FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT concat_ws(' ', 'rule', pg_get_ruledef(w.oid)) FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class
    UNION ALL
    SELECT concat_ws(' ', 'policy', p.polname, p.polrelid::regclass::text)
    FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
    UNION ALL
    SELECT concat_ws(' ', 'function', p.proname, pg_get_function_identity_arguments(p.oid))
    FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
    UNION ALL
    SELECT concat_ws(' ', 'type', t.typname, t.typtype) FROM pg_type t, ns WHERE t.typnamespace = ns.oid
    UNION ALL
    -- a fresh sequence has never been called: its last value reads NULL
    SELECT concat_ws(' ', 'sequence', r.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                     s.seqcycle, coalesce(pg_sequence_last_value(r.oid)::text, 'unused'))
    FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
) AS catalog(line)
"""

# Every sequence back to where a fresh schema's starts (never called: the next value is its start).
_RESTART_SEQUENCES = """
SELECT count(setval(s.seqrelid, s.seqstart, false))
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""

# Tables whose rows reference another table's, as (table, referenced) pairs, for an FK-safe delete order.
_REFERENCES = """
SELECT c.relname, r.relname FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid JOIN pg_class r ON r.oid = co.confrelid
WHERE co.contype = 'f' AND co.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""

_TABLES = """
SELECT relname FROM pg_class
WHERE relkind IN ('r', 'p') AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""

VERSION_TABLE = "alembic_version"

Statement = tuple[str, Any, bool]
"""A statement as the driver was sent it: SQL, parameters, whether an executemany."""


def replay(db: Database, statements: list[Statement]) -> None:
    """Send ``statements`` (as recorded from a migration run) to ``db`` in one transaction."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, params, many in statements:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params or None)
        cursor.close()
        raw.commit()
    finally:
        raw.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def new_schema_name(prefix: str = "t") -> str:
    """A schema name no other test (or other run on the same server) uses, starting with ``prefix``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def create_schema(url: str, prefix: str = "t") -> str:
    """Create a new, empty schema on the server at ``url`` and return its name (see ``new_schema_name``); the
    caller drops it."""
    schema = new_schema_name(prefix)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {_quoted(schema)}"))
    admin.dispose()
    return schema


class _Template:
    """What a fresh schema looks like, and the statements that bring a used one back to it."""

    def __init__(self, conn: Connection) -> None:
        tables = sorted(conn.execute(text(_TABLES)).scalars())
        graph: dict[str, set[str]] = {t: set() for t in tables}
        for child, parent in conn.execute(text(_REFERENCES)):
            if child != parent:  # a self-reference is no order: one DELETE removes referencing and referenced rows
                graph[child].add(parent)
        try:
            # Parents first; deleting in reverse, children go before the rows they reference.
            order = list(TopologicalSorter(graph).static_order())
        except CycleError:
            order = []
        data = [t for t in tables if t != VERSION_TABLE]
        self.tables = tables
        if order:
            self.delete = "; ".join(f"DELETE FROM {_quoted(t)}" for t in reversed(order) if t != VERSION_TABLE)
        else:  # tables referencing each other: only TRUNCATE empties them in one step (and costs more)
            self.delete = f"TRUNCATE {', '.join(_quoted(t) for t in data)}"
        # Rows in any table but alembic_version, which the fingerprint reads in full.
        self.rows_left = " OR ".join(f"EXISTS (SELECT FROM {_quoted(t)})" for t in data) or "false"
        self.fingerprint = self.read(conn)

    def read(self, conn: Connection) -> str:
        """The fingerprint of the schema on ``conn``'s search_path: catalog, alembic_version, whether rows are left."""
        catalog = conn.execute(text(_FINGERPRINT)).scalar_one()
        versions = sorted(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
        rows_left = conn.execute(text(f"SELECT {self.rows_left}")).scalar_one()
        return f"{catalog}\nversion {versions}\nrows left {rows_left}"


class _NotFresh(Exception):
    """A schema that, emptied, is still not what a freshly built one is."""


class PgSchemaPool:
    """Migrated schemas in ``url``'s database, built by ``build`` and handed out one per test.

    ``build(db)`` migrates the empty schema behind ``db`` (e.g. replays recorded migration statements).
    """

    def __init__(self, url: str, build: Callable[[Database], None]) -> None:
        self.url = url
        self._build = build
        # JIT off: the fingerprint query's cost estimate (from catalog statistics a server creating and dropping
        # many schemas inflates) can pass jit_above_cost, and compiling it took ~1 s of server CPU; it runs in ~0.05 s.
        self._admin = create_engine(url, pool_size=1, max_overflow=2, connect_args={"options": "-c jit=off"})
        self._template: _Template | None = None
        self._idle: list[str] = []
        self._in_use: set[str] = set()
        self.built = 0
        self.reused = 0
        self.dropped = 0

    def acquire(self) -> tuple[Database, str]:
        """A migrated schema with no rows and unused sequences; returns a Database on it and its name."""
        if self._idle:
            schema = self._idle.pop()
            self.reused += 1
        else:
            schema = self._new_schema()
        self._in_use.add(schema)
        return Database(schema_url(self.url, schema)), schema

    @contextmanager
    def database(self) -> Iterator[Database]:
        """A migrated database with no rows, given back (emptied or dropped) on exit."""
        db, schema = self.acquire()
        try:
            yield db
        finally:
            self.release(db, schema)

    def release(self, db: Database, schema: str) -> str | None:
        """Dispose ``db``, empty the schema and pool it again; returns its new name, or None when dropped."""
        self._in_use.discard(schema)
        db.dispose()  # the test's connections, and the session-level advisory locks they hold, are gone
        renamed = new_schema_name()
        try:
            with self._admin.begin() as conn:
                self._reset(conn, schema, renamed)
        except Exception:  # rolled back, so under its old name; in whatever state the test left it: not reused
            self.drop(schema)
            return None
        self._idle.append(renamed)
        return renamed

    def _reset(self, conn: Connection, schema: str, renamed: str) -> None:
        template = self._template
        assert template is not None
        # NOWAIT: a connection still inside a transaction on one of the tables (left by the test, or
        # something it started) fails the reset instead of having its rows deleted under it.
        tables = ", ".join(f"{_quoted(schema)}.{_quoted(t)}" for t in template.tables)
        conn.exec_driver_sql(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE NOWAIT")
        conn.exec_driver_sql(f"ALTER SCHEMA {_quoted(schema)} RENAME TO {_quoted(renamed)}")
        conn.exec_driver_sql(f"SET LOCAL search_path TO {_quoted(renamed)}")
        conn.exec_driver_sql(template.delete)
        conn.execute(text(_RESTART_SEQUENCES))
        if template.read(conn) != template.fingerprint:
            raise _NotFresh(schema)

    def _new_schema(self) -> str:
        schema = new_schema_name()
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {_quoted(schema)}")
        db = Database(schema_url(self.url, schema))
        try:
            self._build(db)
        except BaseException:
            db.dispose()
            self.drop(schema)
            raise
        db.dispose()
        self.built += 1
        if self._template is None:
            with self._admin.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL search_path TO {_quoted(schema)}")
                self._template = _Template(conn)
        return schema

    def drop(self, schema: str) -> None:
        """Drop ``schema``, ending first any connection that still holds one of its tables (it would block the drop)."""
        self.dropped += 1
        with self._admin.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :schema) "
                    "AND l.pid <> pg_backend_pid() GROUP BY l.pid"
                ),
                {"schema": schema},
            )
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {_quoted(schema)} CASCADE")

    def close(self) -> None:
        """Drop every schema of the pool, pooled or still in use."""
        for schema in [*self._idle, *self._in_use]:
            self.drop(schema)
        self._idle.clear()
        self._in_use.clear()
        self._admin.dispose()


@contextmanager
def schema_pool(url: str, statements: list[Statement]) -> Iterator[PgSchemaPool]:
    """A pool whose schemas are built by replaying ``statements``; every schema it still holds is dropped on exit."""
    pool = PgSchemaPool(url, lambda db: replay(db, statements))
    try:
        yield pool
    finally:
        pool.close()
