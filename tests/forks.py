"""Worker processes for the kill -9 tests, forked from one server that imported the monitor once.

A new interpreter costs ~1.3-2 s of CPU in imports before a worker does anything; the kill tests
start one per kill. ``multiprocessing``'s forkserver imports the modules below once (per test
process, on first use) and forks each worker from there: still a process of its own, killed with
SIGKILL, opening its own connections after the fork. One preload list for every kill test: the
server starts once, with whatever list was set last.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import datetime

PRELOAD = [
    "tests.crash_worker",
    "tests.kill_path",
    "tests.pipeline_support",
    "alerts.engine",
    "alerts.outbox",
    "collectors.mastodon",
    "monitor.stages.collect",
    "monitor.stages.pipeline",
    "monitor.kernel.config",
]

FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(PRELOAD)


def deliver_until_done(env: dict[str, str], config_file: str, url: str, now_iso: str, limit: int) -> None:
    """A delivery worker for the outbox kill test: claims and sends batches of ``limit`` until none is due."""
    from alerts.outbox import deliver_due
    from monitor.kernel.config import AppConfig
    from monitor.store.db import Database

    os.environ.update(env)
    with open(config_file, encoding="utf-8") as fh:
        config = AppConfig.model_validate(json.load(fh))
    db = Database(url)
    now = datetime.fromisoformat(now_iso)
    while deliver_due(db, config, now, limit=limit).claimed:
        pass
