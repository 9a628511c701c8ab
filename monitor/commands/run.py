"""`oki-monitor run`: the scheduler and the dashboard together, until SIGINT/SIGTERM.

On SQLite (the one-process default) APScheduler schedules the jobs under a single lease. On
PostgreSQL `run` schedules through the same ``job_runs`` claims as `oki-monitor worker`
(monitor/worker.py): one code path for a shared database, so a `run` (with its dashboard) and any
number of workers on other machines can serve one deployment without running a job twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

from monitor.store.context import Context

log = logging.getLogger(__name__)

NAME = "run"
HELP = "jalankan pengumpul, pipeline dan pengiriman peringatan sesuai jadwal, sekaligus dasbor"
RUN_THREADS = 4
"""Jobs `run` runs side by side on PostgreSQL (APScheduler's pool does the same on SQLite)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-web", action="store_true", help="scheduler only, no dashboard")
    parser.add_argument("--host", help="dashboard address (default from config web.host)")
    parser.add_argument("--port", type=int, help="dashboard port (default from config web.port)")
    parser.add_argument("--workers", type=int, help="dashboard worker processes (default from config web.workers)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py); the collector
    # graph behind graph_version_warnings alone was a third of a short command's start-up.
    from alerts.routing import check_routing
    from alerts.sla import calendar_warning
    from monitor.kernel.clock import to_wib
    from monitor.kernel.sources import graph_version_warnings
    from monitor.scheduler import LeaseHeld, acquire_lease, build_scheduler, owner_id, release_lease
    from monitor.service import MonitorService
    from monitor.stages.regions import mirror_agencies
    from monitor.worker import Worker

    db = ctx.checked_database()
    with db.session() as session:
        mirror_agencies(session, ctx.config)
    service = MonitorService(ctx.config, db, ctx.clock)
    for problem in check_routing(ctx.config):  # e.g. a topic that reaches nobody
        log.warning("routing: %s", problem)
    warning = calendar_warning(ctx.config.alerts.sla.cuti_bersama, to_wib(ctx.clock.now()).date())
    if warning:  # the LAPOR! clocks would count this year's cuti bersama as working days
        log.warning("%s", warning)
    for version_warning in graph_version_warnings(ctx.config, to_wib(ctx.clock.now()).date()):
        log.warning("%s", version_warning)
    for name, reason in service.disabled.items():
        log.info("source %s: %s", name, reason)
    owner = owner_id()
    scheduler = None
    worker = None
    if db.is_sqlite:
        try:
            acquire_lease(service, owner, ctx.clock.now())
        except LeaseHeld as exc:
            print(str(exc), file=sys.stderr)
            service.close()
            return 4
        scheduler = build_scheduler(service, owner)
    else:
        worker = Worker(service, threads=RUN_THREADS)
    stop = threading.Event()
    server = None
    web_workers: subprocess.Popen[bytes] | None = None
    workers = max(1, args.workers or ctx.config.web.workers)
    if not args.no_web and workers > 1:
        from monitor.web.app import worker_command

        # Several dashboard processes run beside the scheduler as uvicorn's supervised workers.
        cmd, env = worker_command(
            ctx.config_path, args.host or ctx.config.web.host, args.port or ctx.config.web.port, workers
        )
        web_workers = subprocess.Popen(cmd, env=env)
        log.info("dashboard: %d worker processes (pid %d)", workers, web_workers.pid)
    elif not args.no_web:
        import uvicorn

        from monitor.web.app import create_app, server_config

        host = args.host or ctx.config.web.host
        port = args.port or ctx.config.web.port
        server = uvicorn.Server(server_config(create_app(ctx.config, db, ctx.clock, freeze_gc=True), host, port))

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            # A second signal: the operator does not want to wait. Every write is one transaction,
            # so stopping now loses nothing that was stored; an interrupted job simply runs again.
            log.warning("second signal %d: stopping now without waiting for running jobs", signum)
            os._exit(130)
        log.info("signal %d: stopping after running jobs finish (again to stop at once)", signum)
        stop.set()
        if server is not None:
            server.should_exit = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if scheduler is not None:
        scheduler.start()
        log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
    elif worker is not None:
        worker.start()
        log.info("scheduler started with %d jobs (claimed in job_runs, shared with workers)", len(worker.specs))
    try:
        if server is not None:
            # uvicorn captures SIGINT/SIGTERM while serving and re-raises them to our handler on exit.
            log.info("dashboard on http://%s:%s", server.config.host, server.config.port)
            server.run()
        else:
            # Short timed waits, not one untimed wait: the kernel may hand SIGINT/SIGTERM to a
            # scheduler thread, and CPython runs the Python handler only when the main thread
            # next executes bytecode. An untimed wait would then never see the signal.
            while not stop.wait(0.5):
                pass
    finally:
        if web_workers is not None:
            web_workers.terminate()
            try:
                web_workers.wait(timeout=30)
            except subprocess.TimeoutExpired:
                web_workers.kill()
        # wait=True: a job in the middle of a transaction finishes (or rolls back) before exit.
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            release_lease(service, owner)
        if worker is not None:
            worker.shutdown()
        service.close()
        log.info("stopped cleanly")
    return 0
