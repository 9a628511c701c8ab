"""Shared fixtures: a fresh database on SQLite and on PostgreSQL, the default config.

PostgreSQL tests use a schema of their own in the database named by
OKI_TEST_PG_URL (default: the local server CI provides): a migrated one from
the worker's pool (``tests/pg_support.py``, emptied and checked between tests),
or a new empty one for the tests of the migrations themselves. When CI is set and
PostgreSQL is unreachable, the tests fail instead of skipping: a storage
layer that was never run on the production database is not tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, event, text

from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from tests.browser_support import browser, chromium, server  # noqa: F401 - fixtures of the browser tests
from tests.pg_support import PgSchemaPool, Statement, create_schema, schema_pool, schema_url
from tests.telegram_server import smtp, tg  # noqa: F401 - the Telegram stub and mail sink of the alert tests
from tests.whatsapp_support import wa  # noqa: F401 - the WhatsApp stub of the alert and intake tests


def pytest_configure(config: pytest.Config) -> None:
    """Refuse ``--dist loadgroup`` under a pytest whose node ids pytest-xdist cannot tag with their group.

    xdist groups a test by appending ``@group`` to its node id on the worker; pytest 9.2 made node ids
    structured and the suffix is lost (pytest-dev/pytest-xdist#1386). Nothing fails then: every
    expensive module fixture marked ``xdist_group`` (the demo run, a trained model, a built wheel) is
    simply built once per worker, and the suite takes twice as long. pyproject.toml pins pytest below
    9.2; this stops a run in an environment that escaped the pin, with the fix in the message.
    """
    if config.getoption("dist", default="no") != "loadgroup":
        return
    major, minor = (int(part) for part in pytest.__version__.split(".")[:2])
    if (major, minor) >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} breaks pytest-xdist's --dist loadgroup (pytest-dev/pytest-xdist#1386): "
            "install the versions pyproject.toml allows with `make .venv/.installed-stamp`, or run without -n"
        )

if TYPE_CHECKING:  # the demo's imports are heavy; only the fixture below needs them
    from tests.demo_run import DemoRun

ROOT = Path(__file__).resolve().parent.parent


def _test_model_dir() -> Path:
    """Where the suite's shared classifier lives: a user cache folder named by what shaped the model.

    Training takes ~20 s of CPU. The model is a pure function of the training data, the feature code
    (``data_hash``) and the library versions, so every checkout with the same inputs (a clean clone
    in CI, a second worktree) reuses it instead of training again; a change to any input names
    another folder. ``OKI_TEST_CACHE_DIR`` moves the cache; the five most recently used models stay.
    """
    from classifiers.model import data_hash, library_versions

    inputs = data_hash() + json.dumps(library_versions(), sort_keys=True)
    key = hashlib.sha256(inputs.encode()).hexdigest()[:16]
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oki-monitor"
    models = Path(os.environ.get("OKI_TEST_CACHE_DIR") or default) / "test-models"
    folder = models / key
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)  # most recently used
    for old in sorted(models.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[5:]:
        shutil.rmtree(old, ignore_errors=True)  # another run may be removing it too
    return folder


# One trained classifier for the whole run (and its subprocesses), not one per temporary folder.
if "OKI_MONITOR_MODEL_DIR" not in os.environ:
    os.environ["OKI_MONITOR_MODEL_DIR"] = str(_test_model_dir())
PG_URL = os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "not reachable"
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"


_PG_PROBLEM: str | None = _pg_available()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    message = f"PostgreSQL not reachable at {PG_URL}: {_PG_PROBLEM}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the storage tests on PostgreSQL)")
    pytest.skip(message)


def make_pg_database() -> tuple[Database, str]:
    """A Database bound to a new, empty schema; returns it and the schema name."""
    require_postgres()
    schema = create_schema(PG_URL)
    return Database(schema_url(PG_URL, schema)), schema


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per worker; each test gets a copy (a copy costs ~1 ms, a migration ~0.2 s)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # the last connection's close checkpoints the WAL into the file: the file alone is the database
    return path


def _sqlite_copy(template: Path, tmp_path: Path) -> Database:
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return Database(f"sqlite:///{target}")


@pytest.fixture(scope="session")
def pg_migration_statements() -> list[Statement]:
    """Every statement the migrations send to an empty PostgreSQL schema, recorded once per worker.

    Sent again to a new schema they build the same tables, indexes, sequences and alembic version
    without Alembic's Python side (~0.2 s of CPU per test); the migrations themselves run from an
    empty schema in test_storage and test_regions (``empty_db``).
    """
    db, schema = make_pg_database()
    sent: list[Statement] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        sent.append((statement, params, many))

    try:
        db.upgrade()
    finally:
        db.dispose()
        drop_pg_schema(schema)
    assert not any(schema in statement for statement, _, _ in sent), "a migration names its schema"
    return sent


@pytest.fixture(scope="session")
def pg_schema_pool(pg_migration_statements: list[Statement]) -> Iterator[PgSchemaPool]:
    """The worker's migrated PostgreSQL schemas: one per test at a time, emptied and checked between tests."""
    with schema_pool(PG_URL, pg_migration_statements) as pool:
        yield pool


@pytest.fixture
def pg_db(pg_schema_pool: PgSchemaPool) -> Iterator[Database]:
    """A migrated PostgreSQL database with no rows, for tests that need only that backend."""
    with pg_schema_pool.database() as db:
        yield db


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.db'}")
        yield db
        db.dispose()
        return
    db, schema = make_pg_database()
    try:
        yield db
    finally:
        db.dispose()
        drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with no rows, on SQLite and on PostgreSQL, built from what one migration run produced.

    The PostgreSQL one comes from the worker's pool (``pg_schema_pool``): a schema an earlier test used,
    emptied and checked to be exactly a fresh one, or a new one when there is none.
    """
    if request.param == "sqlite":
        sqlite = _sqlite_copy(request.getfixturevalue("migrated_sqlite_file"), tmp_path)
        yield sqlite
        sqlite.dispose()
        return
    pool: PgSchemaPool = request.getfixturevalue("pg_schema_pool")
    with pool.database() as pg:
        yield pg


@pytest.fixture
def sqlite_db(migrated_sqlite_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need only one backend."""
    db = _sqlite_copy(migrated_sqlite_file, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppConfig:
    """The shipped config.yaml, with a fixed author key so pseudonyms are reproducible."""
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The offline demo, run once per session (``tests/demo_run.py``); only ``test_demo`` reads it."""
    from tests.demo_run import run_shared_demo

    return run_shared_demo(tmp_path_factory.mktemp("demo-cwd"))
