"""SIGKILL during ingest, many times, then restart: every post stored once, cursor never ahead of storage.

Each worker is a process of its own, killed with SIGKILL mid-stream, forked from a server that
imported the worker module once (``tests/forks.py``).
"""

from __future__ import annotations

import random
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from monitor.store.db import Database
from monitor.store.models import Post, Source
from tests import crash_worker
from tests.forks import FORKS

TOTAL = 3000
KILLS = 8


def _spawn(url: str, error_file: Path) -> BaseProcess:
    proc = FORKS.Process(target=crash_worker.run, args=(url, TOTAL, str(error_file)), daemon=True)
    proc.start()
    return proc


def _offset(reader: Engine) -> int:
    """The stored cursor, read without taking the write lock (a polling writer would starve on SQLite)."""
    with reader.connect() as conn:
        cursor = conn.execute(select(Source.cursor).where(Source.name == "numbered")).scalar()
    return int(cursor.get("offset", 0)) if cursor else 0


@pytest.mark.slow
def test_kill_during_ingest_loses_and_duplicates_nothing(db: Database, tmp_path: Path) -> None:
    rng = random.Random(5)
    kills = 0
    reader = create_engine(db.url)  # plain engine: deferred BEGIN, so polling never blocks the worker
    for _ in range(KILLS):
        # Kill at a random point of the stream, chosen by progress rather than by wall time, so a
        # faster ingest (or a slower CI machine) still gets killed mid-stream every time.
        target = _offset(reader) + rng.randint(2, 8) * 37
        proc = _spawn(db.url, tmp_path / "error.txt")
        deadline = time.monotonic() + 60
        while proc.exitcode is None and _offset(reader) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.03))  # somewhere inside the next page
        if proc.exitcode is None:
            proc.kill()  # SIGKILL
            kills += 1
        proc.join(timeout=30)
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Post)) or 0
        offset = _offset(reader)
        # The cursor and the stored items move in one transaction: always equal.
        assert stored == offset, f"cursor {offset} but {stored} posts stored after a kill"
    errors = tmp_path / "final-error.txt"
    final = _spawn(db.url, errors)
    final.join(timeout=120)
    assert final.exitcode == 0, errors.read_text(encoding="utf-8")[-2000:] if errors.exists() else final.exitcode
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Post))
        distinct = s.scalar(select(func.count(func.distinct(Post.external_id))))
    assert stored == distinct == TOTAL
    reader.dispose()
    assert kills >= KILLS - 1, f"only {kills} of {KILLS} runs were killed mid-stream"
