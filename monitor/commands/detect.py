"""`oki-monitor detect FILE...`: run the pipeline's spike detector on NAB-format CSV series.

Prints one JSON line per alert onset: {"file", "timestamp", "score"}. The
timestamps are printed as read (local time); the score is 0..1 with 0.5 at the
alarm threshold. A bad line is skipped with a message on stderr; a file that
cannot be read at all is reported and skipped, and the others are still
processed (exit code 1 if any file failed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.store.context import Context

NAME = "detect"
HELP = "run the spike detector on CSV series (timestamp,value) and print alert onsets as JSON lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE... and an optional switch to use the ``virality:`` section of --config."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="CSV with header timestamp,value")
    parser.add_argument(
        "--use-config",
        action="store_true",
        help="take the virality parameters from --config instead of the built-in defaults",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Detect onsets in each file; never touches the database."""
    from classifiers.series_eval import read_series
    from classifiers.virality import ViralityParams, detect_onsets

    params = ctx.config.virality if args.use_config else ViralityParams()
    failed = 0
    try:
        for path in args.files:
            try:
                timestamps, values, problems = read_series(path)
            except FileNotFoundError:
                print(f"detect: {path}: file not found; check the path", file=sys.stderr)
                failed += 1
                continue
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                print(f"detect: {path}: cannot read ({exc}); fix the file and run again", file=sys.stderr)
                failed += 1
                continue
            for message in problems:
                print(f"detect: {message}", file=sys.stderr)
            for ts, score in detect_onsets(timestamps, values, params):
                line = {"file": str(path), "timestamp": ts.isoformat(sep=" "), "score": round(score, 4)}
                sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `detect ... | head` is fine
        return 0
    return 1 if failed else 0
