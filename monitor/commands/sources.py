"""`oki-monitor sources`: every configured source and its health."""

from __future__ import annotations

import argparse

from monitor.store.context import Context

NAME = "sources"
HELP = "daftar sumber di konfigurasi dan kesehatannya"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Here, not at the top: every `oki-monitor` start imports this module (monitor/cli.py).
    from sqlalchemy import select

    from monitor.kernel.clock import format_wib
    from monitor.kernel.sources import source_states
    from monitor.store.models import Source

    db = ctx.checked_database()
    with db.session() as session:
        rows = {s.name: s for s in session.scalars(select(Source))}
        print(
            f"{'sumber':<22} {'jenis':<16} {'status':<13} {'terakhir sukses':<24} {'total':>7} "
            f"{'ditolak akhir/total':>19}  catatan"
        )
        for state in source_states(ctx.config):
            row = rows.get(state.config.name)
            status = "nonaktif" if not state.runnable else (row.status if row else "belum jalan")
            last = format_wib(row.last_success_at) if row else "-"
            total = row.items_total if row else 0
            # Rejected in the last run / ever: a bad item is skipped alone, so "ok" can still hide losses.
            rejected = f"{row.rejected_last_run or 0}/{row.rejected_total or 0}" if row else "0/0"
            note = state.reason or (row.last_error if row and row.last_error else "")
            if not note and row and row.rejected_last_run and row.last_reject:
                note = "ditolak: " + row.last_reject.splitlines()[0]
            print(
                f"{state.config.name:<22} {state.config.kind:<16} {status:<13} {last:<24} {total:>7} "
                f"{rejected:>19}  {note[:100]}"
            )
    return 0
