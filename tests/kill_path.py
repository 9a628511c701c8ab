"""Random ``kill -9`` through the real path: collect, ingest, classify, group, alert and deliver.

The parent process runs everything outside the monitor: a Mastodon tag timeline on 127.0.0.1
that reveals a numbered stream of statuses a few at a time (and remembers every id it served),
an SMTP server (aiosmtpd) and the local Telegram Bot API stub. A worker process runs the
monitor's real loop against them — ``run_source`` with the real Mastodon collector, then
``run_pipeline`` with the alert engine (classify, group, assess, decide alerts), then
``deliver_due`` — and the parent kills it with SIGKILL at a random moment after it is ready,
checks the invariants on the database, and starts it again. A round ends with a worker that
runs to the end of the stream and an empty outbox; the next round starts on a fresh database.

Per round the figures are compared with a run of the same stream without kills:

* posts: every id the server served is stored, once (``lost``, ``duplicates``);
* cursors: after every kill, every id at or below the stored ``min_id`` is stored (``skips``);
* alerts: every (receiver, kecamatan) told of its issue in the clean run is told here too, and
  every receiver's last alert about an issue carries the issue's final stage (updates themselves
  differ: with kills, fewer pipeline passes see fewer intermediate stages);
* deliveries: every outbox row sent and received at least once; copies beyond the first
  (``duplicates``) at most one per kill during delivery (only a kill between a send and its
  record repeats a message; a message hit by two such kills in a row arrives three times).

``python -m tests.kill_path --worker CONFIG_JSON DB_URL BASE_URL NOW TOTAL`` runs the worker by
hand; :func:`kill_rounds` forks each one from the kill tests' forkserver (``tests/forks.py``), not a
new interpreter per kill. ``bench/kill_path.py`` and ``tests/test_kill_path.py`` drive :func:`kill_rounds`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from alerts.channels.telegram import shared_client as telegram_shared_client
from classifiers.gazetteer import KECAMATAN

ROOT = Path(__file__).resolve().parent.parent
T_END = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
SOURCE = "kill-mastodon"
TAG_PATH = "/api/v1/timelines/tag/kayuagung"
SSL_CONTEXT = httpx.create_ssl_context()
"""Built once where this module is imported (the kill tests' forkserver preloads it): each forked worker's
client reuses it instead of loading the CA bundle again (~0.2 s of CPU per worker)."""
# Same for the Telegram channel's per-process client (timeout 5 s in tests/telegram_server.alert_config):
# built here, in the forkserver, every forked delivery worker (this harness's, the outbox kill test's) has it.
telegram_shared_client(5.0)
TELEGRAM_PACE = 0.05
"""Seconds between two Telegram messages to one chat in the test config (production paces at 1 s): deliveries
take long enough for kills to land inside them."""
BASE_ID = 113_400_000_000_000_000
LEASE_SECONDS = 20.0
"""The outbox lease in the test config: a restarted worker's clock moves past it (the dead one's claims expire)."""
AUTHOR_KEY = "kill-path-author-key-0123456789"
KILL_WINDOW = {"collect": 0.06, "pipeline": 0.2, "deliver": 0.4}
"""Per stage the longest wait after the worker enters it, as a share of ``max_wait`` (the stage's usual length
on the test machine: fetching and storing a page is short, a pipeline pass longer, delivery longest)."""


def status_id(i: int) -> str:
    return str(BASE_ID + i)


def status(i: int, total: int) -> dict[str, Any]:
    """Status number ``i`` (1-based) of the stream: a road complaint in one of the kecamatan, in bursts."""
    kec = KECAMATAN[(i * len(KECAMATAN)) // (total + 1)]
    created = T_END - timedelta(hours=3) + timedelta(seconds=i * (3 * 3600 // total))
    user = f"warga{i % 97}"
    return {
        "id": status_id(i),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "in_reply_to_id": None,
        "visibility": "public",
        "language": "id",
        "url": f"https://mastodon.example/@{user}/{status_id(i)}",
        "replies_count": i % 5,
        "reblogs_count": i % 7,
        "favourites_count": i % 11,
        "content": f"<p>Jalan rusak parah di kecamatan {kec}, Kabupaten OKI, motor jatuh lagi (laporan {i})</p>",
        "reblog": None,
        "account": {"id": str(i % 97), "username": user, "acct": f"{user}@mastodon.example"},
        "media_attachments": [],
        "tags": [{"name": "kayuagung"}],
    }


# --- the parent's servers ------------------------------------------------------------------------------------


class JsonServer:
    """A JSON API on 127.0.0.1: ``route(path, query)`` gives (status, body) for every GET; workers may be killed."""

    def __init__(self, route: Callable[[str, dict[str, str]], tuple[int, Any]]) -> None:
        from monitor.demo.local_http import LocalHTTPServer

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                # A worker killed with its connection open resets it: expected here, not worth a traceback.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                code, answer = route(parts.path, query)
                body = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # A worker killed mid-read was served all the same.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class _Server(LocalHTTPServer):
            def __init__(self) -> None:
                self._serve(_H, poll_interval=0.02)

        self._http = _Server()
        self._http.start()
        self.base_url = self._http.base_url

    def stop(self) -> None:
        self._http.stop()


class StreamServer:
    """A Mastodon tag timeline revealing ``step`` more statuses per request; remembers what it served."""

    def __init__(self, total: int, step: int = 25) -> None:
        self.total, self.step = total, step
        self.requests = 0
        self.served: set[int] = set()
        self._http = JsonServer(
            lambda path, query: (200, self.page(query)) if path == TAG_PATH else (404, {"error": "no"})
        )
        self.base_url = self._http.base_url

    def page(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Mastodon's answer: with ``min_id`` the ``limit`` statuses right after it, else the newest; newest first."""
        min_id = query.get("min_id")
        if min_id:
            # Only follow-up requests reveal more: a first run (no cursor yet) reads the newest page only, by
            # design, so a first run killed before storing must not find more than one page waiting.
            self.requests += 1
        visible = min(self.total, self.step * (self.requests + 1))
        limit = min(int(query.get("limit", "40") or 40), 40)
        if min_id and min_id.isdigit():
            first = int(min_id) - BASE_ID + 1
            numbers = list(range(max(first, 1), visible + 1))[:limit]
        else:
            numbers = list(range(1, visible + 1))[-limit:]
        self.served.update(numbers)
        return [status(i, self.total) for i in reversed(numbers)]

    def stop(self) -> None:
        self._http.stop()


# --- the worker ---------------------------------------------------------------------------------------------


class KecamatanClassifier:
    """Every post a road complaint, placed in the kecamatan its text names: one issue per kecamatan."""

    version = "kill-path"

    def predict(self, texts: list[str]) -> list[Any]:
        from tests.pipeline_support import road_label

        road = road_label(self.version)
        out = []
        for text in texts:
            kec = next((k for k in KECAMATAN if f"kecamatan {k}," in text), None)
            out.append(dataclasses.replace(road, kecamatan=kec, desa=None))
        return out


def source_settings(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "hashtags": ["kayuagung"], "min_request_interval": 0, "max_pages": 3}


def worker(
    config_file: str, url: str, base_url: str, now_iso: str, total: int, say: Callable[[str], None] | None = None
) -> None:
    """The monitor's loop until the stream is stored, processed and delivered; phases printed (or said) as it goes."""
    from sqlalchemy import func, select

    from alerts.engine import evaluate
    from alerts.outbox import deliver_due
    from collectors.base import load_collector
    from monitor.kernel.config import AppConfig, SourceConfig
    from monitor.stages.collect import run_source
    from monitor.stages.pipeline import run_pipeline
    from monitor.store.db import Database
    from monitor.store.models import Post, Source

    config = AppConfig.model_validate(json.loads(Path(config_file).read_text(encoding="utf-8")))
    now = datetime.fromisoformat(now_iso)
    db = Database(url)
    settings = source_settings(base_url)
    src = SourceConfig(name=SOURCE, kind="mastodon", settings=settings, interval_seconds=60)
    collector = load_collector("mastodon", SOURCE, settings, {})
    classifier = KecamatanClassifier()
    last = status_id(total)

    def phase(name: str) -> None:
        if say is not None:
            say(name)
        else:
            print(name, flush=True)

    phase("ready")
    with httpx.Client(timeout=10.0, verify=SSL_CONTEXT) as client:
        while True:
            phase("collect")
            report = run_source(db, config, src, collector, client, now, force=True)
            phase("pipeline")
            run_pipeline(db, classifier, config, now, alert_hook=evaluate)
            phase("deliver")
            while deliver_due(db, config, now, limit=5).claimed:
                pass
            with db.session() as s:
                row = s.scalar(select(Source).where(Source.name == SOURCE))
                assert row is not None
                newest = ((row.cursor or {}).get("streams", {}).get("tag:kayuagung") or {}).get("newest_id")
                waiting = (
                    s.scalar(select(func.count()).select_from(Post).where(Post.stage.in_(("new", "classified")))) or 0
                )
            # The outbox was just drained (a delivery waiting for a retry is the parent's to count as unsent).
            if newest == last and report.ok and report.fetched == 0 and not waiting:
                break
    phase("done")


# --- checks -------------------------------------------------------------------------------------------------


@dataclass
class State:
    stored: set[int]
    cursor: int
    posts: int
    unprocessed: int
    alerts: Counter[tuple[str, str, str | None]]
    deliveries: Counter[str]
    stale: int = 0
    """(issue, receiver) pairs whose last alert told another stage than the issue's current one."""


def read_state(url: str) -> State:
    from sqlalchemy import func, select

    from monitor.store.db import Database
    from monitor.store.models import Alert, Delivery, Issue, Post, Source

    db = Database(url)
    try:
        with db.session() as s:
            ids = list(s.scalars(select(Post.external_id)))
            row = s.scalar(select(Source).where(Source.name == SOURCE))
            newest = (
                ((row.cursor or {}).get("streams", {}).get("tag:kayuagung") or {}).get("newest_id") if row else None
            )
            unprocessed = s.scalar(select(func.count()).select_from(Post).where(Post.stage == "new")) or 0
            alerts: Counter[tuple[str, str, str | None]] = Counter()
            for kind, receiver, kec in s.execute(
                select(Alert.kind, Alert.receiver, Issue.kecamatan).outerjoin(Issue, Alert.issue_id == Issue.id)
            ):
                alerts[(kind, receiver, kec)] += 1
            deliveries = Counter(s.scalars(select(Delivery.status)))
            # The stage each receiver was last told about each issue, against the issue's stage now.
            told: dict[tuple[int | None, str], str | None] = {}
            for issue_id, receiver, stage in s.execute(
                select(Alert.issue_id, Alert.receiver, Alert.stage)
                .where(Alert.kind.in_(("first", "update", "repeat", "crisis", "regression")))
                .order_by(Alert.id)
            ):
                told[(issue_id, receiver)] = stage
            stages: dict[int | None, str] = {iid: st for iid, st in s.execute(select(Issue.id, Issue.stage))}
            stale = sum(1 for (iid, _r), st in told.items() if stages.get(iid) != st)
    finally:
        db.dispose()
    return State(
        stored={int(i) - BASE_ID for i in ids},
        cursor=int(newest) - BASE_ID if newest else 0,
        posts=len(ids),
        unprocessed=int(unprocessed),
        alerts=alerts,
        deliveries=deliveries,
        stale=stale,
    )


@dataclass
class Figures:
    """What one database's kill run counted (all but kills and the served/stored totals must be 0)."""

    db: str
    rounds: int = 0
    kills: int = 0
    kills_by_phase: Counter[str] = field(default_factory=Counter)
    served: int = 0
    stored: int = 0
    posts_lost: int = 0
    post_duplicates: int = 0
    cursor_skips: int = 0
    alerts_expected: int = 0
    alerts_made: int = 0
    alerts_lost: int = 0
    stale_stages: int = 0
    deliveries: int = 0
    deliveries_lost: int = 0
    delivery_duplicates: int = 0
    most_copies: int = 0
    failed_final_runs: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.posts_lost == self.post_duplicates == self.cursor_skips == self.alerts_lost == self.stale_stages == 0
            and self.deliveries_lost == self.failed_final_runs == 0
            # Only a kill between a send and its record repeats a message: one extra copy per kill in delivery.
            and self.delivery_duplicates <= self.kills_by_phase["deliver"]
        )

    def lines(self) -> list[str]:
        phases = ", ".join(f"{k} {v}" for k, v in sorted(self.kills_by_phase.items()))
        return [
            f"{self.db}: {self.rounds} rounds, {self.kills} SIGKILLs ({phases}) in {self.seconds:.0f} s",
            f"  posts: served {self.served}, stored {self.stored}, lost {self.posts_lost}, "
            f"duplicates {self.post_duplicates}; cursor skips after kills {self.cursor_skips}",
            f"  alerts (first alert of an issue to a receiver): expected {self.alerts_expected}, "
            f"made {self.alerts_made}, lost {self.alerts_lost}; receivers not told an issue's final stage "
            f"{self.stale_stages}",
            f"  deliveries: {self.deliveries}, lost {self.deliveries_lost}, duplicates {self.delivery_duplicates} "
            f"(allowed: one per kill during delivery = {self.kills_by_phase['deliver']}), "
            f"most copies of one message {self.most_copies}; "
            f"failed final runs {self.failed_final_runs}",
        ]


def _first_alerts(state: State) -> Counter[tuple[str, str | None]]:
    return Counter({(r, k): 1 for (kind, r, k) in state.alerts if kind in ("first", "crisis", "group")})


def _config_file(tmp: Path, smtp_port: int, tg_base: str) -> Path:
    from monitor.kernel.config import load_config
    from tests.telegram_server import alert_config

    base = load_config(ROOT / "config.yaml")
    cfg = alert_config(
        base,
        smtp_port=smtp_port,
        telegram_base=tg_base,
        route={"receiver": "$agency", "routes": [{"receiver": "humas", "continue": True}, {"receiver": "$agency"}]},
        alert_stages=["baru", "naik", "viral", "mereda"],
    )
    data = json.loads(cfg.model_dump_json(by_alias=True))
    data["alerts"]["retry"]["lease_seconds"] = LEASE_SECONDS
    data["ingest"]["prefilter"] = False
    data["alerts"]["telegram"]["per_chat_interval_seconds"] = TELEGRAM_PACE
    path = tmp / f"config-{smtp_port}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _db_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'kill.db'}"
    from tests.pg_support import create_schema, schema_url

    url = os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return schema_url(url, create_schema(url, "kill"))


@dataclass
class _Round:
    state: State
    served: set[int]
    copies: Counter[str]
    kills: Counter[str]
    skips: int
    final_ok: bool
    error: str = ""


def _forked_worker(lines: Connection, env: dict[str, str], err_file: str, *args: Any) -> None:
    """The worker in a forked process: phases go to ``lines``, stderr to ``err_file``."""
    os.environ.update(env)
    fd = os.open(err_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    worker(*args, say=lines.send)


class ForkedWorker:
    """A worker process and the subset of ``subprocess.Popen`` the rounds use (lines, poll, kill, communicate)."""

    def __init__(self, env: dict[str, str], err_file: Path, *args: Any) -> None:
        from tests.forks import FORKS

        self._lines, sender = FORKS.Pipe(duplex=False)
        self._err_file = err_file
        self.process = FORKS.Process(target=_forked_worker, args=(sender, env, str(err_file), *args), daemon=True)
        self.process.start()
        sender.close()  # the child holds the only sending end: its death is the end of the lines

    def readline(self) -> str:
        """The next phase and a newline, or "" once the worker is gone (as a pipe's readline)."""
        try:
            return str(self._lines.recv()) + "\n"
        except EOFError:
            return ""

    def poll(self) -> int | None:
        return self.process.exitcode

    def kill(self) -> None:
        self.process.kill()  # SIGKILL

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def communicate(self, timeout: float) -> tuple[str, str]:
        """The phases still to come (until the worker is gone) and its stderr, as ``Popen.communicate``."""
        phases = []
        deadline = time.monotonic() + timeout
        while self._lines.poll(max(0.0, deadline - time.monotonic())):
            line = self.readline()
            if not line:
                break
            phases.append(line)
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.exitcode is None:
            raise TimeoutError(f"worker pid {self.process.pid} still running after {timeout} s")
        self._lines.close()
        err = self._err_file.read_text(encoding="utf-8", errors="replace") if self._err_file.exists() else ""
        return "".join(phases), err


def _one_round(
    db_kind: str, tmp: Path, total: int, kills: int, rng: random.Random, max_wait: float, log: Any
) -> _Round:
    from monitor.demo.smtp_sink import SmtpSink
    from monitor.store.db import Database
    from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, received_copies

    workdir = Path(tmp) / f"r{rng.randrange(10**9)}"
    workdir.mkdir()
    url = _db_url(db_kind, workdir)
    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()  # else its pooled connection stays open until the garbage collector finds the engine
    env = {TOKEN_ENV: TOKEN, "OKI_MONITOR_AUTHOR_KEY": AUTHOR_KEY}
    stream = StreamServer(total)
    by_phase: Counter[str] = Counter()
    skips = 0
    now = T_END
    try:
        with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
            cfg = _config_file(workdir, smtp.port, tg.base_url)

            def spawn() -> ForkedWorker:
                return ForkedWorker(
                    env, workdir / "worker-stderr.txt", str(cfg), url, stream.base_url, now.isoformat(), total
                )

            done = 0
            while sum(by_phase.values()) < kills:
                proc = spawn()
                ready = proc.readline()  # imports and start-up are not what is under test
                if ready.strip() != "ready":
                    out, err = proc.communicate(timeout=60)
                    return _Round(read_state(url), stream.served, Counter(), by_phase, skips, False, err[-800:])
                # A stage chosen at random, entered 1-3 times, then a random moment inside it: every stage gets
                # its share of kills however short it is (storing 25 posts takes milliseconds here).
                target = rng.choice(list(KILL_WINDOW))
                seen_lines = [ready.strip()]
                for _ in range(rng.randint(1, 3)):
                    line = ""
                    while True:
                        line = proc.readline().strip()
                        seen_lines.append(line)
                        if line in (target, "done", ""):
                            break
                    if line != target:
                        break
                time.sleep(rng.uniform(0.0, KILL_WINDOW[target] * max_wait))
                if proc.poll() is None:
                    proc.kill()
                out, _err = proc.communicate(timeout=60)
                phases = [p for p in [*seen_lines, *out.split()] if p]
                if proc.returncode == -signal.SIGKILL and phases[-1:] != ["done"]:
                    by_phase[phases[-1] if phases else "ready"] += 1
                else:
                    done += 1  # finished (a kill during the interpreter's exit is no kill of the path)
                # The next worker starts after the dead one's outbox lease has run out, as in production.
                now += timedelta(seconds=LEASE_SECONDS + 1)
                state = read_state(url)
                missing = set(range(1, state.cursor + 1)) - state.stored
                if missing:
                    skips += 1
                    log(f"CURSOR SKIP: cursor at {state.cursor} but {len(missing)} statuses at or below it missing")
                if done:
                    break  # the stream ran out before the kills did: this round is complete
            final = spawn()
            out, err = final.communicate(timeout=600)
            final_ok = final.returncode == 0 and out.split()[-1:] == ["done"]
            time.sleep(0.2)  # the SMTP server finishes handing over the last message
            copies = received_copies(smtp, tg)
        state = read_state(url)
        return _Round(state, set(stream.served), copies, by_phase, skips, final_ok, "" if final_ok else err[-800:])
    finally:
        stream.stop()


def kill_rounds(
    db_kind: str,
    kills: int,
    *,
    total: int = 400,
    seed: int = 1,
    max_wait: float = 2.5,
    tmp: Path,
    log: Any = print,
) -> Figures:
    """Kill the worker ``kills`` times over as many rounds as that takes; see the module docstring."""
    rng = random.Random(seed)
    figures = Figures(db=db_kind)
    started = time.perf_counter()
    clean = _one_round(db_kind, tmp, total, 0, rng, max_wait, log)
    if not clean.final_ok:
        raise RuntimeError(f"the run without kills failed: {clean.error}")
    expected = _first_alerts(clean.state)
    log(
        f"{db_kind}: clean run: {clean.state.posts} posts, first alerts {sum(expected.values())}, "
        f"deliveries {sum(clean.state.deliveries.values())}"
    )
    while figures.kills < kills:
        figures.rounds += 1
        r = _one_round(db_kind, tmp, total, kills - figures.kills, rng, max_wait, log)
        killed = sum(r.kills.values())
        figures.kills += killed
        figures.kills_by_phase.update(r.kills)
        figures.cursor_skips += r.skips
        figures.served += len(r.served)
        figures.stored += r.state.posts
        lost = len(r.served - r.state.stored)
        figures.posts_lost += lost
        figures.post_duplicates += r.state.posts - len(r.state.stored)
        made = _first_alerts(r.state)
        figures.alerts_expected += sum(expected.values())
        figures.alerts_made += sum(made.values())
        alerts_lost = sum((expected - made).values())
        figures.alerts_lost += alerts_lost
        figures.stale_stages += r.state.stale
        wanted = sum(r.state.deliveries.values())
        unsent = sum(n for st, n in r.state.deliveries.items() if st != "sent")
        figures.deliveries += wanted
        d_lost = max(wanted - len(r.copies), 0) + unsent
        figures.deliveries_lost += d_lost
        dups = sum(r.copies.values()) - len(r.copies)
        figures.delivery_duplicates += dups
        figures.most_copies = max([figures.most_copies, *r.copies.values()])
        if not r.final_ok:
            figures.failed_final_runs += 1
            figures.notes.append(r.error)
            log(f"round {figures.rounds}: final run failed: {r.error}")
        log(
            f"{db_kind} round {figures.rounds}: {killed} kills {dict(r.kills)}; served {len(r.served)}, "
            f"stored {r.state.posts}, lost {lost}; first alerts {sum(made.values())} of {sum(expected.values())}"
            f" (lost {alerts_lost}); deliveries {wanted} {dict(r.state.deliveries)}, lost {d_lost}, dup {dups}"
        )
        if killed == 0:
            figures.notes.append("a round finished before the first kill: raise total")
            break
    figures.seconds = time.perf_counter() - started
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        raise SystemExit("usage: python -m tests.kill_path --worker CONFIG DB_URL BASE_URL NOW TOTAL")
