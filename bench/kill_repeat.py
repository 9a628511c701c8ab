"""Repeated SIGKILL over a replayed scenario, then restart: counts posts lost and duplicated (both must be 0).

    python bench/kill_repeat.py [--kills 50] [--posts 3000] [--db sqlite|postgresql] [--seed 1]

A worker process collects the scaled demo scenario page by page through the
real ``run_source`` and runs the real pipeline after every page (classify,
group, assess, alert hook); the parent kills it with SIGKILL at a random
moment, checks the invariants on the database, and starts it again. At the
end a last worker runs to completion. Printed: cases tried, kills injected,
posts lost, duplicate posts, duplicate labels / issue memberships, invariant
violations seen after kills. (Alert-delivery kills are covered by the alerts
tests; this script counts the alert rows the pipeline decided, for reference.)
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGE = 50


def worker(url: str, total: int) -> None:
    """Collect and process everything, resuming from the stored cursor; print 'done' at the end."""
    import httpx
    from soak import scaled_posts

    from collectors.base import FetchResult
    from monitor.collect import run_source
    from monitor.config import SourceConfig, load_config
    from monitor.db import Database
    from monitor.demo.scenario import START
    from monitor.models import Source
    from monitor.pipeline import run_pipeline
    from tests.test_outage_db import FixedClassifier

    items = [p.item for p in scaled_posts(total, 1.0)][:total]
    items = [i.__class__(**{**{f: getattr(i, f) for f in i.__slots__}, "source": "replay"}) for i in items]

    class Replay:
        name, platform = "replay", "mastodon"

        def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: Any) -> FetchResult:
            start = int(cursor.get("offset", 0))
            return FetchResult(items=items[start : start + PAGE], cursor={"offset": min(start + PAGE, total)}, calls=1)

    config = load_config(ROOT / "config.yaml")
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={"prefilter": False})})
    src = SourceConfig(name="replay", kind="mastodon", interval_seconds=60)
    db = Database(url)
    classifier = FixedClassifier()
    now = START + timedelta(days=1, hours=1)
    with httpx.Client() as client:
        while True:
            with db.session() as s:
                row = s.query(Source).filter_by(name="replay").one_or_none()
                done = row is not None and int(row.cursor.get("offset", 0)) >= total
            run_pipeline(db, classifier, config, now)
            if done:
                break
            run_source(db, config, src, Replay(), client, now, force=True)
    print("done", flush=True)


def check(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from monitor.db import Database
    from monitor.models import Alert, IssuePost, Label, Post, Source

    db = Database(url)
    try:
        with db.session() as s:
            posts = int(s.scalar(select(func.count()).select_from(Post)) or 0)
            distinct = int(s.scalar(select(func.count(func.distinct(Post.external_id)))) or 0)
            labels = int(s.scalar(select(func.count()).select_from(Label)) or 0)
            labelled = int(s.scalar(select(func.count(func.distinct(Label.post_id)))) or 0)
            members = int(s.scalar(select(func.count()).select_from(IssuePost)) or 0)
            row = s.scalar(select(Source).where(Source.name == "replay"))
            offset = int(row.cursor.get("offset", 0)) if row else 0
            alerts = int(s.scalar(select(func.count()).select_from(Alert)) or 0)
    finally:
        db.dispose()
    return {
        "posts": posts,
        "dup_posts": posts - distinct,
        "dup_labels": labels - labelled,
        "labelled": labelled,
        "members": members,
        "offset": offset,
        "alerts": alerts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-wait", type=float, default=1.2, help="seconds before a kill (start-up is ~1 s)")
    parser.add_argument("--max-wait", type=float, default=4.0)
    args = parser.parse_args()
    from soak import db_url_for

    from monitor.db import Database

    rng = random.Random(args.seed)
    env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": "kill-bench-key-0123456789", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url_for(args.db, Path(tmp))
        Database(url).upgrade()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", url, str(args.posts)]
        kills = violations = 0
        started = time.perf_counter()
        for _ in range(args.kills):
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(args.min_wait, args.max_wait))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=60)
            state = check(url)
            # Cursor and storage move in one transaction; nothing may be stored twice.
            if state["offset"] != state["posts"] or state["dup_posts"] or state["dup_labels"]:
                violations += 1
                print(f"VIOLATION after kill {kills}: {state}", flush=True)
            if state["offset"] >= args.posts and state["labelled"] >= state["posts"]:
                break
        final = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        state = check(url)
    lost = args.posts - (state["posts"] - state["dup_posts"])
    print(f"cases tried: {args.kills} runs; faults injected: {kills} SIGKILLs ({time.perf_counter() - started:.0f} s)")
    print(f"final run: exit {final.returncode} {'done' if 'done' in final.stdout else final.stderr[-500:]}")
    print(
        f"posts: {args.posts} replayed, {state['posts']} stored, lost {lost}, duplicates {state['dup_posts']}; "
        f"labels duplicated {state['dup_labels']}; unlabelled {state['posts'] - state['labelled']}; "
        f"issue memberships {state['members']}; alerts decided {state['alerts']}"
    )
    print(f"invariant violations seen after kills: {violations}")
    ok = lost == 0 and state["dup_posts"] == 0 and state["dup_labels"] == 0 and violations == 0
    return 0 if ok and final.returncode == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(main())
