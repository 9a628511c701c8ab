"""`oki-monitor deliver`: flush the alert outbox (and read Telegram button presses)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.store.context import Context

NAME = "deliver"
HELP = "kirim peringatan yang menunggu di outbox (sekali dengan --once, atau terus-menerus)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--limit", type=int, default=100, help="deliveries per pass (default 100)")
    parser.add_argument("--no-poll", action="store_true", help="do not read Telegram button presses")
    parser.add_argument("--report", action="store_true", help="print who was alerted, acknowledged, escalated")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from alerts.channels.telegram import poll_updates
    from alerts.outbox import deliver_due
    from alerts.report import summarise
    from alerts.routing import check_routing

    config = ctx.config
    db = ctx.checked_database()
    for problem in check_routing(config):
        print(f"peringatan konfigurasi: {problem}")
    while True:
        now = ctx.clock.now()
        report = deliver_due(db, config, now, limit=args.limit)
        acks = 0
        if not args.no_poll and config.alerts.telegram.enabled:
            acks = poll_updates(db, config, now)
        if report.claimed or acks:
            print(
                f"terkirim {report.sent}, gagal sementara {report.failed}, gagal permanen {report.dead}, "
                f"ditunda {report.deferred}, konfirmasi Telegram {acks}"
            )
        if args.once:
            break
        time.sleep(config.schedules.delivery_seconds)
    if args.report:
        with db.session() as session:
            for line in summarise(session):
                print(line)
    return 0
