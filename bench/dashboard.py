"""Benchmark: dashboard latency with many posts, 20 concurrent clients.

Seeds a database with N posts spread over issues (with signals and labels),
serves the real app with uvicorn on 127.0.0.1, signs in, then has C client
threads request the board, issue pages and the trends API for a while.
Prints p50/p95/max per page.

    python bench/dashboard.py [--posts 1000000] [--issues 2000] [--clients 20] [--seconds 20]
                              [--db sqlite|postgresql] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.clock import SimulatedClock  # noqa: E402
from monitor.config import TOPICS, load_config  # noqa: E402
from monitor.db import Database  # noqa: E402
from monitor.models import Issue, IssuePost, Label, Post, ScopeCount, Signal, Source, User  # noqa: E402
from monitor.web.auth import hash_password  # noqa: E402

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
PASSWORD = "bench-password-123"
KEC = ["Kayu Agung", "Pedamaran", "Jejawi", "Tulung Selapan", "Lempuing", "Mesuji"]


def seed(db: Database, posts: int, issues: int) -> None:
    """Bulk rows through SQLAlchemy Core (fast enough for a million posts)."""
    rnd = random.Random(7)
    with db.engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": "bench",
                    "password_hash": hash_password(PASSWORD),
                    "role": "comms",
                    "active": True,
                    "created_at": NOW,
                }
            ],
        )
        conn.execute(
            insert(Source),
            [
                {
                    "name": "bench",
                    "kind": "bench",
                    "enabled": True,
                    "cursor": {},
                    "status": "ok",
                    "items_last_run": 0,
                    "items_total": posts,
                    "consecutive_failures": 0,
                    "rejected_total": 0,
                    "calls_today": 0,
                    "rate_limit": {},
                }
            ],
        )
        conn.execute(
            insert(Issue),
            [
                {
                    "id": i + 1,
                    "topic": TOPICS[i % len(TOPICS)],
                    "agency_code": "pupr",
                    "kecamatan": KEC[i % len(KEC)],
                    "title": f"Isu uji {i}",
                    "status": "open" if i % 4 else "closed",
                    "stage": "naik",
                    "score": rnd.random(),
                    "p_viral": rnd.random(),
                    "eta_minutes": 60.0,
                    "urgent": False,
                    "buzzer_suspected": False,
                    "regression": False,
                    "post_count": posts // issues,
                    "author_count": 5,
                    "engagement": 10.0,
                    "first_seen": NOW - timedelta(days=3),
                    "last_seen": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "terms": {},
                }
                for i in range(issues)
            ],
        )
        signals = [
            {
                "issue_id": i + 1,
                "at": NOW - timedelta(hours=h),
                "stage": "naik",
                "score": 0.5,
                "spike": False,
                "p_viral": 0.5,
                "mentions": h,
                "authors": 1,
                "engagement": float(h),
                "velocity": 0.1,
                "platforms": 1,
                "news_pickup": 0,
                "buzzer_suspected": False,
                "reasons": [],
            }
            for i in range(issues)
            for h in range(48)
        ]
        for k in range(0, len(signals), 20_000):
            conn.execute(insert(Signal), signals[k : k + 20_000])
        conn.execute(
            insert(ScopeCount),
            [
                {
                    "hour": NOW - timedelta(hours=h),
                    "topic": TOPICS[h % len(TOPICS)],
                    "kecamatan": KEC[h % len(KEC)],
                    "agency_code": "pupr",
                    "platform": "bench",
                    "posts": 5,
                    "complaints": 3,
                    "engagement": 9.0,
                }
                for h in range(24 * 180)
            ],
        )
    batch = 20_000
    for start in range(0, posts, batch):
        rows, members, labels = [], [], []
        for n in range(start, min(posts, start + batch)):
            created = NOW - timedelta(minutes=rnd.randrange(0, 60 * 24 * 30))
            rows.append(
                {
                    "id": n + 1,
                    "source_id": 1,
                    "platform": "bench",
                    "external_id": str(n),
                    "kind": "post",
                    "url": f"https://example.org/{n}",
                    "author_key": f"a{n % 5000}",
                    "text": f"jalan rusak {n}",
                    "created_at": created,
                    "collected_at": created,
                    "content_hash": uuid.uuid4().hex,
                    "likes": n % 50,
                    "shares": n % 7,
                    "replies": n % 11,
                    "views": 0,
                    "extra": {},
                    "stage": "grouped",
                }
            )
            members.append(
                {
                    "post_id": n + 1,
                    "issue_id": n % issues + 1,
                    "similarity": 1.0,
                    "is_spread": False,
                    "added_at": created,
                }
            )
            labels.append(
                {
                    "post_id": n + 1,
                    "model_version": "b",
                    "relevant": True,
                    "relevance_score": 1.0,
                    "is_complaint": True,
                    "complaint_score": 1.0,
                    "topic": "infrastruktur",
                    "topic_score": 1.0,
                    "agency_code": "pupr",
                    "kecamatan": "Kayu Agung",
                    "urgent": False,
                    "urgency_cues": [],
                    "confidence": 0.9,
                    "needs_triage": False,
                    "created_at": created,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(Post), rows)
            conn.execute(insert(IssuePost), members)
            conn.execute(insert(Label), labels)
        print(f"  seeded {min(posts, start + batch):,} posts", end="\r", flush=True)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print()


def measure(base: str, issues: int, clients: int, seconds: float) -> dict[str, list[float]]:
    login = httpx.Client(base_url=base, follow_redirects=True)
    token = login.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = login.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 200, r.status_code
    cookies = dict(login.cookies)
    timings: dict[str, list[float]] = {"board": [], "issue": [], "trends_api": []}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed_: int) -> None:
        rnd = random.Random(seed_)
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
            while time.monotonic() < stop:
                kind = rnd.choice(("board", "issue", "issue", "trends_api"))
                path = {
                    "board": "/",
                    "issue": f"/issues/{rnd.randint(1, issues)}",
                    "trends_api": "/api/trends?bucket=week",
                }[kind]
                t = time.perf_counter()
                resp = c.get(path)
                elapsed = time.perf_counter() - t
                if resp.status_code != 200:
                    raise SystemExit(f"{path} answered {resp.status_code}")
                with lock:
                    timings[kind].append(elapsed)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--clients", default="1,20", help="comma-separated concurrency levels to measure")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()

    import uvicorn

    from monitor.web.app import create_app

    schema = None
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg_url else "?"
        url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    t0 = time.perf_counter()
    print(f"seeding {args.posts:,} posts / {args.issues:,} issues on {args.db} ...")
    seed(db, args.posts, args.issues)
    print(f"seeded in {time.perf_counter() - t0:.0f} s")
    os.environ.setdefault("OKI_MONITOR_AUTHOR_KEY", "bench")
    app = create_app(load_config(ROOT / "config.yaml"), db, SimulatedClock(NOW))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    results: list[tuple[int, dict[str, list[float]]]] = []
    try:
        for clients in [int(c) for c in args.clients.split(",")]:
            results.append((clients, measure(f"http://127.0.0.1:{port}", args.issues, clients, args.seconds)))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()
        if schema:
            with create_engine(args.pg_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    for clients, timings in results:
        print(f"{args.db}, {args.posts:,} posts, {clients} clients, {args.seconds:.0f} s:")
        for kind, values in timings.items():
            if not values:
                continue
            values.sort()
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            print(
                f"  {kind:<11} n={len(values):>5}  p50={statistics.median(values) * 1000:7.1f} ms  "
                f"p95={p95 * 1000:7.1f} ms  max={values[-1] * 1000:7.1f} ms"
            )


if __name__ == "__main__":
    main()
