"""`oki-monitor sources`: every configured source and its health."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from monitor.cli import Context
from monitor.clock import format_wib
from monitor.models import Source
from monitor.sources import source_states

NAME = "sources"
HELP = "daftar sumber di konfigurasi dan kesehatannya"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, ctx: Context) -> int:
    db = ctx.checked_database()
    with db.session() as session:
        rows = {s.name: s for s in session.scalars(select(Source))}
        print(f"{'sumber':<22} {'jenis':<16} {'status':<13} {'terakhir sukses':<24} {'total':>7}  catatan")
        for state in source_states(ctx.config):
            row = rows.get(state.config.name)
            status = "nonaktif" if not state.runnable else (row.status if row else "belum jalan")
            last = format_wib(row.last_success_at) if row else "-"
            total = row.items_total if row else 0
            note = state.reason or (row.last_error if row and row.last_error else "")
            print(f"{state.config.name:<22} {state.config.kind:<16} {status:<13} {last:<24} {total:>7}  {note[:80]}")
    return 0
