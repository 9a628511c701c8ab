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
from sqlalchemy import func, select

from monitor.db import Database
from monitor.models import Post, Source

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 1500
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


@pytest.mark.slow
def test_kill_during_ingest_loses_and_duplicates_nothing(db: Database) -> None:
    rng = random.Random(5)
    kills = 0
    for _ in range(KILLS):
        proc = _spawn(db.url)
        time.sleep(rng.uniform(1.0, 2.5))  # start-up takes ~1 s; kill somewhere in the stream
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Post)) or 0
            row = s.scalar(select(Source).where(Source.name == "numbered"))
            offset = int(row.cursor.get("offset", 0)) if row else 0
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
    assert kills >= 1
