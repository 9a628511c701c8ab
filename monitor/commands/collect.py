"""`oki-monitor collect --source NAME --once`: run one source now and say what was stored."""

from __future__ import annotations

import argparse

from monitor.store.context import Context

NAME = "collect"
HELP = "jalankan satu sumber (atau semua yang aktif) sekali dan tampilkan apa yang disimpan"
SHOWN_REASONS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="source name from config (default: all runnable sources)")
    parser.add_argument("--once", action="store_true", help="run once and exit (the only mode for now)")
    parser.add_argument("--force", action="store_true", help="ignore back-off and a failed-token mark")


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py).
    from monitor.service import MonitorService

    db = ctx.checked_database()
    service = MonitorService(ctx.config, db, ctx.clock)
    names = [args.source] if args.source else list(service.collectors)
    if args.source:
        ctx.config.source(args.source)  # unknown name → clear config error
    failed = 0
    try:
        for name in names:
            rep = service.collect(name, force=args.force)
            if rep.skipped:
                print(f"{name}: dilewati — {rep.skipped}")
                failed += 1 if args.source else 0
            elif not rep.ok:
                print(f"{name}: GAGAL — {rep.error}")
                failed += 1
            else:
                ing = rep.ingest
                assert ing is not None
                extra = " (tidak berubah, 304)" if rep.not_modified else ""
                print(
                    f"{name}: {rep.fetched} dibaca, {ing.stored} baru disimpan, {ing.duplicates} sudah ada, "
                    f"{ing.updated} metrik diperbarui, {ing.filtered} bukan OKI, {rep.rejected} ditolak{extra}"
                )
                for reason in rep.reasons[:SHOWN_REASONS]:
                    print(f"  ditolak/dilewati: {reason}")
                if len(rep.reasons) > SHOWN_REASONS:
                    print(f"  ... dan {len(rep.reasons) - SHOWN_REASONS} lagi (lihat `oki-monitor sources` dan log)")
    finally:
        service.close()
    return 1 if failed else 0
