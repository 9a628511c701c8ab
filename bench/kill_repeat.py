"""Repeated SIGKILL during ingest and during alert delivery, then restart: counts what was lost or duplicated.

    python bench/kill_repeat.py [--kills 50] [--delivery-kills 50] [--posts 3000] [--db sqlite|postgresql] [--seed 1]

Ingest phase: a worker process collects the scaled demo scenario page by page
through the real ``run_source`` and runs the real pipeline after every page
(classify, group, assess); the parent kills it with SIGKILL at a random moment,
checks the invariants on the database, and starts it again. When a scenario is
complete, the next round starts on a fresh database, until ``--kills`` kills
have been injected; each round ends with a worker that runs to completion.
Printed: rounds, kills, posts lost, duplicate posts, duplicate labels, invariant
violations seen after kills (all must be 0).

Delivery phase: 300 alerting issues × 4 deliveries (e-mail and Telegram, agency
and comms) wait in the outbox; a worker delivers them to an in-process SMTP
server (aiosmtpd) and a local Telegram Bot API, and is killed after a random
number of accepted messages, ``--delivery-kills`` times (with a fresh outbox
when one is drained). Printed: deliveries, kills, messages lost (must be 0),
duplicates (must be at most one per kill).
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
    from monitor.demo.scenario import START
    from monitor.kernel.config import SourceConfig, load_config
    from monitor.stages.collect import run_source
    from monitor.stages.pipeline import run_pipeline
    from monitor.store.db import Database
    from monitor.store.models import Source
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

    from monitor.store.db import Database
    from monitor.store.models import Alert, IssuePost, Label, Post, Source

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


def ingest_phase(args: argparse.Namespace, rng: random.Random, tmp: Path) -> bool:
    """Kill the ingest worker ``args.kills`` times over as many scenario rounds as that takes."""
    from soak import db_url_for

    from monitor.store.db import Database

    env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": "kill-bench-key-0123456789", "PYTHONPATH": str(ROOT)}
    kills = violations = rounds = lost_total = dup_total = dup_labels = final_failures = 0
    started = time.perf_counter()
    while kills < args.kills:
        rounds += 1
        round_dir = tmp / f"round{rounds}"
        round_dir.mkdir()
        url = db_url_for(args.db, round_dir)
        Database(url).upgrade()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", url, str(args.posts)]
        killed_this_round = 0
        while kills < args.kills:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(args.min_wait, args.max_wait))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                killed_this_round += 1
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
        if final.returncode != 0 or "done" not in final.stdout:
            final_failures += 1
            print(f"round {rounds}: final run failed: {final.stderr[-500:]}", flush=True)
        lost = args.posts - (state["posts"] - state["dup_posts"])
        lost_total += lost
        dup_total += state["dup_posts"]
        dup_labels += state["dup_labels"]
        print(
            f"round {rounds}: {killed_this_round} kills; {state['posts']} posts stored of {args.posts}, lost {lost}, "
            f"duplicates {state['dup_posts']}; unlabelled {state['posts'] - state['labelled']}; "
            f"issue memberships {state['members']}; alerts decided {state['alerts']}",
            flush=True,
        )
        if killed_this_round == 0:
            print("a whole round finished before the first kill: raise --posts", flush=True)
            break
    print(
        f"ingest: {rounds} rounds, {kills} SIGKILLs in {time.perf_counter() - started:.0f} s; "
        f"posts lost {lost_total}, duplicate posts {dup_total}, duplicate labels {dup_labels}, "
        f"invariant violations after kills {violations}, failed final runs {final_failures}",
        flush=True,
    )
    return lost_total == 0 and dup_total == 0 and dup_labels == 0 and violations == 0 and final_failures == 0


DELIVERY_WORKER = """
import json, pathlib, sys
from datetime import datetime
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from alerts.outbox import deliver_due
cfg = AppConfig.model_validate(json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8")))
db = Database(sys.argv[2])
now = datetime.fromisoformat(sys.argv[3])
while deliver_due(db, cfg, now, limit=10).claimed:
    pass
print("done", flush=True)
"""


def delivery_phase(args: argparse.Namespace, rng: random.Random, tmp: Path) -> bool:
    """Kill the delivery worker ``args.delivery_kills`` times; count lost and duplicated messages."""
    from collections import Counter
    from datetime import UTC, datetime

    from soak import db_url_for
    from sqlalchemy import func, select

    from alerts.engine import evaluate
    from alerts.outbox import deliver_due
    from monitor.demo.smtp_sink import SmtpSink
    from monitor.kernel.config import load_config
    from monitor.store.db import Database
    from monitor.store.models import Delivery
    from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config, make_issue, received_copies

    os.environ[TOKEN_ENV] = TOKEN
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = load_config(ROOT / "config.yaml")
    kills = rounds = total = lost = extra = 0
    worst = 0
    started = time.perf_counter()
    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
        cfg = alert_config(
            base,
            smtp_port=smtp.port,
            telegram_base=tg.base_url,
            route={"receiver": "$agency", "routes": [{"receiver": "humas", "continue": True}, {"receiver": "$agency"}]},
        )
        cfg_file = tmp / "alerts.json"
        cfg_file.write_text(cfg.model_dump_json(by_alias=True))
        lease = timedelta(seconds=cfg.alerts.retry.lease_seconds + 1)
        while kills < args.delivery_kills:
            rounds += 1
            round_dir = tmp / f"delivery{rounds}"
            round_dir.mkdir()
            url = db_url_for(args.db, round_dir)
            db = Database(url)
            db.upgrade()
            now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
            with db.session() as s:
                for k in range(300):
                    make_issue(s, now, title=f"Keluhan nomor {k}", kecamatan=f"K{k}", score=80, posts=1)
                evaluate(s, cfg, now)
                wanted = int(s.scalar(select(func.count()).select_from(Delivery)) or 0)
            before = received_copies(smtp, tg)
            killed = 0
            while kills < args.delivery_kills:
                proc = subprocess.Popen(
                    [sys.executable, "-c", DELIVERY_WORKER, str(cfg_file), url, now.isoformat()],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                target = sum(received_copies(smtp, tg).values()) + rng.randint(5, 60)
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    if sum(received_copies(smtp, tg).values()) >= target:
                        time.sleep(rng.uniform(0.0, 0.02))  # anywhere inside the next send
                        proc.send_signal(signal.SIGKILL)
                        kills += 1
                        killed += 1
                        break
                    time.sleep(0.002)
                proc.communicate(timeout=60)
                now += lease  # the next worker starts after the dead one's lease ran out
                if proc.returncode == 0:
                    break
            for _ in range(20):  # drain what is left, as the service's next runs would
                if deliver_due(db, cfg, now, limit=500).claimed == 0:
                    break
                now += lease
            with db.session() as s:
                statuses = Counter(s.scalars(select(Delivery.status)))
            db.dispose()
            after = received_copies(smtp, tg)
            got = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
            round_lost = wanted - len(got) + sum(n for st, n in statuses.items() if st != "sent")
            round_extra = sum(got.values()) - len(got)
            worst = max([worst, *got.values()])
            total += wanted
            lost += max(round_lost, 0)
            extra += round_extra
            print(
                f"delivery round {rounds}: {wanted} deliveries, {killed} kills, statuses {dict(statuses)}, "
                f"lost {max(round_lost, 0)}, duplicates {round_extra}",
                flush=True,
            )
            if killed == 0:
                print("an outbox drained before the first kill: nothing more to learn", flush=True)
                break
    print(
        f"delivery: {rounds} rounds, {total} deliveries, {kills} SIGKILLs in {time.perf_counter() - started:.0f} s; "
        f"messages lost {lost}, duplicates {extra} (at most one per kill allowed: {kills}), "
        f"most copies of one message {worst}",
        flush=True,
    )
    return lost == 0 and extra <= kills and worst <= 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs of the ingest worker (0: skip the phase)")
    parser.add_argument("--delivery-kills", type=int, default=50, help="SIGKILLs of the delivery worker (0: skip)")
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-wait", type=float, default=1.2, help="seconds before a kill (start-up is ~1 s)")
    parser.add_argument("--max-wait", type=float, default=4.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.kills:
            ok = ingest_phase(args, rng, Path(tmp)) and ok
        if args.delivery_kills:
            ok = delivery_phase(args, rng, Path(tmp)) and ok
    print("RESULT:", "ok" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(main())
