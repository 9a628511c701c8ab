"""Random SIGKILLs through the whole real path (collect from a local Mastodon, ingest, classify, group, alert,
deliver to SMTP and the Telegram stub), then restart; counts what was lost, skipped or duplicated.

    python bench/kill_path.py [--kills 50] [--db sqlite|postgresql] [--posts 600] [--seed 1] [--max-wait 2.5]

The harness is tests/kill_path.py (its docstring says what is checked). Every figure but the kills, the
totals and the duplicate deliveries must be 0; duplicate deliveries at most one per kill.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--posts", type=int, default=600, help="statuses in the stream of one round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-wait", type=float, default=2.5, help="longest wait after start-up before a kill")
    args = parser.parse_args()
    from tests.kill_path import kill_rounds

    with tempfile.TemporaryDirectory() as tmp:
        figures = kill_rounds(
            args.db, args.kills, total=args.posts, seed=args.seed, max_wait=args.max_wait, tmp=Path(tmp)
        )
    print("\n".join(figures.lines()), flush=True)
    for note in figures.notes:
        print("note:", note)
    print("RESULT:", "ok" if figures.ok else "FAILED", flush=True)
    return 0 if figures.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
