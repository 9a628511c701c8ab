"""Run every benchmark under bench/ and write bench/RESULTS.md (machine, date, each figure, its baseline).

    python bench/run_all.py [--quick]

Each benchmark is a script that prints its figures and, in the same run, its baseline; this
collects them next to the target from the issue, and appends bench/ANALYSIS.md (what limits the
figures that miss, from profiles: written by hand after reading a run). Never part of CI.
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

BENCHES: list[tuple[str, list[str], list[str], str]] = [
    # (script, full arguments, --quick arguments, target)
    (
        "ingest.py",
        ["--n", "200000"],
        ["--n", "20000"],
        ">= 5,000 posts/s on one core, within 4x of the floor",
    ),
    ("classify.py", [], [], ">= 20,000 posts/s on one core; training < 60 s"),
    ("detect.py", [], [], "16.6 M points in < 60 s on one core"),
    ("alert_latency.py", [], [], "p95 decide -> accepted by SMTP and Telegram < 1 s"),
    (
        "dashboard.py",
        ["--db", "postgresql", "--posts", "1000000", "--reuse", "--rounds", "5", "--seconds", "20"],
        ["--posts", "100000"],
        "p95 < 150 ms, 20 clients, 1 M posts in PostgreSQL",
    ),
    (
        "dashboard.py",
        ["--db", "postgresql", "--posts", "1000000", "--reuse", "--clients", "20", "--think", "1"],
        ["--posts", "100000", "--clients", "20", "--think", "1"],
        "same, each client pausing 1 s on average between requests (people reading pages)",
    ),
    ("memory.py", [], ["--hours", "2"], "RSS < 300 MB after a replayed day at 10x volume"),
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
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows: list[tuple[str, str, str, float, int]] = []
    started = time.perf_counter()
    for script, full, quick, target in BENCHES:
        path = HERE / script
        chosen = quick if args.quick else full
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(path), *chosen],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        out = (proc.stdout.strip() or proc.stderr.strip()[-800:]).replace("\n", "<br>")
        rows.append((" ".join([script, *chosen]), out, target, time.perf_counter() - t0, proc.returncode))
        print(f"{script}: exit {proc.returncode}\n{proc.stdout}{proc.stderr[-400:] if proc.returncode else ''}")
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick run)' if args.quick else ''}",
        f"- Machine: {machine()}",
        f"- Load average before the run: {load}; whole run {time.perf_counter() - started:.0f} s",
        "",
        "| benchmark | output (figures and baselines, as printed) | target | seconds | exit |",
        "|---|---|---|---|---|",
    ]
    for script, out, target, secs, code in rows:
        lines.append(f"| `{script}` | {out} | {target} | {secs:.0f} | {code} |")
    analysis = HERE / "ANALYSIS.md"
    if analysis.exists():
        lines += ["", analysis.read_text().strip()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
