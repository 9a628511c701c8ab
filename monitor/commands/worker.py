"""`oki-monitor worker`: claim and run due jobs from the shared PostgreSQL database, until SIGINT/SIGTERM.

Start one on every machine (or several on one): they share the schedule through ``job_runs``
(monitor/worker.py). No dashboard here; `oki-monitor serve` serves it. SQLite is refused: it is
the one-process default, scheduled by `oki-monitor run`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from monitor.store.context import Context

log = logging.getLogger(__name__)

NAME = "worker"
HELP = "jalankan pekerjaan terjadwal bersama worker lain di PostgreSQL yang sama (banyak mesin/proses)"
DEFAULT_THREADS = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"jobs this process runs side by side (default {DEFAULT_THREADS}); never the same job twice",
    )
    parser.add_argument(
        "--jobs",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only jobs matching this glob, e.g. 'collect:*' (repeatable; default: every job)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py).
    from monitor.service import MonitorService
    from monitor.worker import NEEDS_POSTGRES, Worker

    if args.threads < 1:
        print("--threads harus 1 atau lebih", file=sys.stderr)
        return 2
    db = ctx.database()
    if db.is_sqlite:
        print(NEEDS_POSTGRES, file=sys.stderr)
        return 2
    db.check_schema()
    service = MonitorService(ctx.config, db, ctx.clock)
    for name, reason in service.disabled.items():
        log.info("source %s: %s", name, reason)
    try:
        worker = Worker(service, threads=args.threads, jobs=args.jobs)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        service.close()
        return 2
    stopping = worker.stopping

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            # A second signal: every write is one transaction and every job re-runnable; its lease expires.
            log.warning("second signal %d: stopping now without waiting for running jobs", signum)
            os._exit(130)
        log.info("signal %d: stopping after running jobs finish (again to stop at once)", signum)
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    worker.start()
    try:
        # Short timed waits: a signal delivered to a job thread is handled when the main thread runs again.
        while not stopping.wait(0.5):
            pass
    finally:
        worker.shutdown()
        service.close()
        log.info("worker stopped cleanly")
    return 0
