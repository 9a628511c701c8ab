"""SIGKILL during ingest, many times, then restart: every post stored once, cursor never ahead of storage."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from monitor.store.db import Database
from monitor.store.models import Post, Source

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 3000
KILLS = 8


def _spawn(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": "crash-test-key-123456", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker", url, str(TOTAL)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _offset(reader: Engine) -> int:
    """The stored cursor, read without taking the write lock (a polling writer would starve on SQLite)."""
    with reader.connect() as conn:
        cursor = conn.execute(select(Source.cursor).where(Source.name == "numbered")).scalar()
    return int(cursor.get("offset", 0)) if cursor else 0


@pytest.mark.slow
def test_kill_during_ingest_loses_and_duplicates_nothing(db: Database) -> None:
    rng = random.Random(5)
    kills = 0
    reader = create_engine(db.url)  # plain engine: deferred BEGIN, so polling never blocks the worker
    for _ in range(KILLS):
        # Kill at a random point of the stream, chosen by progress rather than by wall time, so a
        # faster ingest (or a slower CI machine) still gets killed mid-stream every time.
        target = _offset(reader) + rng.randint(2, 8) * 37
        proc = _spawn(db.url)
        deadline = time.monotonic() + 60
        while proc.poll() is None and _offset(reader) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.03))  # somewhere inside the next page
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Post)) or 0
        offset = _offset(reader)
        # The cursor and the stored items move in one transaction: always equal.
        assert stored == offset, f"cursor {offset} but {stored} posts stored after a kill"
    final = _spawn(db.url)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err[-2000:]
    assert "done" in out
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Post))
        distinct = s.scalar(select(func.count(func.distinct(Post.external_id))))
    assert stored == distinct == TOTAL
    reader.dispose()
    assert kills >= KILLS - 1, f"only {kills} of {KILLS} runs were killed mid-stream"
