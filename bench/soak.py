"""Soak: the whole service on the replay server at ten times OKI's expected volume; memory and queues sampled.

    python bench/soak.py [--minutes 30] [--per-day 30000] [--speed 48] [--db sqlite|postgresql]

Expected OKI volume is an assumption (no measured figure exists yet): about
3,000 collected items a day across news, Google News and the social sources
for a regency of ~800,000 people, so 10x = 30,000 items/day. The scenario
texts of the demo are replayed with that many posts per simulated day; the
simulated clock runs ``--speed`` times faster than the wall clock (48: a day
every 30 minutes) so a 30-minute soak covers a full day of load.

Every job runs as the scheduler would run it (collect per source interval,
pipeline, deliver, acks, housekeeping, tracking). Every ``--sample`` seconds
the resident memory (VmRSS) and the queue depths (posts waiting for
classification/grouping, alerts waiting for delivery) are printed; at the
end: peak and final RSS, the RSS slope over the second half (flat = no leak),
and whether the queues drained. Exit status 1 if memory grew or queues did not drain.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from collectors.base import RawItem  # noqa: E402
from monitor.demo.scenario import (  # noqa: E402
    CHATTER,
    LOOKALIKES,
    ROAD_TEXTS,
    SMALL,
    SOURCE_OF,
    START,
    ScenarioPost,
)
from monitor.kernel.clock import SimulatedClock  # noqa: E402
from monitor.kernel.config import load_config  # noqa: E402
from monitor.store.db import Database  # noqa: E402
from monitor.store.models import Post  # noqa: E402

EXPECTED_PER_DAY = 3_000
"""Assumed items/day collected for OKI at launch (see the module docstring)."""
STEP = timedelta(minutes=10)


def rss_mb() -> float:
    """Current resident memory of this process in MB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaled_posts(per_day: int, days: float, seed: int = 11) -> list[ScenarioPost]:
    """``per_day`` posts a day with the demo's texts, platforms and a daily rhythm (deterministic)."""
    rng = random.Random(seed)
    small = [t for _topic, texts in SMALL for t in texts]
    pools = [(ROAD_TEXTS, 0.15, "road"), (small, 0.15, "small"), (CHATTER, 0.45, "chatter"), (LOOKALIKES, 0.25, "x")]
    platforms = list(SOURCE_OF)
    total = int(per_day * days)
    posts: list[ScenarioPost] = []
    for i in range(total):
        # Quiet nights (WIB), busy evenings: accept/reject on a simple diurnal weight.
        while True:
            hours = rng.uniform(0, 24 * days)
            local = (hours + 7) % 24
            weight = 0.25 if local < 5 else (1.4 if 18 <= local <= 22 else 1.0)
            if rng.random() < weight / 1.4:
                break
        texts, _share, role = rng.choices(pools, weights=[p[1] for p in pools])[0]
        platform = rng.choice(platforms)
        text = f"{rng.choice(texts)} #{i % 997}"
        item = RawItem(
            source=SOURCE_OF[platform],
            platform=platform,
            external_id=f"{platform}-s{i:07d}",
            text=text,
            title=text[:80] if platform == "rss" else None,
            created_at=START + timedelta(hours=hours),
            url=f"https://demo.invalid/{platform}/s{i}",
            author=f"warga{rng.randint(1, 5000)}",
            kind="news" if platform == "rss" else ("comment" if platform == "youtube" else "post"),
            likes=rng.randint(0, 50),
            shares=rng.randint(0, 10),
            replies=rng.randint(0, 10),
            views=rng.randint(10, 2000),
        )
        posts.append(ScenarioPost(item, role, 0.2 if role == "road" else 0.0))
    posts.sort(key=lambda p: p.item.created_at)
    return posts


@dataclass
class Sample:
    wall: float
    sim: datetime
    rss: float
    waiting_posts: int
    waiting_alerts: int


@dataclass
class RunResult:
    posts_served: int
    posts_stored: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def queue_depths(db: Database) -> tuple[int, int]:
    """Posts not yet through the pipeline, alert deliveries not yet sent (0 if alerts are not there yet)."""
    with db.session() as s:
        posts = int(s.scalar(select(func.count()).select_from(Post).where(Post.stage.in_(("new", "classified")))) or 0)
        alerts = 0
        try:
            from monitor.store.models import Delivery

            alerts = int(
                s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "retry"))))
                or 0
            )
        except Exception:  # the outbox table or its statuses may differ while alerts are being built
            alerts = 0
    return posts, alerts


def run_service(
    *,
    per_day: int,
    sim_hours: float,
    db_url: str,
    speed: float | None,
    sample_every: float,
    on_sample: Callable[[Sample], None] | None = None,
) -> RunResult:
    """Replay ``sim_hours`` of load through the real service against the local demo servers."""
    from monitor.demo.replay_server import ReplayServer
    from monitor.demo.runner import DEMO_TOKEN, DEMO_TOKEN_ENV, demo_config
    from monitor.demo.smtp_sink import SmtpSink
    from monitor.demo.telegram_stub import TelegramStub
    from monitor.service import MonitorService

    posts = scaled_posts(per_day, sim_hours / 24)
    clock = SimulatedClock(START)
    os.environ[DEMO_TOKEN_ENV] = DEMO_TOKEN
    base = load_config(ROOT / "config.yaml")
    result = RunResult(posts_served=len(posts), posts_stored=0)
    with ReplayServer(posts, clock.now) as replay, SmtpSink() as smtp, TelegramStub(DEMO_TOKEN) as telegram:
        cfg = demo_config(base, db_url, replay.base_url, smtp.port, telegram.base_url)
        db = Database(cfg.database_url)
        db.upgrade()
        service = MonitorService(cfg, db, clock)
        service.get_classifier()  # load (or train) once, before timing starts
        del posts  # the replay server holds its own copy; the service must not depend on ours
        gc.collect()
        started = time.monotonic()
        last_sample = -sample_every
        next_run = {name: START for name in service.collectors}
        end = START + timedelta(hours=sim_hours)
        step = 0
        jobs: list[tuple[str, Callable[[], Any]]] = [
            ("pipeline", service.pipeline),
            ("deliver", service.deliver),
            ("acks", service.poll_acks),
        ]
        while clock.now() < end:
            now = clock.now()
            for name, due in next_run.items():
                if now >= due:
                    _guard(result, f"collect:{name}", partial(service.collect, name))
                    next_run[name] = now + timedelta(seconds=cfg.source(name).interval_seconds)
            for job_name, job in jobs:
                _guard(result, job_name, job)
            if step % 3 == 0:
                _guard(result, "tracking", service.track)
                _guard(result, "housekeeping", service.housekeeping)
            wall = time.monotonic() - started
            if wall - last_sample >= sample_every:
                last_sample = wall
                waiting, alerts = queue_depths(db)
                sample = Sample(wall, now, rss_mb(), waiting, alerts)
                result.samples.append(sample)
                if on_sample:
                    on_sample(sample)
            clock.advance(STEP)
            step += 1
            if speed:
                # Keep the simulated clock at `speed` x wall time: idle like the real scheduler would.
                ahead = (clock.now() - START).total_seconds() / speed - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        # Drain: a few more rounds with no new posts arriving.
        for _ in range(3):
            _guard(result, "pipeline", service.pipeline)
            _guard(result, "deliver", service.deliver)
        waiting, alerts = queue_depths(db)
        result.samples.append(Sample(time.monotonic() - started, clock.now(), rss_mb(), waiting, alerts))
        with db.session() as s:
            result.posts_stored = int(s.scalar(select(func.count()).select_from(Post)) or 0)
        service.close()
        db.dispose()
    return result


def _guard(result: RunResult, name: str, job: Callable[[], Any]) -> None:
    """Like the scheduler: a failing job is logged and the others go on."""
    try:
        job()
    except Exception as exc:
        result.errors.append(f"{name}: {exc.__class__.__name__}: {str(exc)[:200]}")


def slope_mb_per_hour(samples: list[Sample], tail: float = 0.5) -> float:
    """Least-squares RSS slope over the last ``tail`` share of the run (after warm-up)."""
    half = samples[int(len(samples) * (1 - tail)) :]
    if len(half) < 2:
        return 0.0
    xs = [s.wall / 3600 for s in half]
    ys = [s.rss for s in half]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def db_url_for(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'soak.db'}"
    url = os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    from tests.pg_support import create_schema, schema_url

    return schema_url(url, create_schema(url, "soak"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock length of the soak")
    parser.add_argument("--per-day", type=int, default=10 * EXPECTED_PER_DAY, help="posts per simulated day")
    parser.add_argument("--speed", type=float, default=48.0, help="simulated seconds per wall second")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--max-growth", type=float, default=20.0, help="allowed RSS slope, MB per hour")
    args = parser.parse_args()
    sim_hours = args.minutes / 60 * args.speed
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url_for(args.db, Path(tmp))
        print(f"soak: {args.minutes:g} min wall, {sim_hours:g} h simulated, {args.per_day} posts/day, db={args.db}")
        print(f"{'wall s':>7} {'sim (UTC)':>17} {'RSS MB':>7} {'posts waiting':>13} {'alerts waiting':>14}")

        def show(s: Sample) -> None:
            print(
                f"{s.wall:7.0f} {s.sim:%m-%d %H:%M} {s.rss:7.1f} {s.waiting_posts:13d} {s.waiting_alerts:14d}",
                flush=True,
            )

        result = run_service(
            per_day=args.per_day,
            sim_hours=sim_hours,
            db_url=url,
            speed=args.speed,
            sample_every=args.sample,
            on_sample=show,
        )
    final = result.samples[-1]
    slope = slope_mb_per_hour(result.samples)
    peak = max(s.rss for s in result.samples)
    drained = final.waiting_posts == 0 and final.waiting_alerts == 0
    print(f"posts served (whole replay): {result.posts_served}; stored: {result.posts_stored}")
    print(f"RSS: first {result.samples[0].rss:.1f} MB, peak {peak:.1f} MB, final {final.rss:.1f} MB")
    print(f"RSS slope over 2nd half: {slope:+.1f} MB/h (limit {args.max_growth:g})")
    # Caches fill towards their caps during the first simulated hours; the last quarter shows
    # whether growth goes on once they are full (a leak) or has levelled off.
    print(f"RSS slope over the last quarter: {slope_mb_per_hour(result.samples, 0.25):+.1f} MB/h")
    print(
        f"queues at end: {final.waiting_posts} posts, {final.waiting_alerts} alerts -> "
        + ("drained" if drained else "NOT drained")
    )
    print(f"job errors: {len(result.errors)}" + (f" (first: {result.errors[0]})" if result.errors else ""))
    return 0 if drained and slope <= args.max_growth else 1


if __name__ == "__main__":
    raise SystemExit(main())
