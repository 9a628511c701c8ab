"""`oki-monitor import FILE`: store items exported from another system (CSV or JSON lines)."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.store.context import Context

NAME = "import"
HELP = "impor unggahan dari berkas CSV atau JSON lines (mis. ekspor SP4N-LAPOR! atau hotline WhatsApp)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--encoding",
        choices=("utf-8", "cp1252"),  # collectors.import_file.ENCODINGS (not imported: keeps --help fast)
        default="utf-8",
        help="encoding of the file (default utf-8; cp1252 for an old Excel 'CSV' export)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    from collectors.import_file import parse_import_file
    from monitor.stages.ingest import ingest_raw

    db = ctx.checked_database()
    if not args.file.exists():
        print(f"Berkas tidak ditemukan: {args.file}")
        return 2
    items, errors = parse_import_file(args.file, now=ctx.clock.now(), encoding=args.encoding)
    for err in errors[:20]:
        print(f"dilewati: {err}")
    if len(errors) > 20:
        print(f"... dan {len(errors) - 20} baris lain dilewati")
    report = ingest_raw(db, ctx.config, items, ctx.clock.now())
    for err in report.errors[:20]:
        print(f"ditolak saat disimpan: {err}")
    print(
        f"{len(items)} baris terbaca: {report.stored} disimpan, {report.duplicates} sudah ada, "
        f"{report.filtered} bukan OKI, {report.rejected + len(errors)} ditolak"
    )
    return 0 if not errors and not report.rejected else 1
