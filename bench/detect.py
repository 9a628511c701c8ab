"""Speed of the spike detector: 514 regencies × 16 topics × one week of 5-minute bins (16.6 M points).

    python bench/detect.py [--regencies 514] [--topics 16] [--chunk 1024]

Runs the same detector the pipeline uses (classifiers.spike.run_detector via
classifiers.virality) on one core and prints points, seconds and points per
second. Compilation (numba, first call only) is timed separately.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# One core, as the target says.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from classifiers.simulate import regency_week
from classifiers.spike import run_detector
from classifiers.virality import ViralityParams


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regencies", type=int, default=514)
    parser.add_argument("--topics", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=1024, help="series per call (bounds memory)")
    args = parser.parse_args()
    params = ViralityParams()
    n = args.regencies * args.topics
    values, start = regency_week(seed=1, n_series=n, bin_minutes=params.bin_minutes)
    slots = params.calendar().regular_slots(start, values.shape[1], params.bin_minutes)
    settings = params.detector_settings()

    t0 = time.perf_counter()
    run_detector(values[:2, :300], slots[:300], settings)  # compile (cached on disk after the first run)
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    c0 = time.process_time()  # CPU time: the shared machine's load inflates wall time, not this
    onsets = 0
    for lo in range(0, n, args.chunk):
        out = run_detector(values[lo : lo + args.chunk], slots, settings)
        onsets += int(out.onset.sum())
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    points = values.size
    print(f"series: {n} ({args.regencies} regencies x {args.topics} topics), bins per series: {values.shape[1]}")
    print(f"points: {points:,}")
    print(f"first-call compile/warm-up: {compile_s:.2f} s")
    print(f"detect: {seconds:.2f} s wall, {cpu:.2f} s CPU ({points / cpu / 1e6:.1f} M points/CPU-s), onsets: {onsets}")
    print(f"target: < 60 s on one core -> {'OK' if seconds < 60 else 'MISSED'}")
    print(f"numpy {np.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
