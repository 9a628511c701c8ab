"""`oki-monitor backtest --from YYYY-MM-DD --to YYYY-MM-DD [--params FILE]`: replay stored history.

Stored posts and engagement readings of the period go through grouping, assessment and alerting
again (in a throw-away copy; the real database is only read), with the ``virality:`` parameters of
the config or of ``--params FILE`` (YAML or JSON, the same keys, merged over the config). Prints,
per issue that was alerted or became viral, the first alert, when it became viral, the lead and
whether the alert was false; then the totals. Times in WIB.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.reports.backtest import BacktestTotals, IssueOutcome
    from monitor.store.context import Context

NAME = "backtest"
HELP = "putar ulang unggahan tersimpan melalui pengelompokan dan penilaian: kapan peringatan pertama, kapan viral"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The period (WIB dates, both included) and an optional parameter file."""
    parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="hari pertama (WIB)")
    parser.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="hari terakhir (WIB, termasuk)")
    parser.add_argument(
        "--params", type=Path, metavar="FILE", help="parameter virality (YAML/JSON) yang menimpa config"
    )
    parser.add_argument("--step", type=int, default=10, help="langkah jam simulasi dalam menit (bawaan 10)")
    parser.add_argument(
        "--follow-hours",
        type=float,
        default=48.0,
        help="peringatan dianggap palsu bila isu tidak viral dalam sekian jam (bawaan 48)",
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"tanggal {text!r} tidak dikenali; tulis YYYY-MM-DD, misalnya 2026-11-01") from exc


def load_params(path: Path, base: dict[str, object]) -> dict[str, object]:
    """The ``virality:`` keys of ``path`` merged over ``base`` (a file may also hold a top-level ``virality:``)."""
    import yaml

    from monitor.kernel.config import read_yaml_text

    try:
        data = read_yaml_text(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"berkas parameter {path} tidak bisa dibaca: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("virality"), dict):
        data = data["virality"]
    if not isinstance(data, dict):
        raise ValueError(f"berkas parameter {path} harus berisi pasangan kunci: nilai (bagian virality:)")
    return {**base, **data}


def format_outcomes(outcomes: list[IssueOutcome], totals: BacktestTotals) -> list[str]:
    """The operator's report, Bahasa Indonesia, times in WIB."""
    from monitor.kernel.clock import format_wib

    lines = ["isu | peringatan pertama | viral | selisih | catatan"]
    for o in outcomes:
        tl = o.timeline
        if tl.first_alert_at is None and tl.viral_at is None:
            continue
        lead = "-" if o.lead_minutes is None else f"{o.lead_minutes:.0f} menit"
        note = "palsu (tidak viral)" if o.false_alert else ("terlambat/terlewat" if o.missed else "")
        lines.append(
            f"#{tl.issue_id} {tl.title[:60]} | {format_wib(tl.first_alert_at) if tl.first_alert_at else '-'} | "
            f"{format_wib(tl.viral_at) if tl.viral_at else '-'} | {lead} | {note}"
        )
    median = "-" if totals.median_lead_minutes is None else f"{totals.median_lead_minutes:.0f} menit"
    lines.append(
        f"Jumlah: {totals.issues} isu, {totals.alerted} diperingatkan, {totals.viral} viral, "
        f"{totals.warned_early} diperingatkan sebelum viral (median {median} lebih awal), "
        f"{totals.missed} viral tanpa peringatan sebelumnya, {totals.false_alerts} peringatan palsu"
    )
    return lines


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Replay the period on a copy and print the report; the real database is only read."""
    from classifiers.calendar_id import WIB
    from classifiers.virality import ViralityParams
    from monitor.reports.backtest import replay, summarise

    try:
        first, last = _day(args.start), _day(args.end)
        if last < first:
            raise ValueError("--to tidak boleh sebelum --from")
        config = ctx.config
        if args.params is not None:
            merged = load_params(args.params, config.virality.model_dump())
            config = config.model_copy(update={"virality": ViralityParams.model_validate(merged)})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    start = datetime.combine(first, time(0), tzinfo=WIB)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=WIB)
    db = ctx.checked_database()
    timelines = replay(db, config, start, end, step=timedelta(minutes=max(1, args.step)))
    outcomes, totals = summarise(timelines, follow_hours=args.follow_hours)
    for line in format_outcomes(outcomes, totals):
        print(line)
    return 0
