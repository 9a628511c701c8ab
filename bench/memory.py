"""Resident memory of the service after a replayed day at ten times OKI's expected volume (target < 300 MB).

    python bench/memory.py [--per-day 30000] [--hours 24] [--db sqlite|postgresql]

Runs the real service (collectors over HTTP against the local replay server,
pipeline with the real classifier, alert delivery to the local SMTP/Telegram
stubs) on a simulated clock as fast as it can, then prints the process's
resident memory (VmRSS) and its peak (ru_maxrss), with the RSS after importing the
service and after loading the classifier on the way. See bench/soak.py for the
volume assumption.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soak import EXPECTED_PER_DAY, db_url_for, peak_rss_mb, rss_mb, run_service

TARGET_MB = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=10 * EXPECTED_PER_DAY)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    started = time.perf_counter()
    import monitor.service  # noqa: F401  (what `oki-monitor run` imports before any work)

    after_import = rss_mb()
    from classifiers.model import load_classifier

    load_classifier()  # the service's default model, cached for run_service below
    after_classifier = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_service(
            per_day=args.per_day,
            sim_hours=args.hours,
            db_url=db_url_for(args.db, Path(tmp)),
            speed=None,
            sample_every=60.0,
        )
    final, peak = rss_mb(), peak_rss_mb()
    print(
        f"resident memory after importing the service {after_import:.1f} MB, after loading the classifier "
        f"{after_classifier:.1f} MB"
    )
    print(
        f"replayed {args.hours:g} h at {args.per_day} posts/day on {args.db}: "
        f"{result.posts_served} served, {result.posts_stored} stored, {len(result.errors)} job errors, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(f"resident memory after the day: {final:.1f} MB (peak {peak:.1f} MB; target < {TARGET_MB:.0f} MB)")
    return 0 if peak < TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
