"""`oki-monitor purge`: apply the retention period now."""

from __future__ import annotations

import argparse

from monitor.kernel.clock import format_wib
from monitor.store.context import Context

NAME = "purge"
HELP = "hapus teks unggahan dan riwayat metrik yang lebih tua dari privacy.retention_days (jumlah agregat disimpan)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every command and --help import this module (monitor/cli.py).
    from monitor.stages.retention import purge

    report = purge(ctx.checked_database(), ctx.config, ctx.clock.now(), actor="cli")
    print(
        f"Retensi {ctx.config.privacy.retention_days} hari (sebelum {format_wib(report.cutoff)}): "
        f"{report.posts_purged} unggahan dikosongkan, {report.metrics_deleted} snapshot metrik dihapus."
    )
    return 0
