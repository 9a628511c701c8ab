"""Worker processes for the kill -9 tests, forked from one server that imported the monitor once.

A new interpreter costs ~1.3-2 s of CPU in imports before a worker does anything; the kill tests
start one per kill. ``multiprocessing``'s forkserver imports the modules below once (per test
process, on first use) and forks each worker from there: still a process of its own, killed with
SIGKILL, opening its own connections after the fork. One preload list for every kill test: the
server starts once, with whatever list was set last.
"""

from __future__ import annotations

import multiprocessing

PRELOAD = [
    "tests.crash_worker",
    "tests.kill_path",
    "tests.pipeline_support",
    "alerts.engine",
    "alerts.outbox",
    "collectors.mastodon",
    "monitor.stages.collect",
    "monitor.stages.pipeline",
]

FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(PRELOAD)
