"""`oki-monitor`: one entry point, one module per command under monitor/commands/.

A command module exposes NAME, HELP, add_arguments(parser) and run(args, ctx).
Adding a command is adding a file; this module discovers them. Every start imports every command
module to build the parser, so a command imports its heavy modules (the service, the scheduler,
the reports) inside ``run``: `oki-monitor --help` and the short commands do not pay for them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from monitor import __version__, commands
from monitor.kernel.clock import Clock
from monitor.kernel.config import DATABASE_ENV, ConfigError
from monitor.kernel.redact import mask, setup_logging
from monitor.store.context import Context
from monitor.store.db import SchemaOutOfDate

log = logging.getLogger("oki-monitor")


def database_down_message(ctx: Context, exc: DBAPIError) -> str:
    """One Bahasa line for a database that cannot be reached: where (password hidden), why, what to do."""
    where = ctx._db.engine.url.render_as_string(hide_password=True) if ctx._db is not None else "basis data"
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    first = mask(reason[0] if reason else exc.__class__.__name__)[:200]
    return (
        f"Basis data tidak bisa dihubungi ({where}): {first}. Periksa apakah server basis data berjalan dan "
        f"database_url di config (atau {DATABASE_ENV}) benar, lalu jalankan lagi."
    )


def _command_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"monitor.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="oki-monitor",
        description="OKI Viral Monitor: hears public-service complaints early and warns the right agency.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: ./config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    by_name: dict[str, ModuleType] = {}
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        # --config is accepted after the command too, as the contract says "on every command".
        p.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        module.add_arguments(p)
        by_name[module.NAME] = module
    return parser, by_name


def main(argv: Sequence[str] | None = None, clock: Clock | None = None) -> int:
    """Run one command; ``clock`` replaces the wall clock (replays and benchmarks that compress a day)."""
    parser, by_name = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    ctx = Context(args.config, clock)
    try:
        code: int = by_name[args.command].run(args, ctx)
        return code
    except ConfigError as exc:
        print(f"Kesalahan konfigurasi: {exc}", file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except (OperationalError, InterfaceError) as exc:
        # A database that is down or unreachable is an operator problem, not a crash: one line, no traceback.
        print(database_down_message(ctx, exc), file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()


if __name__ == "__main__":
    raise SystemExit(main())
