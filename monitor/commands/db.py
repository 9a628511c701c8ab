"""`oki-monitor db upgrade|current`: schema management."""

from __future__ import annotations

import argparse

from monitor.store.context import Context

NAME = "db"
HELP = "kelola skema basis data (upgrade menerapkan migrasi; current menampilkan revisi)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["upgrade", "current"])


def run(args: argparse.Namespace, ctx: Context) -> int:
    db = ctx.database()
    if args.action == "upgrade":
        before = db.current_revision()
        db.upgrade()
        after = db.current_revision()
        if before == after:
            print(f"Skema sudah terbaru (revision {after}).")
        else:
            print(f"Skema diperbarui: {before or 'kosong'} → {after}.")
        from monitor.stages.regions import mirror_agencies

        with db.session() as session:
            mirror_agencies(session, ctx.config)
        return 0
    current, head = db.current_revision(), db.head_revision()
    state = "terbaru" if current == head else f"perlu upgrade ke {head}"
    print(f"revision {current or '(kosong)'} — {state}")
    return 0
