"""Run every benchmark under bench/ and write bench/RESULTS.md (machine, date, each figure, its baseline).

    python bench/run_all.py [--quick]

Each benchmark is a script that prints lines; this collects them. Never part of CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BENCHES: list[tuple[str, list[str], list[str]]] = [
    # (script, full arguments, --quick arguments)
    ("ingest.py", ["--n", "200000"], ["--n", "20000"]),
    ("classify.py", [], []),
    ("detect.py", [], []),
    ("alert_latency.py", [], []),
    ("dashboard.py", [], ["--posts", "100000"]),
    ("memory.py", [], ["--scale", "2"]),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = ap.parse_args()
    rows: list[tuple[str, str, float, int]] = []
    for script, full, quick in BENCHES:
        path = HERE / script
        if not path.exists():
            rows.append((script, "(not written yet)", 0.0, -1))
            continue
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(path), *(quick if args.quick else full)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        out = (proc.stdout.strip() or proc.stderr.strip()[-800:]).replace("\n", "<br>")
        rows.append((script, out, time.perf_counter() - t0, proc.returncode))
        print(f"{script}: exit {proc.returncode}\n{proc.stdout}{proc.stderr[-400:] if proc.returncode else ''}")
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick run)' if args.quick else ''}",
        f"- Machine: {machine()}",
        "",
        "| benchmark | output (figures and baselines) | seconds | exit |",
        "|---|---|---|---|",
    ]
    for script, out, secs, code in rows:
        lines.append(f"| `{script}` | {out} | {secs:.0f} | {code} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
