"""A worker process for the kill -9 tests: collects a numbered stream through the real run_source.

    python -m tests.crash_worker DB_URL N

Collects items 0..N-1 in pages of 37 through monitor.stages.collect.run_source with a
cursor {"offset": k}, until the stored cursor reaches N. Prints "done" at the end.
``test_crash_ingest`` runs :func:`run` in processes forked from a server that imported this
module once (``multiprocessing``'s forkserver), not in a new interpreter per kill.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from collectors.base import FetchResult, RawItem
from monitor.kernel.config import SourceConfig, load_config
from monitor.stages.collect import run_source
from monitor.store.db import Database
from monitor.store.models import Source

ROOT = Path(__file__).resolve().parent.parent
AUTHOR_KEY = "crash-test-key-123456"
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
PAGE = 37


class NumberedCollector:
    name = "numbered"
    platform = "mastodon"

    def __init__(self, total: int) -> None:
        self.total = total

    def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: datetime) -> FetchResult:
        start = int(cursor.get("offset", 0))
        end = min(start + PAGE, self.total)
        items = [
            RawItem(
                source=self.name,
                platform=self.platform,
                external_id=f"n{i}",
                text=f"Jalan rusak di Kayuagung OKI laporan nomor {i}",
                created_at=T0 + timedelta(seconds=i),
                author=f"u{i % 17}",
            )
            for i in range(start, end)
        ]
        return FetchResult(items=items, cursor={"offset": end}, calls=1)


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the numbered collector made a request: {request.url}")


def run(url: str, total: int, error_file: str | None = None) -> None:
    """Collect until the stored cursor reaches ``total``; a failure's traceback also goes to ``error_file``."""
    try:
        collect_all(url, total)
    except BaseException:
        if error_file:
            Path(error_file).write_text(traceback.format_exc(), encoding="utf-8")
        raise


def collect_all(url: str, total: int) -> None:
    os.environ.setdefault("OKI_MONITOR_AUTHOR_KEY", AUTHOR_KEY)
    config = load_config(ROOT / "config.yaml")
    src = SourceConfig(name="numbered", kind="mastodon", interval_seconds=60)
    db = Database(url)
    collector = NumberedCollector(total)
    # The numbered collector never touches the network; a default client would still build an SSL
    # context from the CA bundle in every forked worker (~0.2 s of CPU each, most of a short-lived worker's).
    with httpx.Client(transport=httpx.MockTransport(_no_network)) as client:
        while True:
            with db.session() as s:
                row = s.query(Source).filter_by(name="numbered").one_or_none()
                if row is not None and int(row.cursor.get("offset", 0)) >= total:
                    break
            run_source(db, config, src, collector, client, T0 + timedelta(hours=1), force=True)
    print("done", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
