"""Engines, sessions, and the schema-version check.

SQLite (the embedded default) is opened in WAL mode with a busy timeout, and
every transaction starts with ``BEGIN IMMEDIATE`` so a reader that later writes
never meets SQLITE_BUSY halfway. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import ast
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    DateTime,
    Engine,
    String,
    Table,
    any_,
    create_engine,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.selectable import TableValuedAlias

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database schema is not the one this version of the code expects."""


def _sqlite_setup(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL by default: alerts in the outbox must survive a power loss, and it costs ~4 % on batched
        # ingest. NORMAL (still crash-safe, not power-loss-safe) is for throw-away databases like the demo's.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for ``sqlite:///PATH`` or ``postgresql+psycopg://...``, set up for this app."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError("sqlite_synchronous must be FULL or NORMAL")
        _sqlite_setup(engine, sqlite_synchronous)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ValueError(
        f"database URL {parsed.render_as_string(hide_password=True)!r} is not supported: "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )


VERSION_TABLE = "alembic_version"
"""Where Alembic keeps the schema's revision (its default name)."""


@cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files without importing Alembic.

    Every command checks the schema before it works; Alembic (with Mako) costs each process ~0.3 s
    of CPU to import, more than the rest of the check. Migrations here form one line: the head is
    the one revision no other names as its ``down_revision`` (tests/test_storage.py holds this to
    Alembic's own answer).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
                if name == "revision" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    revisions.add(value.value)
                elif name == "down_revision" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parents.add(value.value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({sorted(heads)}); expected one line of revisions")
    return heads.pop()


def alembic_config(url: str) -> AlembicConfig:
    """Alembic's config for the migrations shipped in this package, on ``url``."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One database: engine, session factory and schema management."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> Session:
        """A session the caller manages (commit/rollback/close) — for long-lived readers."""
        return self._sessions()

    def upgrade(self) -> None:
        """Apply every migration up to the newest (a no-op when already there)."""
        from alembic import command

        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        """The schema's revision as Alembic stored it; None for a database without one."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(VERSION_TABLE):
                return None
            versions = list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
        if len(versions) > 1:
            raise SchemaOutOfDate(f"Database schema has several revisions {sorted(versions)}; expected one")
        return versions[0] if versions else None

    def head_revision(self) -> str:
        """The revision this version of the code expects (the newest migration)."""
        return head_revision()

    def check_schema(self) -> None:
        """Refuse to work on a schema this code does not know; say which command fixes it."""
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        if current is None:
            raise SchemaOutOfDate("Basis data belum disiapkan (database has no schema). Run: oki-monitor db upgrade")
        raise SchemaOutOfDate(
            f"Database schema is at revision {current}, this version needs {head}. Run: oki-monitor db upgrade"
        )

    def dispose(self) -> None:
        self.engine.dispose()


DECISION_LOCK_KEY = 0x4F4B4901
"""The PostgreSQL advisory lock under which alerts are decided (any number, fixed for the project)."""


def region_lock_id(region: str) -> int:
    """The second key of a region's decision lock: a stable 31-bit number of its code.

    Two codes with the same number only take turns needlessly; they never decide at once wrongly.
    """
    return zlib.crc32(region.encode()) & 0x7FFFFFFF


def lock_decisions(session: Session, region: str | None = None) -> None:
    """Hold the alert-decision lock until the session's transaction ends.

    Deciding an alert reads which alerts exist and then adds one; two processes doing that at
    once (two workers' pipeline and housekeeping jobs) would both add it. On PostgreSQL a
    transaction-scoped advisory lock makes them take turns; the second then sees the first's
    alerts. SQLite's ``BEGIN IMMEDIATE`` already serialises every writing transaction. Take it
    at the start of a transaction, before its first write, so two holders of row locks never
    wait for each other.

    ``region``: the decisions of one region only (a region's pipeline pass, whose issues and
    alerts are all of that region). It holds the deployment lock *shared* and the region's own
    lock exclusively, so the passes of two regions decide side by side (two workers) while a
    deployment-wide decider (housekeeping: digests, source health, every region's escalations),
    which holds the deployment lock exclusively, still takes turns with each of them. Always in
    that order (deployment, then region), so no two holders wait for each other.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    if region is None:
        session.execute(select(func.pg_advisory_xact_lock(DECISION_LOCK_KEY)))
        return
    session.execute(select(func.pg_advisory_xact_lock_shared(DECISION_LOCK_KEY)))
    # The two-key form is a key space of its own: no region's lock is ever the deployment's.
    session.execute(select(func.pg_advisory_xact_lock(DECISION_LOCK_KEY, region_lock_id(region))))


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in the session's transaction.

    The hot bulk inserts of ingest (posts, metrics, labels, memberships) skip SQLAlchemy's per-row
    parameter dicts: the values go through the columns' own bind processing (naive UTC times, JSON)
    once, then to the driver. PostgreSQL (psycopg) gets one ``COPY``: a pipelined executemany sends
    and parses a statement per row, about half of the store stage there; SQLite gets the driver's
    executemany. Errors come back as SQLAlchemy errors, so callers' savepoints and retries work as
    with ``insert``. Other databases, or a table whose left-out columns have Python-side defaults
    (which only SQLAlchemy's insert applies), get a plain ``insert`` executemany.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    kind = fast_path(dialect)
    if kind not in ("postgresql", "sqlite") or any(
        c.key not in keys and (c.default is not None or c.onupdate is not None) for c in table.c
    ):
        session.execute(insert(table), rows)
        return
    columns = [table.c[k] for k in keys]
    # Column by column, not row by row: one comprehension per column instead of a Python loop over
    # every (row, converted column) pair, which was a third of the hot inserts' client time.
    values: list[list[Any]] = [[row[k] for row in rows] for k in keys]
    for i, column in enumerate(columns):
        proc = column.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            values[i] = _converted(values[i], proc, getattr(column.type, "impl", column.type))
    data = list(zip(*values, strict=True))

    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.format_column(c) for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    if kind == "sqlite":
        sql = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({', '.join('?' * len(keys))})"
        cursor = raw.cursor()
        # Cursor events as SQLAlchemy would fire them: statement counters and the outage tests see this.
        conn.dispatch.before_cursor_execute(conn, cursor, sql, rows, None, True)
        try:
            cursor.executemany(sql, data)
            conn.dispatch.after_cursor_execute(conn, cursor, sql, rows, None, True)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error, dialect=dialect) from exc
        finally:
            cursor.close()
        return
    import psycopg  # only PostgreSQL deployments need it

    sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
    try:
        with raw.cursor() as cursor:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, rows, None, True)
            with cursor.copy(sql) as copy:
                for out in data:
                    copy.write_row(out)
            conn.dispatch.after_cursor_execute(conn, cursor, sql, rows, None, True)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, dialect=dialect) from exc


def fast_path(dialect: Any) -> str:
    """Which of ``bulk_insert``'s driver-level paths a dialect takes: "postgresql" (COPY), "sqlite", or ""."""
    return str(dialect.name) if dialect.driver in ("psycopg", "pysqlite") else ""


def _converted(values: list[Any], proc: Callable[[Any], Any], impl: Any) -> list[Any]:
    """``[proc(v) for v in values]``, converting each repeated value once where that is cheap to know."""
    if isinstance(impl, DateTime):
        # Times are mostly the batch's one "now": convert each distinct value once.
        memo = {v: proc(v) for v in set(values)}
        return [memo[v] for v in values]
    if isinstance(impl, JSON):
        # Mostly empty ({} extra, [] urgency cues): serialise those once per type, the rest one by one.
        empty: dict[type, Any] = {}
        out = []
        for v in values:
            if not v and type(v) in (dict, list):
                kind = type(v)
                if kind not in empty:
                    empty[kind] = proc(v)
                out.append(empty[kind])
            else:
                out.append(proc(v))
        return out
    return [proc(v) for v in values]


_SQLITE_JSON_EACH = sqlite3.sqlite_version_info >= (3, 38)
"""json_each is built into SQLite from 3.38 (before, only when compiled with JSON1)."""


def value_list(session: Session, column: QueryableAttribute[Any], values: Sequence[Any]) -> TableValuedAlias | None:
    """``values`` as a one-column table (column ``value``) bound as a single parameter, or None.

    PostgreSQL: ``unnest(array)``; SQLite: ``json_each(json text)`` for plain str/int values. Either
    way the statement text is the same for every list length, so it is compiled and prepared once
    (an IN list of n values is a new statement for every n). None where neither applies.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return func.unnest(literal(list(values), ARRAY(column.type))).table_valued("value").render_derived()
    if dialect == "sqlite" and _SQLITE_JSON_EACH and all(type(v) in (int, str) for v in values):
        return func.json_each(literal(json.dumps(list(values)), String())).table_valued("value")
    return None


def one_of(session: Session, column: QueryableAttribute[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``, with the list bound as one parameter where the database allows.

    An IN list of n values is a new statement for every n: SQLAlchemy renders n parameters (with
    their casts on PostgreSQL) and the driver parses the text again each time (~15 % of the store
    stage on PostgreSQL in cProfile, ~4 % of the whole run on SQLite in py-spy). PostgreSQL gets
    ``column = ANY(array)``, SQLite ``column IN (SELECT value FROM json_each(?))``: one cached,
    prepared statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    each = value_list(session, column, values)
    if each is not None:
        return column.in_(select(each.c.value))
    return column.in_(values)
