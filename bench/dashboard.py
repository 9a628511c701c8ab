"""Benchmark: dashboard latency with many posts, 20 concurrent browser-like clients.

Seeds a database with N posts spread over issues (with signals and labels), serves the
real app with uvicorn in a separate process (so the load generator does not share its
interpreter), has every client sign in with its own session, then has C clients act like
browsers for a while: open the board, auto-refresh its rows (sending the last ETag), open
issue pages drawn at random over all issues of their scope, and ask the trends API with
varying filters. Prints p50/p95/max per kind, requests/s, and the CPU seconds the server
and the load generator used.

    python bench/dashboard.py [--posts 1000000] [--issues 5000] [--clients 1,20] [--seconds 30]
                              [--rounds 1] [--db sqlite|postgresql] [--pg-url URL] [--reuse] [--workers 6]

``--rounds N`` repeats each concurrent level with fresh connections and prints the median: which
worker each client's keep-alive connection lands on decides much of a round's figures.
``--reuse`` (PostgreSQL) seeds into the database ``bench_dash`` once and reuses it on later runs
(``--reseed`` drops and seeds it again). Note: the load generator runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.kernel.clock import SimulatedClock  # noqa: E402
from monitor.kernel.config import TOPICS, load_config  # noqa: E402
from monitor.store.db import Database  # noqa: E402
from monitor.store.models import Issue, ScopeCount, Signal, Source, User  # noqa: E402
from monitor.web.auth import SESSION_COOKIE, hash_password  # noqa: E402
from monitor.web.protocol import HTTP_PROTOCOL  # noqa: E402

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
PASSWORD = "bench-password-123"
KEC = ["Kayu Agung", "Pedamaran", "Jejawi", "Tulung Selapan", "Lempuing", "Mesuji"]
AGENCIES = ["pupr", "pdam", "dinkes", "disdik", "dlh", "dishub"]
REUSE_DB = "bench_dash"


def seed(db: Database, posts: int, issues: int) -> None:
    """Bulk rows: Core inserts for the small tables, COPY for posts on PostgreSQL (a million rows)."""
    rnd = random.Random(7)
    with db.engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": name,
                    "password_hash": hash_password(PASSWORD),
                    "role": role,
                    "agency_code": agency,
                    "active": True,
                    "created_at": NOW,
                }
                for name, role, agency in (("bench", "comms", None), ("bench_pupr", "agency", "pupr"))
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
                    "agency_code": AGENCIES[i % len(AGENCIES)],
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
                    "topic": TOPICS[(h + a) % len(TOPICS)],
                    "kecamatan": KEC[(h + a) % len(KEC)],
                    "agency_code": agency,
                    "platform": ("bench", "x", "facebook")[h % 3],
                    "posts": 5,
                    "complaints": 3,
                    "engagement": 9.0,
                }
                for h in range(24 * 180)
                for a, agency in enumerate(AGENCIES)
            ],
        )
    if db.engine.dialect.name == "postgresql":
        _copy_posts(db, posts, issues, rnd)
    else:
        _insert_posts(db, posts, issues, rnd)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('posts', 'id'), :n)"), {"n": posts})
            conn.execute(text("SELECT setval(pg_get_serial_sequence('issues', 'id'), :n)"), {"n": issues})
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print()


def _post_values(n: int, issues: int, rnd: random.Random) -> tuple[datetime, tuple, tuple, tuple]:  # type: ignore[type-arg]
    created = (NOW - timedelta(minutes=rnd.randrange(0, 60 * 24 * 30))).replace(tzinfo=None)
    post = (n + 1, 1, "bench", str(n), "post", f"https://example.org/{n}", f"a{n % 5000}", f"jalan rusak {n}",
            created, created, uuid.uuid4().hex, n % 50, n % 7, n % 11, 0, "{}", "grouped")  # fmt: skip
    member = (n + 1, n % issues + 1, 1.0, False, created, created)
    label = (n + 1, "b", True, 1.0, True, 1.0, "infrastruktur", 1.0, AGENCIES[(n % issues) % len(AGENCIES)],
             "Kayu Agung", False, "[]", 0.9, False, created)  # fmt: skip
    return created, post, member, label


POST_COLS = (
    "id, source_id, platform, external_id, kind, url, author_key, text, created_at, collected_at, content_hash, "
    "likes, shares, replies, views, extra, stage"
)
MEMBER_COLS = "post_id, issue_id, similarity, is_spread, added_at, post_created_at"
LABEL_COLS = (
    "post_id, model_version, relevant, relevance_score, is_complaint, complaint_score, topic, topic_score, "
    "agency_code, kecamatan, urgent, urgency_cues, confidence, needs_triage, created_at"
)


def _copy_posts(db: Database, posts: int, issues: int, rnd: random.Random) -> None:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        batch = 100_000
        for start in range(0, posts, batch):
            rows = [_post_values(n, issues, rnd) for n in range(start, min(posts, start + batch))]
            for table, cols, idx in (
                ("posts", POST_COLS, 1),
                ("issue_posts", MEMBER_COLS, 2),
                ("labels", LABEL_COLS, 3),
            ):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for r in rows:
                        copy.write_row(r[idx])
            raw.commit()
            print(f"  seeded {min(posts, start + batch):,} posts", end="\r", flush=True)
    finally:
        raw.close()


def _insert_posts(db: Database, posts: int, issues: int, rnd: random.Random) -> None:
    def named(cols: str, values: tuple) -> dict:  # type: ignore[type-arg]
        out = dict(zip([c.strip() for c in cols.split(",")], values, strict=True))
        for k, v in out.items():
            if isinstance(v, datetime):
                out[k] = v.replace(tzinfo=UTC)
        out.update({k: {} if k == "extra" else [] for k in ("extra", "urgency_cues") if k in out})
        return out

    from monitor.store.models import IssuePost, Label, Post

    batch = 20_000
    for start in range(0, posts, batch):
        rows = [_post_values(n, issues, rnd) for n in range(start, min(posts, start + batch))]
        with db.engine.begin() as conn:
            conn.execute(insert(Post), [named(POST_COLS, r[1]) for r in rows])
            conn.execute(insert(IssuePost), [named(MEMBER_COLS, r[2]) for r in rows])
            conn.execute(insert(Label), [named(LABEL_COLS, r[3]) for r in rows])
        print(f"  seeded {min(posts, start + batch):,} posts", end="\r", flush=True)


# ---------------------------------------------------------------- server process


def app_factory():  # type: ignore[no-untyped-def]
    """uvicorn factory for the server process (``--workers`` > 1 needs an import string)."""
    from monitor.web.app import create_app

    os.environ.setdefault("OKI_MONITOR_AUTHOR_KEY", "bench")
    os.environ.setdefault("OKI_MONITOR_SECRET_KEY", "bench-secret-key-bench-secret-key")
    db = Database(os.environ["OKI_BENCH_DB_URL"])
    return create_app(load_config(ROOT / "config.yaml"), db, SimulatedClock(NOW), freeze_gc=True)


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """Run uvicorn in its own process group and wait until it answers /healthz."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "OKI_BENCH_DB_URL": url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "dashboard:app_factory", "--app-dir", str(ROOT / "bench"),
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
           "--workers", str(workers), "--http", HTTP_PROTOCOL]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def db_cpu_seconds(database: str | None) -> dict[int, float]:
    """CPU seconds of each local PostgreSQL backend serving ``database`` (its process title names it).

    The server's queries cost CPU in these processes too, on the same cores: a page that moves work
    into SQL must show it here, not only as less CPU in the web process. Empty for SQLite or a remote server.
    """
    if not database:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(proc.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def tree_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process and its live children (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


# ---------------------------------------------------------------- clients


def login(base: str, username: str) -> str:
    """Sign in through the real form (CSRF cookie and token) and return the session cookie's value."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303, r.status_code
        return f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"


class Browser:
    """One keep-alive HTTP/1.1 connection with a session cookie, as a browser tab holds.

    Deliberately minimal (GET, Content-Length or chunked bodies): the load generator shares the
    server's two cores, and httpx in threads cost ~1.2 ms of CPU per request, which the server's
    latency figures then carried. This costs a small fraction of that.
    """

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        """Send one GET and read the whole answer; returns the status and the lower-cased headers.

        Like a browser, it reconnects once when the server has closed the idle connection
        (uvicorn closes keep-alive connections idle for 5 s: clients that pause meet this).
        """
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nCookie: {self.cookie}\r\n{extra}\r\n"
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(request.encode())
                raw = await self.reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                if attempt == 2 or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
        assert self.reader is not None
        head = raw.decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in fields:
            await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, fields

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def trends_path(rnd: random.Random) -> str:
    """Trend queries as analysts vary them: range, bucket, dimension and one optional filter."""
    end = NOW.date() - timedelta(days=rnd.randrange(0, 30))
    start = end - timedelta(days=rnd.choice((7, 30, 90, 180)))
    params = [
        f"start={start.isoformat()}",
        f"end={end.isoformat()}",
        f"bucket={rnd.choice(('day', 'week', 'week', 'month'))}",
        f"dimension={rnd.choice(('topic', 'kecamatan', 'agency', 'source'))}",
    ]
    extra = rnd.choice((None, "topic", "kecamatan", "agency", "source"))
    if extra == "topic":
        params.append(f"topic={rnd.choice(TOPICS)}")
    elif extra == "kecamatan":
        params.append(f"kecamatan={rnd.choice(KEC).replace(' ', '+')}")
    elif extra == "agency":
        params.append(f"agency={rnd.choice(AGENCIES)}")
    elif extra == "source":
        params.append(f"source={rnd.choice(('bench', 'x', 'facebook'))}")
    return "/api/trends?" + "&".join(params)


def measure(
    base: str, issues: int, clients: int, seconds: float, think: float = 0.0, seed: int = 0
) -> tuple[dict[str, list[float]], float, int]:
    """Closed loop: each client sends its next request when the last one answered, after ``think`` s on average.

    ``seed`` picks the clients' random paths (a warm-up uses another one than the measurement, so
    the measured issues are not the ones the warm-up left in the issue cache).
    """
    cookies = [login(base, "bench_pupr" if k % 5 == 4 else "bench") for k in range(clients)]
    return asyncio.run(_measure(base, cookies, issues, seconds, think, seed))


async def _measure(
    base: str, cookies: list[str], issues: int, seconds: float, think: float, seed: int
) -> tuple[dict[str, list[float]], float, int]:
    host, port = base.removeprefix("http://").split(":")
    timings: dict[str, list[float]] = {"board": [], "board_refresh": [], "issue": [], "trends_api": []}
    not_modified = [0]
    started = time.monotonic()
    stop = started + seconds

    async def client(k: int, cookie: str) -> None:
        rnd = random.Random(seed * 1000 + k)
        agency_only = k % 5 == 4  # every fifth client is the PUPR agency user
        etag: str | None = None
        browser = Browser(host, int(port), cookie)
        if think:
            # People do not all click at the same instant: without this, the 20 first requests land
            # together and their queue (200 ms for the last) is most of the slowest 5 % of a short run.
            await asyncio.sleep(rnd.uniform(0, 2 * think))
        while time.monotonic() < stop:
            kind = rnd.choice(("board", "board_refresh", "board_refresh", "issue", "issue", "issue", "trends_api"))
            headers = {}
            if kind == "board":
                path = "/"
            elif kind == "board_refresh":
                path = "/partials/board"
                if etag:
                    headers["If-None-Match"] = etag
            elif kind == "issue":
                n = rnd.randrange(0, issues)
                if agency_only:
                    n -= n % len(AGENCIES)  # issue i+1 belongs to AGENCIES[i % 6]; pupr is index 0
                path = f"/issues/{n + 1}"
            else:
                path = trends_path(rnd)
            t = time.perf_counter()
            status, fields = await browser.get(path, headers)
            elapsed = time.perf_counter() - t
            if status == 304:
                not_modified[0] += 1
            elif status != 200:
                raise SystemExit(f"{path} answered {status}")
            if kind == "board_refresh":
                etag = fields.get("etag", etag)
            timings[kind].append(elapsed)
            if think:
                await asyncio.sleep(min(rnd.expovariate(1 / think), 10 * think))  # a person reading the page
        await browser.close()

    await asyncio.gather(*(client(k, cookie) for k, cookie in enumerate(cookies)))
    return timings, time.monotonic() - started, not_modified[0]


def reuse_url(pg_url: str, reseed: bool) -> str:
    """The dedicated benchmark database (created on first use)."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": REUSE_DB})
        if exists and reseed:
            conn.execute(text(f'DROP DATABASE "{REUSE_DB}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{REUSE_DB}"'))
    admin.dispose()
    return make_url(pg_url).set(database=REUSE_DB).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--clients", default="1,20", help="comma-separated concurrency levels to measure")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--workers", type=int, default=6, help="uvicorn worker processes (3 per core: each waits on PostgreSQL too)"
    )
    parser.add_argument("--think", type=float, default=0.0, help="mean pause (s) between a client's requests")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of unmeasured load after the server starts")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each level above 1 client this many times (new connections)"
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--reuse", action="store_true", help=f"PostgreSQL: seed {REUSE_DB} once, reuse it later")
    parser.add_argument("--reseed", action="store_true", help=f"with --reuse: drop {REUSE_DB} and seed it again")
    parser.add_argument("--seed-only", action="store_true", help="seed (with --reuse) and exit")
    args = parser.parse_args()

    schema = None
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    elif args.reuse:
        url = reuse_url(args.pg_url, args.reseed)
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg_url else "?"
        url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    with db.engine.connect() as conn:
        have_posts = conn.scalar(text("SELECT count(*) FROM posts")) or 0
        have_issues = conn.scalar(select(func.count()).select_from(Issue)) or 0
    if have_posts == 0:
        t0 = time.perf_counter()
        print(f"seeding {args.posts:,} posts / {args.issues:,} issues on {args.db} ...")
        seed(db, args.posts, args.issues)
        print(f"seeded in {time.perf_counter() - t0:.0f} s")
    elif (have_posts, have_issues) != (args.posts, args.issues):
        raise SystemExit(f"{REUSE_DB} holds {have_posts:,} posts / {have_issues:,} issues: pass those or --reseed")
    else:
        print(f"reusing {REUSE_DB}: {have_posts:,} posts / {have_issues:,} issues")
    db.dispose()
    if args.seed_only:
        return
    db_name = make_url(url).database if args.db == "postgresql" and args.reuse else None
    proc, port = start_server(url, args.workers)
    results = []
    try:
        if args.warmup:
            # A new server's first requests build FastAPI's route tables, compile templates and
            # statements and open pool connections (300+ ms each for the first burst): a one-off
            # that a long-running service does not pay again, so it is not measured.
            measure(f"http://127.0.0.1:{port}", args.issues, 20, args.warmup, seed=99)
        for clients in [int(c) for c in args.clients.split(",") for _ in range(args.rounds if int(c) > 1 else 1)]:
            cpu0, own0, db0 = tree_cpu_seconds(proc.pid), time.process_time(), db_cpu_seconds(db_name)
            timings, wall, n304 = measure(f"http://127.0.0.1:{port}", args.issues, clients, args.seconds, args.think)
            db1 = db_cpu_seconds(db_name)
            # Backends opened during the run count from zero; ones closed during it are lost (pools keep theirs).
            db_cpu = sum(v - db0.get(pid, 0.0) for pid, v in db1.items())
            load = os.getloadavg()[0]
            server_cpu, own_cpu = tree_cpu_seconds(proc.pid) - cpu0, time.process_time() - own0
            results.append((clients, timings, wall, n304, server_cpu, own_cpu, db_cpu, load))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
        if schema:
            with create_engine(args.pg_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(
        f"(load generator on the same {os.cpu_count()} cores; server: {args.workers} uvicorn worker(s); "
        f"think time {args.think:g} s; load average {os.getloadavg()[0]:.1f})"
    )
    for clients, timings, wall, n304, server_cpu, client_cpu, db_cpu, load in results:
        total = sum(len(v) for v in timings.values())
        db_part = f", PostgreSQL CPU {db_cpu:.1f} s ({db_cpu / max(total, 1) * 1000:.1f} ms/request)" if db_name else ""
        print(
            f"{args.db}, {args.posts:,} posts, {args.issues:,} issues, {clients} clients, {wall:.0f} s: "
            f"{total / wall:.1f} req/s, {n304} answered 304; server CPU {server_cpu:.1f} s "
            f"({server_cpu / max(total, 1) * 1000:.1f} ms/request){db_part}, load generator CPU {client_cpu:.1f} s; "
            f"load average at the end {load:.1f}"
        )
        for kind, values in timings.items():
            if not values:
                continue
            values.sort()
            print(
                f"  {kind:<13} n={len(values):>5}  p50={statistics.median(values) * 1000:7.1f} ms  "
                f"p95={_p95(values) * 1000:7.1f} ms  max={values[-1] * 1000:7.1f} ms"
            )
    repeated = [r for r in results if r[0] > 1]
    if len(repeated) > 1:
        # Rounds differ mostly in how the clients' keep-alive connections fell between the workers.
        print(f"median over {len(repeated)} rounds of {repeated[0][0]} clients:")
        rates = [sum(len(v) for v in r[1].values()) / r[2] for r in repeated]
        print(f"  req/s {statistics.median(rates):.1f} (rounds: {', '.join(f'{x:.0f}' for x in rates)})")
        for kind in repeated[0][1]:
            p95s = [_p95(sorted(r[1][kind])) * 1000 for r in repeated if r[1][kind]]
            if p95s:
                print(
                    f"  {kind:<13} p95={statistics.median(p95s):7.1f} ms  "
                    f"(rounds: {', '.join(f'{x:.0f}' for x in p95s)} ms)"
                )


def _p95(values: list[float]) -> float:
    """The 95th percentile of sorted ``values``."""
    return values[min(len(values) - 1, int(len(values) * 0.95))]


if __name__ == "__main__":
    main()
