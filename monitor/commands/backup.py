"""`oki-monitor backup FILE`: a consistent copy of the SQLite database while the app runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.store.context import Context

NAME = "backup"
HELP = "salin basis data SQLite secara konsisten saat aplikasi berjalan (PostgreSQL: pakai pg_dump)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=Path, help="backup file to write, e.g. backups/oki-2026-11-29.db")


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py).
    from monitor.stages.retention import backup_sqlite

    try:
        path = backup_sqlite(ctx.database(), args.target)
    except ValueError as exc:
        print(str(exc))
        return 2
    print(f"Cadangan tersimpan: {path}")
    return 0
