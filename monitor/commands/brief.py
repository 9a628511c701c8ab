"""`oki-monitor brief --week [YYYY-MM-DD] --output FILE.pdf`: the regent's weekly brief as a PDF."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from monitor.store.context import Context

NAME = "brief"
HELP = "tulis ringkasan mingguan untuk Bupati (PDF A4): isu teratas, isu viral, kinerja OPD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--week",
        nargs="?",
        const="",
        default="",
        metavar="YYYY-MM-DD",
        help="any day of the week (Monday to Sunday, WIB); default the last complete week",
    )
    parser.add_argument("--output", type=Path, required=True, help="the PDF file to write")
    parser.add_argument(
        "--region",
        metavar="KODE",
        help="one region of the deployment (its code, e.g. 16.01): its issues and agencies; default every region",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py).
    from monitor.reports.brief import last_week, week_of, wib_today, write_brief

    now = ctx.clock.now()
    if args.week:
        try:
            week = week_of(date.fromisoformat(args.week.strip()))
        except ValueError:
            print(f"--week: tanggal {args.week[:20]!r} tidak valid; pakai format TTTT-BB-HH", file=sys.stderr)
            return 2
    else:
        week = last_week(wib_today(now))
    if args.output.suffix.lower() != ".pdf":
        print(f"--output: nama berkas harus berakhiran .pdf (diberikan {args.output.name!r})", file=sys.stderr)
        return 2
    regions = ctx.config.deployment_regions()
    if args.region is not None and args.region.strip() not in regions:
        known = ", ".join(f"{code} ({r.name})" for code, r in regions.items())
        print(f"--region: {args.region[:20]!r} bukan wilayah deployment ini; pilih: {known}", file=sys.stderr)
        return 2
    region = args.region.strip() if args.region is not None else None
    db = ctx.checked_database()
    try:
        with db.session() as session:
            brief = write_brief(session, ctx.config, week, now, args.output, region)
    except OSError as exc:
        print(f"--output: tidak bisa menulis {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"Ringkasan {brief.region} pekan {week.start.isoformat()} s.d. {week.end.isoformat()} "
        f"ditulis ke {args.output}: "
        f"{len(brief.top)} isu teratas, {len(brief.new_viral)} baru viral, {len(brief.ongoing_viral)} masih viral, "
        f"{len(brief.performance)} OPD."
    )
    return 0
