"""Evaluation of the spike detector (NAB realTweets + simulator), same as `oki-monitor eval-detect`.

    python bench/eval_detect.py [--series 400] [--weeks 2] [--seed 7] [--nab DIR]

Prints the Markdown tables recorded in classifiers/README_virality.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--series" not in args:
        args += ["--series", "400"]
    raise SystemExit(main(["eval-detect", *args]))
