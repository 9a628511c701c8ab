"""A day of the 17 regencies of Sumatera Selatan at 10x volume through two workers on PostgreSQL, ten SIGKILLs.

    python bench/regions_kill.py [--kills 10] [--per-day 30000] [--hours 24] [--day-minutes 7] [--bursts 6]
                                 [--regions N] [--seed 1] [--db-name regionskill_bench]

The deployment is what `oki-monitor init --province 16` writes (17 region files), pointed at local
servers; two `oki-monitor worker` processes share one fresh PostgreSQL database (created, then
dropped) and a compressed clock (the day in ``--day-minutes`` wall minutes). The harness is
tests/regions_kill.py (its docstring says what is checked). Volume: 10x the assumed 3,000 items a
day of one regency (bench/soak.py), in every regency. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--per-day", type=int, default=30_000, help="posts per simulated day in each region")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours replayed")
    parser.add_argument("--day-minutes", type=float, default=7.0, help="wall minutes the simulated hours take")
    parser.add_argument("--bursts", type=int, default=6, help="regions with a complaint growing into an alert")
    parser.add_argument("--regions", type=int, default=None, help="only the first N regions (default: all 17)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-name", default="regionskill_bench")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the backlog")
    args = parser.parse_args()
    from tests.regions_kill import run

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(
            tmp=Path(tmp),
            db_name=args.db_name,
            kills=args.kills,
            per_day=args.per_day,
            hours=args.hours,
            day_minutes=args.day_minutes,
            bursts=args.bursts,
            regions=args.regions,
            seed=args.seed,
            drain_timeout=args.drain_timeout,
            log=lambda line: print(line, flush=True),
        )
    print("\n".join(figures.lines()), flush=True)
    for note in figures.notes[:20]:
        print("note:", note)
    for error in figures.worker_errors[:20]:
        print("worker error:", error)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("RESULT:", "ok" if figures.ok else "FAILED", flush=True)
    return 0 if figures.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
