"""`oki-monitor track --once`: re-measure engagement of posts in open issues now and print what it cost."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.stages.track import TrackingReport
    from monitor.store.context import Context

NAME = "track"
HELP = "ukur ulang keterlibatan (suka, bagikan, balasan, tayangan) unggahan dalam isu terbuka, sekali"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="run once and exit (the only mode for now)")


def format_report(report: TrackingReport, disabled: dict[str, str]) -> list[str]:
    """The operator's summary of one tracking run, in Bahasa Indonesia."""
    lines = [
        f"Pelacakan keterlibatan: {report.due} unggahan jatuh tempo, {report.readings} diukur ulang "
        f"dalam {report.batches} panggilan kelompok, {report.missing} tidak ditemukan lagi."
    ]
    if report.rejected:
        lines.append(f"  {report.rejected} bacaan ditolak: angka di luar 0..10^12 (angka lama tetap; lihat log)")
    for source in sorted(set(report.calls) | set(report.budget)):
        lines.append(
            f"  {source}: {report.calls.get(source, 0)} panggilan API "
            f"(jatah putaran ini {report.budget.get(source, 0)})"
        )
    for source, count in sorted(report.deferred.items()):
        lines.append(f"  {source}: {count} unggahan ditunda ke putaran berikut (anggaran)")
    for source, reason in sorted(report.skipped.items()):
        lines.append(f"  {source}: dilewati — {reason}")
    for source, error in sorted(report.errors.items()):
        lines.append(f"  {source}: GAGAL — {error}")
    for source, reason in sorted(disabled.items()):
        lines.append(f"  {source}: {reason}")
    return lines


def run(args: argparse.Namespace, ctx: Context) -> int:
    from monitor.service import MonitorService  # the service pulls in every stage: load it only to run
    from monitor.stages.track import TrackingReport  # so does tracking (every collector): not at the top

    db = ctx.checked_database()
    service = MonitorService(ctx.config, db, ctx.clock)
    try:
        report = service.track()
    finally:
        service.close()
    if not isinstance(report, TrackingReport):
        print("Pelacakan tidak tersedia.")
        return 1
    for line in format_report(report, service.disabled):
        print(line)
    return 1 if report.errors else 0
