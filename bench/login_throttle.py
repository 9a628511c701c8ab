"""Parallel wrong passwords against `oki-monitor serve --workers 3`: how many reach the password check?

    python bench/login_throttle.py [--db postgresql|sqlite] [--guesses 40] [--workers 3]

Two rounds on a fresh database, each with ``--guesses`` browsers posting a wrong password at
the same moment:

- one account (``kominfo``) from one address: the account allows 5 free failures, so 5 answers
  are 401 and the rest 429, however the requests spread over the workers;
- a different account per request, each with a forged ``X-Forwarded-For``: no proxy is
  configured, so all come from 127.0.0.1 and the address allows 20; the audit log names 127.0.0.1.

Printed: the answers by status code, the stored counters and the audited clients.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store.db import Database  # noqa: E402
from tests.web_support import answers_health, free_port, seed  # noqa: E402

PG = os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _round(base: str, guesses: int, spoof: bool) -> Counter[int]:
    clients = [httpx.Client(base_url=base, timeout=120) for _ in range(guesses)]
    tokens = []
    for c in clients:
        found = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert found is not None
        tokens.append(found.group(1))

    def guess(i: int) -> int:
        user = f"tebakan{i}" if spoof else "kominfo"
        headers = {"X-Forwarded-For": f"198.51.100.{i % 250}"} if spoof else {}
        data = {"username": user, "password": "tebakan-salah", "csrf_token": tokens[i]}
        return clients[i].post("/login", data=data, headers=headers).status_code

    with ThreadPoolExecutor(guesses) as pool:
        codes = Counter(pool.map(guess, range(guesses)))
    for c in clients:
        c.close()
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--guesses", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oki-throttle-"))
    schema = f"b_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    if args.db == "postgresql":
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    proc = None
    try:
        db = Database(url)
        db.upgrade()
        seed(db)
        db.dispose()
        cfg = work / "config.yaml"
        shutil.copy(ROOT / "config.yaml", cfg)
        port = free_port()
        env = {**os.environ, "OKI_MONITOR_DATABASE_URL": url, "OKI_MONITOR_SECRET_KEY": "k" * 32}
        env.setdefault("OKI_MONITOR_AUTHOR_KEY", "bench-author-key-0123456789")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "--config",
                str(cfg),
                "serve",
                "--workers",
                str(args.workers),
                "--port",
                str(port),
            ],
            cwd=work,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        if not answers_health(base, proc, 120):
            print("serve did not start", file=sys.stderr)
            return 1
        engine = create_engine(url)
        for spoof in (False, True):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM login_throttle"))
                conn.execute(text("DELETE FROM audit_log"))
            codes = _round(base, args.guesses, spoof)
            with engine.connect() as conn:
                ip = conn.execute(text("SELECT failures FROM login_throttle WHERE key = 'ip:127.0.0.1'")).scalar()
                clients = Counter(
                    str(d) for (d,) in conn.execute(text("SELECT detail FROM audit_log WHERE action = 'login_failed'"))
                )
            what = "one account, one address" if not spoof else "one account each, forged X-Forwarded-For"
            print(
                f"{args.db}, {args.workers} workers, {args.guesses} parallel guesses ({what}): "
                f"{dict(sorted(codes.items()))}; address counter {ip}; audited clients {dict(clients)}"
            )
        engine.dispose()
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
        if args.db == "postgresql":
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
