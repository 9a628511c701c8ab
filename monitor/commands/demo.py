"""`oki-monitor demo [--serve --port N]`: the bundled scenario end to end, offline."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from monitor.store.context import Context

NAME = "demo"
HELP = "putar ulang skenario dua hari secara luring dan cetak laporan (--serve: dasbor tetap menyala)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("var/demo"),
        help="where the demo database goes: a new or empty folder, or an earlier demo's (other data is refused)",
    )
    parser.add_argument(
        "--hours",
        type=int,
        default=None,
        help="replay only the scenario's first N hours (1-48; the road issue is first alerted 24 hours in)",
    )
    parser.add_argument("--serve", action="store_true", help="then keep the dashboard running on the demo data")
    parser.add_argument("--port", type=int, default=8080, help="dashboard port with --serve (127.0.0.1)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    import logging

    from monitor.demo.runner import WorkdirRefused, run_demo
    from monitor.demo.scenario import HOURS
    from monitor.kernel.config import packaged_config_file

    hours = HOURS if args.hours is None else args.hours
    if not 1 <= hours <= HOURS:
        print(f"--hours: harus 1 sampai {HOURS} (skenario demo berlangsung {HOURS} jam)", file=sys.stderr)
        return 2

    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)  # the report says what happened; -v shows each job
    with ExitStack() as stack:
        if not ctx.config_given and not ctx.config_path.exists():
            # An installed package run from any folder: the scenario is OKI's, so is the shipped config.
            ctx.config_path = stack.enter_context(packaged_config_file())
            print(
                "config.yaml tidak ada di folder ini: demo memakai konfigurasi bawaan OKI "
                "(salinan untuk diubah: oki-monitor init).",
                file=sys.stderr,
            )
        config = ctx.config
    try:
        result = run_demo(config, args.workdir, hours=hours)
    except WorkdirRefused as exc:
        print(f"Demo tidak dijalankan: {exc}", file=sys.stderr)
        return 2
    for line in result.lines:
        print(line)
    ok = result.first_alert_at is not None and result.peak_at is not None and result.first_alert_at < result.peak_at
    if args.serve:
        from monitor.demo.serve import serve_demo

        serve_demo(result, args.port)
    return 0 if ok else 1
