"""Benchmark: N realistic posts through ingest, then through classify and group.

Three runs per database, each in a fresh database on the same rows:

- **floor**: parse the JSON and bulk-insert the rows with no processing at all.
- **ingest** (what issue #24 calls "end to end"): collected items to stored posts, i.e. parse,
  validate, normalise, pre-filter, dedupe (stored copies, same text or URL), pseudonymise, store
  posts and their first engagement snapshots, commit. Its posts/s and ratio to the floor are the
  figures the target is about.
- **pipeline**: ingest with classify and group after every batch, as the service runs it; the
  per-stage wall and CPU seconds and each stage's own rate are printed too, never folded away.

    python bench/ingest.py [--n 200000] [--db sqlite|postgresql|both] [--workers N]

``--workers N`` runs N processes on PostgreSQL, each storing its share of the sources, with
classify and group taken by one of them at a time (as ``oki-monitor worker`` runs the pipeline
job); the floor and the ingest run then use N processes too. Posts/s are wall-clock over all
posts; the client CPU per post is summed over the processes (PostgreSQL's own CPU is not in it),
which moves less than wall-clock on a shared machine. The load average is printed with each line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collectors.base import RawItem  # noqa: E402
from monitor.demo.scenario import CHATTER, LOOKALIKES, ROAD_TEXTS, SMALL  # noqa: E402
from monitor.kernel.config import load_config  # noqa: E402
from monitor.stages.classify import classify_new  # noqa: E402
from monitor.stages.group import group_new  # noqa: E402
from monitor.stages.ingest import Ingestor  # noqa: E402
from monitor.store.db import Database  # noqa: E402
from monitor.store.models import IssuePost, Label, Post  # noqa: E402

PG_URL = os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PLATFORMS = ["rss", "mastodon", "bluesky", "telegram", "x", "youtube"]
EXTRA = [
    "tolong segera ditindak",
    "sudah lama dibiarkan",
    "warga resah",
    "mohon perhatian pak bupati",
    "kejadian tadi pagi",
    "sudah dilaporkan tapi belum ada respon",
    "#OKI #Kayuagung",
    "😡😡",
    "🙏",
]


def make_lines(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    texts = ROAD_TEXTS + CHATTER + LOOKALIKES + [t for _, ts in SMALL for t in ts]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    lines = []
    for i in range(n):
        body = rng.choice(texts) + " " + " ".join(rng.sample(EXTRA, 2))
        lines.append(
            json.dumps(
                {
                    "source": f"bench-{rng.choice(PLATFORMS)}",
                    "external_id": f"b{i}",
                    "url": f"https://ex.invalid/{i}",
                    "author": f"user{rng.randint(1, 20000)}",
                    "text": body,
                    "created_at": (start + timedelta(seconds=i * 3)).isoformat(),
                    "likes": rng.randint(0, 50),
                    "shares": rng.randint(0, 5),
                    "replies": rng.randint(0, 9),
                    "views": rng.randint(0, 999),
                }
            )
        )
    return lines


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_db(kind: str) -> tuple[str, str | None]:
    """A new empty database at the newest schema: its URL, and the PostgreSQL schema to drop after."""
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url, schema = f"sqlite:///{path}", None
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url, schema


def drop(schema: str | None) -> None:
    if schema:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def source_of(line: str) -> str:
    return str(json.loads(line)["source"])


def shares(lines: list[str], workers: int) -> list[set[str]]:
    """Each worker's sources (round robin over the sorted names), as ``oki-monitor worker`` claims sources."""
    names = sorted({source_of(line) for line in lines})
    return [set(names[i::workers]) for i in range(workers)]


STAGES = ("parse+store", "classify", "group")
PIPELINE_LOCK = 0x4F4B4924
"""Advisory lock standing in for the pipeline job's lease: one worker classifies and groups at a time."""


@dataclass
class Run:
    """What one worker process did: its wall-clock and CPU seconds per stage."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def add(self, other: Run) -> None:
        for k in STAGES:
            self.wall[k] += other.wall[k]
            self.cpu[k] += other.cpu[k]


class _Clock:
    def __init__(self, run: Run) -> None:
        self.run = run

    def __call__(self, stage: str) -> _Clock:
        self.stage = stage
        return self

    def __enter__(self) -> None:
        self.w0, self.c0 = time.perf_counter(), time.process_time()

    def __exit__(self, *_: object) -> None:
        self.run.wall[self.stage] += time.perf_counter() - self.w0
        self.run.cpu[self.stage] += time.process_time() - self.c0


def floor_share(url: str, lines: list[str], mine: set[str] | None) -> Run:
    """Parse JSON and bulk-insert rows with no processing: the floor any pipeline pays."""
    from monitor.store.models import Source

    db = Database(url)
    run = Run()
    clock = _Clock(run)
    with clock("parse+store"), db.session() as s:
        src = Source(name=f"floor-{os.getpid()}", kind="import", cursor={})
        s.add(src)
        s.flush()
        now = datetime.now(UTC)
        rows = []
        for line in lines:
            d = json.loads(line)
            if mine is not None and d["source"] not in mine:
                continue
            rows.append(
                {
                    "source_id": src.id,
                    "platform": "import",
                    "external_id": d["external_id"],
                    "kind": "post",
                    "url": d["url"],
                    "text": d["text"],
                    "created_at": datetime.fromisoformat(d["created_at"]),
                    "collected_at": now,
                    "content_hash": "",
                    "likes": d["likes"],
                    "shares": d["shares"],
                    "replies": d["replies"],
                    "views": d["views"],
                    "extra": {},
                    "stage": "new",
                }
            )
            if len(rows) == 5000:
                s.execute(insert(Post), rows)
                rows = []
        if rows:
            s.execute(insert(Post), rows)
    db.dispose()
    return run


def ingest_share(url: str, lines: list[str], mine: set[str] | None, env: tuple[Any, Any], batch: int) -> Run:
    """Ingest alone (collected items to stored posts) for this worker's sources, a batch at a time."""
    return full_share(url, lines, mine, env, batch, with_pipeline=False)


def full_share(
    url: str, lines: list[str], mine: set[str] | None, env: tuple[Any, Any], batch: int, with_pipeline: bool = True
) -> Run:
    """normalise → classify → dedupe → store → group for this worker's sources, a batch at a time.

    Every worker walks the same batches of the stream (the posts of one stretch of time) and takes
    its own sources' posts of each, so the posts stored, labelled and grouped are those of one
    process. Classify and group run under one lock (the pipeline job is one worker's at a time);
    a worker that finds it taken goes on storing and the holder takes its posts too.
    """
    config, classifier = env
    db = Database(url)
    pg = not db.is_sqlite
    ingestor = Ingestor(config)
    run = Run()
    clock = _Clock(run)
    lock_conn = db.engine.connect() if pg and mine is not None and with_pipeline else None
    now = datetime(2000, 1, 1, tzinfo=UTC)

    def pipeline(wait: bool) -> None:
        if lock_conn is not None:
            fn = func.pg_advisory_lock if wait else func.pg_try_advisory_lock
            got = lock_conn.execute(select(fn(PIPELINE_LOCK))).scalar()
            lock_conn.commit()
            if got is False:
                return
        try:
            while True:
                with clock("classify"), db.session() as s:
                    classified, _ = classify_new(s, classifier, config, now, limit=batch)
                with clock("group"), db.session() as s:
                    grouped = group_new(s, config, now, limit=batch)[0]
                if lock_conn is None or not (classified or grouped):
                    return
        finally:
            if lock_conn is not None:
                lock_conn.execute(select(func.pg_advisory_unlock(PIPELINE_LOCK)))
                lock_conn.commit()

    for start in range(0, len(lines), batch):
        with clock("parse+store"):
            items = []
            for line in lines[start : start + batch]:
                d = json.loads(line)
                if mine is not None and d["source"] not in mine:
                    continue
                items.append(
                    RawItem(
                        source=d["source"],
                        platform=d["source"].split("-")[1],
                        external_id=d["external_id"],
                        text=d["text"],
                        created_at=datetime.fromisoformat(d["created_at"]),
                        url=d["url"],
                        author=d["author"],
                        likes=d["likes"],
                        shares=d["shares"],
                        replies=d["replies"],
                        views=d["views"],
                    )
                )
            # Posts arrive as they are written: "now" is the batch's newest post (plus a minute), so no
            # post is rejected as being in the future and every one goes through classify and group.
            now = max(now, max(it.created_at for it in items) + timedelta(minutes=1))
            with db.session() as s:
                by_source: dict[str, list[RawItem]] = {}
                for it in items:
                    by_source.setdefault(it.source, []).append(it)
                ingestor.store_sources(
                    s, [(ingestor.source_row(s, name, "bench"), group) for name, group in by_source.items()], now
                )
        if with_pipeline:
            pipeline(wait=lock_conn is None)
    if lock_conn is not None:
        pipeline(wait=True)  # what is left, whoever stored it
        lock_conn.close()
    db.dispose()
    return run


def _child(target: Callable[..., Run], args: tuple[Any, ...], start: Any, out: Any) -> None:
    start.wait()
    out.put(target(*args))


def _result(out: Any, procs: list[Any]) -> Run:
    """The next child's result; a child that died without one ends the benchmark instead of hanging it."""
    import queue

    while True:
        try:
            result: Run = out.get(timeout=5)
            return result
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                codes = ", ".join(f"pid {p.pid} exit {p.exitcode}" for p in dead)
                message = f"a benchmark worker died without its figures ({codes}); see its traceback above"
                raise SystemExit(message) from None


def measure(
    kind: str, lines: list[str], workers: int, target: Callable[..., Run], *args: Any
) -> tuple[float, Run, str]:
    """Posts/s of ``target`` over ``lines`` in a fresh database, split over ``workers`` processes."""
    url, schema = fresh_db(kind)
    total = Run()
    if workers == 1:
        t0 = time.perf_counter()
        total.add(target(url, lines, None, *args))
        elapsed = time.perf_counter() - t0
    else:
        # Forked after the classifier and gazetteer are loaded: workers that have been running a while.
        ctx = mp.get_context("fork")
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_child, args=(target, (url, lines, mine, *args), start, out))
            for mine in shares(lines, workers)
        ]
        for proc in procs:
            proc.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        start.set()
        for _ in procs:
            total.add(_result(out, procs))
        elapsed = time.perf_counter() - t0
        for proc in procs:
            proc.join()
    return len(lines) / elapsed, total, url + ("|" + schema if schema else "")


def counts_of(handle: str) -> dict[str, int]:
    url = handle.split("|")[0]
    db = Database(url)
    with db.session() as s:
        counts = {
            "stored": s.scalar(select(func.count()).select_from(Post)) or 0,
            "labelled": s.scalar(select(func.count()).select_from(Label)) or 0,
            "grouped": s.scalar(select(func.count()).select_from(IssuePost)) or 0,
        }
    db.dispose()
    drop(handle.split("|")[1] if "|" in handle else None)
    return counts


def main() -> None:
    from classifiers.model import load_classifier
    from monitor.domain.prefilter import has_oki_evidence

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--workers", type=int, default=1, help="processes on PostgreSQL, each ingesting its share of the sources"
    )
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    lines = make_lines(args.n)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    config = load_config(ROOT / "config.yaml")
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={"prefilter": True})})
    classifier = load_classifier()
    # Loaded and compiled before the clock starts, as in a worker that has been running a while.
    classifier.predict(["jalan rusak parah di Kayuagung, warga resah"])
    has_oki_evidence("Kayuagung")
    for kind in kinds:
        workers = args.workers if kind == "postgresql" else 1
        env = (config, classifier)
        head = f"[{kind}] n={args.n:,} workers={workers}"
        load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        base, base_run, handle = measure(kind, lines, workers, floor_share)
        drop(handle.split("|")[1] if "|" in handle else None)
        rate, only, handle = measure(kind, lines, workers, ingest_share, env, args.batch)
        stored = counts_of(handle)["stored"]
        target = TARGETS[kind]
        met = rate >= target and base / rate <= MAX_RATIO and (kind == "sqlite" or workers >= 2)
        print(
            f"ingest{head} ({load}): ingest end to end (parse, normalise, pre-filter, dedupe, store, snapshots) "
            f"{rate:,.0f} posts/s, CPU {us(only.cpu['parse+store'], args.n)} us/post; "
            f"floor (parse + bulk insert) {base:,.0f} posts/s, CPU {us(sum(base_run.cpu.values()), args.n)} us/post; "
            f"ratio {base / rate:.1f}x; stored {stored:,}; "
            f"target >= {target:,} posts/s{' with 2 workers' if kind == 'postgresql' else ''} and <= {MAX_RATIO}x: "
            f"{'met' if met else 'MISSED'}",
            flush=True,
        )
        load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        full, run, handle = measure(kind, lines, workers, full_share, env, args.batch)
        counts = counts_of(handle)
        labelled = counts["labelled"]
        rates = {k: labelled / run.wall[k] for k in ("classify", "group")}
        print(
            f"pipeline{head} ({load}): ingest + classify + group {full:,.0f} posts/s end to end, "
            f"ratio to the floor {base / full:.1f}x; "
            f"split (wall, all workers) {', '.join(f'{k} {v:.1f}s' for k, v in run.wall.items())}; "
            f"stage rates {', '.join(f'{k} {v:,.0f} posts/s' for k, v in rates.items())}; "
            f"client CPU {us(sum(run.cpu.values()), args.n)} us/post "
            f"({', '.join(f'{k} {us(v, args.n)}' for k, v in run.cpu.items())}); "
            f"{', '.join(f'{k} {v:,}' for k, v in counts.items())}; peak RSS {peak_mb():.0f} MB",
            flush=True,
        )
        if counts["stored"] != args.n:
            # The OKI pre-filter drops posts with no sign of OKI (the look-alikes): expected, and counted.
            print(f"  {args.n - counts['stored']:,} posts not stored (pre-filter or duplicates)", file=sys.stderr)


def us(seconds: float, n: int) -> str:
    return f"{seconds / n * 1e6:,.0f}"


TARGETS = {"sqlite": 5_000, "postgresql": 10_000}
"""Issue #24 point 4: ingest posts/s end to end (PostgreSQL: with two workers), within MAX_RATIO of the floor."""
MAX_RATIO = 3


if __name__ == "__main__":
    main()
