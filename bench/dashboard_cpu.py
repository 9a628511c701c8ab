"""CPU per dashboard request, in process: no HTTP server, no concurrency, no load generator.

``bench/dashboard.py`` measures latency under 20 clients, but on a shared 2-core machine its
numbers move with everyone else's load. This runs the app's ASGI callable sequentially against
the seeded ``bench_dash`` database (``bench/dashboard.py --db postgresql --reuse --seed-only``) and
prints the process CPU time per request of each kind, a figure that compares before/after code
even when the machine is busy (HTTP parsing by uvicorn is not included).

    python bench/dashboard_cpu.py [--n 200] [--kinds issue_miss,issue_hit,board,refresh304,trends]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dashboard as bench  # noqa: E402


async def measure(n: int, kinds: list[str], issues: int) -> None:
    """Warm each kind up, then time ``n`` sequential requests of it."""
    app = bench.app_factory()
    rnd = random.Random(1)
    paths: dict[str, Callable[[], str]] = {
        "issue_miss": lambda: f"/issues/{rnd.randrange(1, issues + 1)}",  # random: mostly not cached
        "issue_hit": lambda: "/issues/7",  # the same issue again: served from the issue cache
        "board": lambda: "/",
        "refresh304": lambda: "/partials/board",
        "trends": lambda: bench.trends_path(rnd),
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        page = (await client.get("/login")).text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"username": "bench", "password": bench.PASSWORD, "csrf_token": token}
        if (await client.post("/login", data=form)).status_code != 303:
            raise SystemExit("login failed: seed bench_dash first")
        etag = (await client.get("/partials/board")).headers.get("etag", "")
        for kind in kinds:
            path = paths[kind]
            for _ in range(10):
                await client.get(path(), headers={"If-None-Match": etag})
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                response = await client.get(path(), headers={"If-None-Match": etag})
                if response.status_code not in (200, 304):
                    raise SystemExit(f"{kind}: {response.status_code}")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{kind:<11} CPU {cpu / n * 1000:6.2f} ms/request  wall {wall / n * 1000:6.2f} ms/request")
    writer = getattr(app.state.web, "audit_writer", None)
    if writer is not None:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="requests per kind")
    parser.add_argument("--kinds", default="issue_miss,issue_hit,board,refresh304,trends")
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    os.environ["OKI_BENCH_DB_URL"] = bench.reuse_url(args.pg_url, reseed=False)
    print(f"load average {os.getloadavg()[0]:.1f}")
    asyncio.run(measure(args.n, args.kinds.split(","), args.issues))


if __name__ == "__main__":
    main()
