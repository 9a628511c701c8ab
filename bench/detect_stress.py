"""Busy-series stress test of the spike detector: the simulator plus a bot that dumps posts every 8-36 h.

    python bench/detect_stress.py [--seeds 1 2] [--series 400] [--weeks 2]

The simulator of `eval-detect` plants no repeated bursts, so it cannot show what the routine-burst
memory and the novelty bar cost on a series where a bot posts regularly. Here every series gets bot
bursts (1-6 bins at 8-20x the rate, at least 20 posts a bin; none within two hours before a viral
episode) and the detector runs at its defaults, with the novelty bar off, and with the routine memory
off. Prints early recall, median lead and false alerts per series-week (bot bursts alerted are false
alerts), and the share of bot bursts that alerted. Numbers are recorded in classifiers/README_virality.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers.series_eval import early_warning
from classifiers.simulate import SimSeries, add_bot_bursts, simulate
from classifiers.spike import run_detector
from classifiers.virality import ViralityParams


def bot_share(series: list[SimSeries], onsets: np.ndarray) -> float:
    """Share of bot bursts with an onset inside them."""
    hit = total = 0
    for s, on in zip(series, onsets, strict=True):
        for e in s.episodes:
            if e.kind == "bot":
                total += 1
                hit += bool(on[e.start_bin : e.end_bin + 1].any())
    return hit / total if total else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--series", type=int, default=400)
    ap.add_argument("--weeks", type=float, default=2.0)
    args = ap.parse_args()
    base = ViralityParams()
    settings = {
        "defaults": base,
        "novelty bar off": base.model_copy(update={"novelty_days": 0.0}),
        "routine memory off": base.model_copy(update={"routine_bursts": 0}),
    }
    print(
        "| seed | detector | viral episodes | early recall | median lead (min) "
        "| false alerts / series-week | bot bursts alerted |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        rng = np.random.default_rng(10_000 + seed)
        plain = simulate(seed, args.series, args.weeks, base.bin_minutes)
        sims = [add_bot_bursts(rng, s, base.bin_minutes) for s in plain]
        values = np.stack([s.values for s in sims])
        slots = base.calendar().regular_slots(sims[0].start, values.shape[1], base.bin_minutes)
        for name, params in settings.items():
            out = run_detector(values, slots, params.detector_settings())
            ew = early_warning(name, sims, list(out.onset), params.bin_minutes)
            print(
                f"| {seed} | {name} | {ew.viral_episodes} | {ew.early_recall:.3f} | {ew.median_lead_minutes:.0f} "
                f"| {ew.false_per_series_week:.3f} | {bot_share(sims, out.onset):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
