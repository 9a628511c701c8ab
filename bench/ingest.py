"""Benchmark: N realistic posts through normalise → classify → dedupe → store → group.

Prints posts per second and peak memory on SQLite and PostgreSQL, next to a
floor baseline measured in the same run on the same rows: parsing the JSON
and bulk-inserting rows with no processing.

    python bench/ingest.py [--n 200000] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def fresh_db(kind: str) -> tuple[Database, str | None]:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        db = Database(f"sqlite:///{path}")
        db.upgrade()
        return db, None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    db = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    db.upgrade()
    return db, schema


def drop(schema: str | None) -> None:
    if schema:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def floor(lines: list[str], kind: str) -> float:
    """Parse JSON and bulk-insert rows with no processing: the floor any pipeline pays."""
    db, schema = fresh_db(kind)
    t0 = time.perf_counter()
    with db.session() as s:
        from monitor.store.models import Source

        src = Source(name="floor", kind="import", cursor={})
        s.add(src)
        s.flush()
        now = datetime.now(UTC)
        rows = []
        for line in lines:
            d = json.loads(line)
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
    elapsed = time.perf_counter() - t0
    db.dispose()
    drop(schema)
    return len(lines) / elapsed


def full(lines: list[str], kind: str) -> tuple[float, dict[str, float], dict[str, int]]:
    from classifiers.model import load_classifier

    config = load_config(ROOT / "config.yaml")
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={"prefilter": True})})
    classifier = load_classifier()
    db, schema = fresh_db(kind)
    ingestor = Ingestor(config)
    parts = {"parse+store": 0.0, "classify": 0.0, "group": 0.0}
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, len(lines), batch):
        ta = time.perf_counter()
        items = []
        for line in lines[start : start + batch]:
            d = json.loads(line)
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
        now = max(it.created_at for it in items) + timedelta(minutes=1)
        with db.session() as s:
            by_source: dict[str, list[RawItem]] = {}
            for it in items:
                by_source.setdefault(it.source, []).append(it)
            for name, group in by_source.items():
                ingestor.store(s, ingestor.source_row(s, name, "bench"), group, now)
        tb = time.perf_counter()
        with db.session() as s:
            classify_new(s, classifier, config, now, limit=batch)
        tc = time.perf_counter()
        with db.session() as s:
            group_new(s, config, now, limit=batch)
        td = time.perf_counter()
        parts["parse+store"] += tb - ta
        parts["classify"] += tc - tb
        parts["group"] += td - tc
    elapsed = time.perf_counter() - t0
    with db.session() as s:
        counts = {
            "stored": s.scalar(select(func.count()).select_from(Post)) or 0,
            "labelled": s.scalar(select(func.count()).select_from(Label)) or 0,
            "grouped": s.scalar(select(func.count()).select_from(IssuePost)) or 0,
        }
    db.dispose()
    drop(schema)
    return len(lines) / elapsed, parts, counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    lines = make_lines(args.n)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        base = floor(lines, kind)
        rate, parts, counts = full(lines, kind)
        print(
            f"ingest[{kind}] n={args.n}: {rate:,.0f} posts/s end to end; floor {base:,.0f} posts/s; "
            f"ratio {base / rate:.1f}x; split {', '.join(f'{k} {v:.1f}s' for k, v in parts.items())}; "
            f"{', '.join(f'{k} {v:,}' for k, v in counts.items())}; peak RSS {peak_mb():.0f} MB"
        )
        if counts["stored"] != args.n:
            # The OKI pre-filter drops posts with no sign of OKI (the look-alikes): expected, and counted.
            print(f"  {args.n - counts['stored']:,} posts not stored (pre-filter or duplicates)", file=sys.stderr)


if __name__ == "__main__":
    main()
