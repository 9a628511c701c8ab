"""`oki-monitor import-lapor FILE`: import an SP4N-LAPOR! ticket export (CSV or XLSX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.store.context import Context

NAME = "import-lapor"
HELP = "impor ekspor tiket SP4N-LAPOR! (CSV atau XLSX): tiap tiket jadi unggahan, perubahan status masuk riwayat isu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--region",
        help="kode kabupaten/kota yang kotak masuk LAPOR!-nya diekspor (bawaan: wilayah utama deployment)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Exit 0 when every row was imported, 1 when rows were rejected, 2 when the file was refused or missing."""
    from monitor.stages.lapor import import_export, read_bounded

    if args.region is not None and args.region not in ctx.config.deployment_regions():
        print(f"Wilayah {args.region!r} tidak ada dalam deployment ini ({', '.join(ctx.config.deployment_regions())}).")
        return 2
    db = ctx.checked_database()
    if not args.file.is_file():
        print(f"Berkas tidak ditemukan: {args.file}")
        return 2
    report = import_export(db, ctx.config, read_bounded(args.file), args.file.name, ctx.clock.now(), args.region)
    for err in report.errors[:50]:
        print(f"ditolak: {err}")
    hidden = len(report.errors) - 50 + report.more_errors
    if hidden > 0:
        print(f"... dan {hidden} baris lain ditolak")
    print(report.summary())
    if report.file_error:
        return 2
    return 0 if report.ok else 1
