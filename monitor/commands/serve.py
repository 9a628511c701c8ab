"""`oki-monitor serve`: the dashboard and API only (no collectors or alert delivery)."""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
from types import FrameType

from monitor.store.context import Context

log = logging.getLogger(__name__)

NAME = "serve"
HELP = "serve only the dashboard and API (the scheduler runs elsewhere, e.g. `oki-monitor run --no-web`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default from config web.host)")
    parser.add_argument("--port", type=int, help="port (default from config web.port)")
    parser.add_argument("--workers", type=int, help="worker processes (default from config web.workers)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    import uvicorn

    from monitor.web.app import create_app, server_config

    db = ctx.checked_database()
    host = args.host or ctx.config.web.host
    port = args.port or ctx.config.web.port
    if host not in ("127.0.0.1", "localhost", "::1") and not ctx.config.secure_cookies:
        log.warning(
            "listening on %s without Secure cookies: put HTTPS in front and set alerts.dashboard_url to https://...",
            host,
        )
    workers = max(1, args.workers or ctx.config.web.workers)
    log.info("dashboard on http://%s:%s (%d worker process%s)", host, port, workers, "es" if workers > 1 else "")
    if workers > 1:
        from monitor.web.app import worker_command

        # uvicorn's own supervisor starts, watches and restarts the workers; it needs an import string.
        cmd, env = worker_command(ctx.config_path, host, port, workers)
        # Its own session: stop requests reach it through _supervise only, each exactly once.
        return _supervise(subprocess.Popen(cmd, env=env, start_new_session=True))
    uvicorn.Server(server_config(create_app(ctx.config, db, ctx.clock, freeze_gc=True), host, port)).run()
    return 0


def _supervise(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the worker supervisor, passing on a stop request.

    Without this a SIGTERM (``kill``, systemd without cgroup kill, a test) ended only this process
    and left uvicorn and its workers serving, holding the port and their database connections.
    """

    def forward(signum: int, _frame: FrameType | None) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGINT, forward)
    return proc.wait()
