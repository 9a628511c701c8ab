"""`oki-monitor eval-detect`: score the spike detector on NAB realTweets and on the simulator.

Prints Markdown tables (the ones in classifiers/README_virality.md): NAB scores
next to the published detectors, and early recall / lead time / false alerts on
simulated series next to a naive baseline run on the same data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classifiers.calibration import Calibration
    from monitor.store.context import Context

NAME = "eval-detect"
HELP = "evaluate the spike detector (NAB realTweets + simulator) and print the tables"

DEFAULT_NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab_realtweets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where NAB lives and how big a simulation to run."""
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help=f"NAB realTweets copy (default {DEFAULT_NAB})")
    parser.add_argument("--series", type=int, default=400, help="simulated series (default 400)")
    parser.add_argument("--weeks", type=float, default=2.0, help="weeks per simulated series (default 2)")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    parser.add_argument("--use-config", action="store_true", help="use the virality parameters from --config")
    parser.add_argument(
        "--issues", type=int, default=150, help="simulated issues for the forecast's reliability check (default 150)"
    )
    parser.add_argument(
        "--issue-seed", type=int, default=7, help="seed of those issues (default 7; the calibration is fitted on 1-3)"
    )
    parser.add_argument(
        "--fit-calibration",
        type=Path,
        metavar="FILE",
        help="fit the isotonic calibration of P(viral) on simulated issues (seeds 1-3) and write it to FILE",
    )
    parser.add_argument("--no-forecast", action="store_true", help="skip the forecast's reliability check")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run both evaluations; NAB is skipped with a message if its files are missing."""
    from classifiers.calibration import DEFAULT_PATH, load_calibration
    from classifiers.series_eval import (
        evaluate_forecast,
        evaluate_nab,
        evaluate_simulator,
        fit_forecast_calibration,
        published_nab,
        render_forecast,
        render_report,
    )
    from classifiers.virality import ViralityParams

    params = ctx.config.virality if args.use_config else ViralityParams()
    nab = []
    published: dict[str, dict[str, float]] = {}
    if (args.nab / "labels").is_dir():
        nab = evaluate_nab(args.nab, params)
        published = published_nab(args.nab)
    else:
        print(f"eval-detect: no NAB copy at {args.nab}; pass --nab DIR to include it", file=sys.stderr)
    sim, seconds, misses = evaluate_simulator(params, seed=args.seed, n_series=args.series, weeks=args.weeks)
    print(render_report(nab, published, sim, misses))
    points = args.series * args.weeks * 7 * 24 * 60 / params.bin_minutes
    print(f"\n(simulator: {points / 1e6:.2f} M points scored in {seconds:.2f} s)")
    if args.no_forecast:
        return 0
    calibration: Calibration | None
    if args.fit_calibration is not None:
        calibration = fit_forecast_calibration(params, n_issues=args.issues)
        calibration.save(args.fit_calibration)
        print(f"\ncalibration fitted on {calibration.samples} moments, written to {args.fit_calibration}")
    else:
        try:
            calibration = load_calibration(DEFAULT_PATH)
        except ValueError as exc:
            print(f"eval-detect: {DEFAULT_PATH}: {exc}", file=sys.stderr)
            calibration = None
    checks = evaluate_forecast(params, calibration, seed=args.issue_seed, n_issues=args.issues)
    print()
    print(render_forecast(checks, params, args.issue_seed))
    if calibration is None or not calibration.matches(params):
        print("\n(no calibration for these parameters: P(viral) is shown as the model's own, not calibrated)")
    return 0
