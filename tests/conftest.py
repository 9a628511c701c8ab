"""Shared fixtures: a fresh database on SQLite and on PostgreSQL, the default config.

PostgreSQL tests use a throw-away schema in the database named by
OKI_TEST_PG_URL (default: the local server CI provides). When CI is set and
PostgreSQL is unreachable, the tests fail instead of skipping: a storage
layer that was never run on the production database is not tested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from tests.browser_support import browser, server  # noqa: F401 - fixtures of the browser tests
from tests.telegram_server import smtp, tg  # noqa: F401 - the Telegram stub and mail sink of the alert tests
from tests.whatsapp_support import wa  # noqa: F401 - the WhatsApp stub of the alert and intake tests

if TYPE_CHECKING:  # the demo's imports are heavy; only the fixture below needs them
    from tests.demo_run import DemoRun

ROOT = Path(__file__).resolve().parent.parent
# One trained classifier for the whole run (and its subprocesses), not one per temporary folder.
os.environ.setdefault("OKI_MONITOR_MODEL_DIR", str(ROOT / "var" / "test-models"))
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
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return Database(f"{PG_URL}{sep}options=-csearch_path%3D{schema}"), schema


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


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


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A migrated database, on SQLite and on PostgreSQL."""
    empty_db.upgrade()
    return empty_db


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need only one backend."""
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.upgrade()
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
