"""A province on two `oki-monitor worker` processes sharing PostgreSQL, with random SIGKILLs: the harness.

The parent process writes the deployment as an operator would (``oki-monitor init --province 16``:
one region file per kabupaten/kota of Sumatera Selatan) and points it at local servers: each
region's sources become one Mastodon tag timeline served by the parent (:class:`DayServer`), the
alert channels the aiosmtpd sink and the Telegram Bot API stub of the kill-path harness
(``tests/kill_path.py``). Every agency of every region has its own Telegram chat as ``init`` writes
it (placeholders derived from the region code), so a message's recipient tells its region.

The day (:func:`plan_day`): in every region, posts at a daily rhythm (quiet nights, busy
evenings), most of them chatter and some small complaints about the region's kecamatan, and in a
few regions a road complaint in one kecamatan that grows over hours into a viral issue. A post
appears on its region's timeline when the compressed clock (:class:`ScaledClock`, shared by the
parent and the workers: ``speed`` simulated seconds per wall second) passes its time.

Two worker processes run ``monitor.cli.main([... "worker"])`` with that clock: the real command,
its job claims, leases and heartbeats; each a new interpreter, or (``fork``, the test's) a fork of one
process that imported and warmed up what a worker needs once (:class:`Zygote`). Leases are a few wall
seconds long (in simulated time: the workers count them on their clock). The parent kills a random
worker with SIGKILL at random moments of the day (``kill_busy``, the test's: a worker amid a collection
or pipeline pass) and starts it again at once; after the day it waits until every published post
is served and stored, the pipeline is empty and the outbox is drained, stops both workers, and checks:

* posts: every status the timelines served is stored once, in its source's region;
* alerts: every growing complaint got a first alert to its own region's road agency (PUPR);
* every delivery and every message received goes to an address of the alert's region's agency
  (or to a deployment-wide receiver such as ``humas``): 0 wrong region;
* no first alert decided twice for one issue and receiver, and no message received twice
  (same idempotency key, or same Telegram chat and ack token). A kill between a channel's
  accept and the record of the send can repeat a message (the outbox's documented window);
  such copies are counted and reported separately, not hidden.

``python -m tests.regions_kill --worker CONFIG START_ISO WALL0_FILE SPEED`` is a worker;
``bench/regions_kill.py`` and ``tests/test_regions_kill.py`` drive :func:`run`.
"""

from __future__ import annotations

import bisect
import os
import random
import signal
import subprocess
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
"""Wednesday 2 December 2026, 00:00 WIB: no weekly brief or retrain falls in the day."""
TAG = "warga"
BASE_ID = 113_500_000_000_000_000
REGION_SPAN = 100_000_000
"""Status ids of region number k are BASE_ID + k * REGION_SPAN + n: unique across the province."""
PROVINCE = "16"
OKI = "16.02"
AUTHOR_KEY = "regions-kill-author-key-0123456789"
LEASE_WALL_SECONDS = 8.0
"""Job and outbox leases, in wall seconds (written in simulated seconds: this times the speed)."""
POLL_WALL_SECONDS = 2.0
"""Each region's source is due every this many wall seconds."""
STARTUP_WALL_SECONDS = 120.0
"""Longest wait for both workers to start before the day begins (a loaded machine imports slowly)."""
WORKERS = 2
WORK = ("collect", "pipeline")
"""Kinds of job that carry posts: a kill in one of them interrupts work on posts."""
BUSY_WAIT_WALL_SECONDS = 5.0
"""With ``kill_busy``, the longest wait at a kill's moment for a worker to be in such a job."""
THREADS = 2
"""Job loops per worker process (`worker --threads`)."""
COMPLAINTS = (
    "jalan rusak parah di {place}, mohon diperbaiki",
    "air PDAM mati tiga hari di {place}",
    "lampu jalan padam di {place} sejak kemarin",
    "sampah menumpuk di pasar {place}, bau sekali",
)
BURST = (
    "Jalan poros di Kecamatan {place} {region} rusak parah, lubang besar, motor warga jatuh lagi",
    "Tolong Dinas PUPR, jalan di {place} makin hancur, truk amblas lagi pagi ini",
    "Sudah berbulan-bulan jalan desa di {place} rusak, anak sekolah lewat lumpur. {region} kemana?",
    "Jalan rusak di Kecamatan {place} viral, warga minta bupati turun langsung",
    "Kondisi jalan {place} pas hujan, lumpur sedengkul, kapan diaspal pak? {region}",
)
CHATTER_SHARE = 0.88
"""Of the everyday posts; the rest are small complaints spread over the region's kecamatan."""
BURST_SHARE = 0.02
"""A growing complaint brings this share of its region's daily volume more, over BURST_HOURS."""
BURST_HOURS = 5.0
CHATTER, SMALL, GROWING = 0, 1, 2


class ScaledClock:
    """Simulated time ``start + (wall - wall0) × speed``: every process with the same numbers agrees.

    ``wall0`` is read from ``start_file`` (the parent writes it once the workers are up); until then the
    clock stands still a second before ``start`` (a jump longer than a lease at the start would hand the
    jobs the workers hold to the other worker while they run).
    """

    def __init__(self, start: datetime, start_file: Path, speed: float) -> None:
        self.start, self.start_file, self.speed = start, start_file, speed
        self._wall0: float | None = None

    @property
    def wall0(self) -> float | None:
        if self._wall0 is None and self.start_file.exists():
            text = self.start_file.read_text(encoding="utf-8").strip()
            self._wall0 = float(text) if text else None
        return self._wall0

    def now(self) -> datetime:
        wall0 = self.wall0
        if wall0 is None:
            return self.start - timedelta(seconds=1)
        return self.start + timedelta(seconds=(time.time() - wall0) * self.speed)

    def wall_at(self, when: datetime) -> float:
        """The wall time (``time.time()``) at which the clock reads ``when`` (once started)."""
        assert self.wall0 is not None
        return self.wall0 + (when - self.start).total_seconds() / self.speed


# --- the day --------------------------------------------------------------------------------------------------


@dataclass
class RegionDay:
    """One region's posts of the day: times (epoch seconds, ascending) and kinds; texts are made when served."""

    index: int
    code: str
    name: str
    places: list[str]
    times: array[float]
    kinds: bytearray
    burst_place: str | None = None
    served: set[int] = field(default_factory=set)

    @property
    def source(self) -> str:
        return f"warga-{self.code.replace('.', '')}"

    def status_id(self, n: int) -> str:
        return str(BASE_ID + self.index * REGION_SPAN + n + 1)

    def number(self, status_id: str) -> int:
        return int(status_id) - BASE_ID - self.index * REGION_SPAN - 1

    def item(self, n: int) -> Any:
        """Post ``n`` as a RawItem (text, author and counts drawn from a seed of its own: the same every time)."""
        from collectors.base import RawItem
        from monitor.demo.scenario import CHATTER as CHATTER_TEXTS

        rng = random.Random(self.index * 10_000_019 + n)
        kind = self.kinds[n]
        bare = self.name.split(" ", 1)[1] if self.name.startswith(("Kabupaten ", "Kota ")) else self.name
        if kind == GROWING:
            assert self.burst_place is not None
            text = rng.choice(BURST).format(place=self.burst_place, region=bare)
            likes, shares = rng.randint(20, 400), rng.randint(5, 120)
        elif kind == SMALL:
            text = rng.choice(COMPLAINTS).format(place=rng.choice(self.places))
            likes, shares = rng.randint(0, 15), rng.randint(0, 3)
        else:
            text = rng.choice(CHATTER_TEXTS)
            likes, shares = rng.randint(0, 30), rng.randint(0, 5)
        sid = self.status_id(n)
        return RawItem(
            source=self.source,
            platform="mastodon",
            external_id=sid,
            text=f"{text} #{self.code.replace('.', '')}n{n}",
            created_at=datetime.fromtimestamp(self.times[n], UTC),
            url=f"https://mastodon.example/@warga/{sid}",
            author=f"warga{rng.randint(1, 400 if kind == GROWING else 20_000)}{'g' if kind == GROWING else ''}",
            likes=likes,
            shares=shares,
            replies=rng.randint(0, 10),
        )


def region_places(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """Code -> (name, kecamatan names) of every region of the deployment written into ``folder``."""
    from monitor.kernel.config import load_config
    from monitor.web.actions import kecamatan_names

    cfg = load_config(folder / "config.yaml")
    return {code: (region.name, list(kecamatan_names(cfg, code))) for code, region in cfg.deployment_regions().items()}


def _diurnal(hour: float) -> float:
    from monitor.demo.scenario import _diurnal as scenario_diurnal

    return scenario_diurnal(hour)


def plan_day(
    regions: dict[str, tuple[str, list[str]]],
    per_day: int,
    hours: float,
    bursts: int,
    seed: int,
    opening_hours: float = 0.0,
) -> list[RegionDay]:
    """Every region's posts for ``hours`` from :data:`START` at ``per_day`` a day, ``bursts`` regions growing.

    Each region opens with one post a minute in and then none until ``opening_hours``: a source's first
    run reads only the newest page (Mastodon, by design no history), so it must find the one post.
    """
    rng = random.Random(seed)
    codes = list(regions)
    growing = set(rng.sample(codes, min(bursts, len(codes))))
    days: list[RegionDay] = []
    start = START.timestamp()
    for index, code in enumerate(codes):
        name, places = regions[code]
        posts: list[tuple[float, int]] = [(start + 60.0, CHATTER)]
        for _ in range(int(per_day * hours / 24) - 1):
            while True:  # the scenario's rhythm in WIB: accept a time with its weight
                h = rng.uniform(opening_hours, hours)
                if rng.random() < _diurnal(h) / 1.4:
                    break
            posts.append((start + h * 3600, CHATTER if rng.random() < CHATTER_SHARE else SMALL))
        burst_place = None
        if code in growing:
            # One kecamatan whose name no other kecamatan of the region contains (the issue is placed there).
            candidates = [p for p in places if not any(p != q and p.lower() in q.lower() for q in places)]
            burst_place = rng.choice(candidates)
            length = min(BURST_HOURS, hours * 0.6)
            begin = rng.uniform(hours * 0.1, hours - length - hours * 0.05)
            for _ in range(max(int(per_day * BURST_SHARE), 150)):
                # Density growing linearly over the burst: a complaint that takes off.
                posts.append((start + (begin + length * rng.random() ** 0.5) * 3600, GROWING))
        posts.sort()
        days.append(
            RegionDay(
                index=index,
                code=code,
                name=name,
                places=places,
                times=array("d", (t for t, _ in posts)),
                kinds=bytearray(k for _, k in posts),
                burst_place=burst_place,
            )
        )
    return days


class DayServer:
    """Every region's tag timeline at ``/r/<code>/api/v1/timelines/tag/warga``; what the clock shows, once asked."""

    def __init__(self, days: list[RegionDay], clock: ScaledClock) -> None:
        from tests.kill_path import JsonServer

        self.days = {d.code: d for d in days}
        self.clock = clock
        self.requests = 0
        self.log: list[tuple[str, str, int, int]] = []
        self._http = JsonServer(self.route)
        self.base_url = self._http.base_url

    def route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        from collectors.wire.mastodon import mastodon_statuses

        parts = path.split("/")
        day = self.days.get(parts[2]) if len(parts) > 2 and parts[1] == "r" else None
        if day is None or path != f"/r/{day.code}/api/v1/timelines/tag/{TAG}":
            return 404, {"error": "Record not found"}
        self.requests += 1
        visible = bisect.bisect_right(day.times, self.clock.now().timestamp())
        limit = max(1, min(int(query.get("limit", "40") or 40), 40))
        min_id = query.get("min_id", "")
        if min_id.isdigit():
            first = max(day.number(min_id) + 1, 0)
            numbers = list(range(first, min(first + limit, visible)))
        else:
            numbers = list(range(max(visible - limit, 0), visible))
        day.served.update(numbers)
        self.log.append((day.code, min_id, visible, len(numbers)))
        return 200, mastodon_statuses([day.item(n) for n in reversed(numbers)])

    def stop(self) -> None:
        self._http.stop()


# --- the deployment -------------------------------------------------------------------------------------------


def write_deployment(
    folder: Path, db_url: str, smtp_port: int, telegram_base: str, stub_base: str | None, speed: float
) -> Path:
    """`init --province 16` into ``folder``, then contacts, sources and schedules pointed at the local servers."""
    from monitor.cli import main as cli
    from monitor.kernel.config import load_config
    from tests.telegram_server import alert_config

    if not (folder / "config.yaml").exists() and cli(["init", "--province", PROVINCE, "--output", str(folder)]):
        raise RuntimeError("oki-monitor init --province 16 failed")
    main_file = folder / "config.yaml"
    data = yaml.safe_load(main_file.read_text(encoding="utf-8"))
    # The alert settings of the alert tests (local channels, no quiet hours, one deployment receiver).
    alerts = alert_config(load_config(main_file), smtp_port=smtp_port, telegram_base=telegram_base)
    data["alerts"] = alerts.model_dump(by_alias=True, mode="json")["alerts"]
    lease = round(LEASE_WALL_SECONDS * speed)
    data["alerts"]["retry"]["lease_seconds"] = lease
    data["alerts"]["telegram"]["per_chat_interval_seconds"] = 0.02
    data["alerts"]["brief"]["enabled"] = False
    data["database_url"] = db_url
    data["ingest"]["prefilter"] = False  # every served post is stored: the count is exact
    data["classifier"]["retrain"]["enabled"] = False
    data["tracked_queries"]["enabled"] = False
    data["schedules"].update(
        pipeline_seconds=max(1, round(speed)),
        delivery_seconds=max(1, round(speed)),
        tracking_seconds=7 * 86400,
        lease_seconds=lease,
        worker_poll_seconds=0.1,
    )
    main_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if stub_base is None:
        return main_file
    # Each region's sources become its timeline on the local server.
    for path in sorted((folder / "regions").glob("*.yaml")):
        region = yaml.safe_load(path.read_text(encoding="utf-8"))
        code = region["region_code"]
        region["sources"] = [
            {
                "name": f"warga-{code.replace('.', '')}",
                "kind": "mastodon",
                "interval_seconds": max(1, round(POLL_WALL_SECONDS * speed)),
                "settings": {
                    "base_url": f"{stub_base}/r/{code}",
                    "hashtags": [TAG],
                    "min_request_interval": 0,
                    "max_pages": 25,
                },
            }
        ]
        path.write_text(yaml.safe_dump(region, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return main_file


def contacts(config_file: Path) -> tuple[dict[tuple[str, str], set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """((region, agency) -> addresses, deployment receiver -> addresses, address -> regions it belongs to)."""
    from monitor.kernel.config import load_config

    cfg = load_config(config_file)
    agencies: dict[tuple[str, str], set[str]] = {}
    owners: dict[str, set[str]] = {}
    for code in cfg.deployment_regions():
        for agency in cfg.for_region(code).agencies:
            addresses = {*agency.emails, *agency.telegram_chat_ids}
            agencies[(code, agency.code)] = addresses
            for a in addresses:
                owners.setdefault(a, set()).add(code)
    receivers = {r.name: {*r.email, *r.telegram} for r in cfg.alerts.receivers}
    return agencies, receivers, owners


# --- the worker -----------------------------------------------------------------------------------------------


def worker(config_file: str, start_iso: str, start_file: str, speed: str) -> int:
    """`oki-monitor --config CONFIG worker` on the shared compressed clock."""
    from monitor.cli import main as cli

    clock = ScaledClock(datetime.fromisoformat(start_iso), Path(start_file), float(speed))
    return cli(["--config", config_file, "worker", "--threads", str(THREADS)], clock=clock)


# --- forked workers (the test's) ------------------------------------------------------------------------------


def _warm(config_file: str) -> None:
    """What each new worker process would do for itself before and in its first jobs: imports (every command
    module, the service, the HTTP transport, the database driver, matplotlib), the ORM's mappers, OKI's and the
    regions' gazetteers, the model and its word rows, Indonesia's holidays."""
    import importlib

    from sqlalchemy.orm import configure_mappers

    from alerts.chart import growth_chart
    from alerts.sla import work_calendar
    from classifiers.gazetteer import get_gazetteer
    from classifiers.model import load_classifier
    from monitor.cli import build_parser
    from monitor.kernel.config import load_config

    # httpcore: imported by the first HTTP client; psycopg: by the engine's first connection; the service and
    # the job loops: by the worker command when it runs.
    for module in ("httpcore", "psycopg", "monitor.service", "monitor.worker"):
        importlib.import_module(module)
    build_parser()
    configure_mappers()
    get_gazetteer()
    for region in load_config(config_file).deployment_regions().values():
        region.gazetteer()
    load_classifier().predict(["jalan rusak di Kayu Agung"])
    growth_chart([[START.isoformat(), 1], [(START + timedelta(hours=1)).isoformat(), 3]])
    START.date() in work_calendar({})  # noqa: B015 - computes the year's national holidays once


_ZYGOTE_CONN: list[Any] = []
"""In the zygote, its end of the pipe to the parent: a forked worker closes its copy."""


def _forked_worker(env: dict[str, str], cwd: str, err_file: str, *args: str) -> None:
    """A worker forked from the zygote: the environment, folder and stderr a started one would have."""
    for conn in _ZYGOTE_CONN:
        conn.close()  # the parent sees the zygote's end close when the zygote ends, whatever workers still run
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    fd = os.open(err_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    raise SystemExit(worker(*args))


def _zygote(conn: Any, env: dict[str, str], config_file: str) -> None:
    """Warm up once (:func:`_warm`), then fork a worker per request and report how they end.

    Requests on ``conn``: ``("spawn", args of _forked_worker)`` -> pid; ``("wait", pid, timeout)`` -> exit
    code or None; ``("stop",)`` kills what is left and ends. The zygote has one thread: forking it is safe.
    """
    import multiprocessing

    _ZYGOTE_CONN.append(conn)
    os.environ.update(env)
    _warm(config_file)
    fork = multiprocessing.get_context("fork")
    children: dict[int, Any] = {}
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except EOFError:
            break
        if request[0] == "spawn":
            child = fork.Process(target=_forked_worker, args=request[1:], daemon=True)
            child.start()
            assert child.pid is not None
            children[child.pid] = child
            conn.send(child.pid)
        elif request[0] == "wait":
            child = children[request[1]]
            child.join(request[2])
            conn.send(child.exitcode)
        else:
            break
    for child in children.values():
        if child.exitcode is None:
            child.kill()
            child.join(10)
    import resource

    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    conn.send(sum(u.ru_utime + u.ru_stime for u in used))


class Zygote:
    """A process forked from the kill tests' forkserver (``tests/forks.py``) that has warmed up what every worker
    needs once and forks the workers: a new `oki-monitor worker` costs a fork instead of ~2-3 s of CPU."""

    def __init__(self, env: dict[str, str], config_file: Path) -> None:
        from tests.forks import FORKS

        self._conn, theirs = FORKS.Pipe()
        self.process = FORKS.Process(target=_zygote, args=(theirs, env, str(config_file)))
        self.process.start()
        theirs.close()
        if self._conn.recv() != "ready":
            raise RuntimeError("the workers' zygote did not start")

    def spawn(self, env: dict[str, str], cwd: Path, err_file: Path, *args: str) -> ForkedProcess:
        """A new worker process running ``worker(*args)``."""
        # Created here, before the fork: the caller reads it as soon as this returns, and the child may not
        # have opened it yet (a missing log is not a worker that has not started).
        err_file.write_bytes(b"")
        self._conn.send(("spawn", env, str(cwd), str(err_file), *args))
        return ForkedProcess(self, int(self._conn.recv()))

    def wait(self, pid: int, timeout: float) -> int | None:
        """The exit code of worker ``pid`` once it ended within ``timeout`` seconds, else None."""
        self._conn.send(("wait", pid, timeout))
        code = self._conn.recv()
        return None if code is None else int(code)

    def stop(self) -> float | None:
        """End the zygote and any worker still running; CPU seconds the zygote and its workers used (None: unknown).

        Its workers are not this process's children: ``os.times()`` here does not count them.
        """
        cpu = None
        try:
            self._conn.send(("stop",))
            if self._conn.poll(30):
                cpu = float(self._conn.recv())
        except (OSError, EOFError):
            pass
        self.process.join(30)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join(10)
        self._conn.close()
        return cpu


class ForkedProcess:
    """A forked worker behind the part of ``subprocess.Popen`` :func:`run` uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def poll(self) -> int | None:
        return self.zygote.wait(self.pid, 0)

    def wait(self, timeout: float) -> int:
        code = self.zygote.wait(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
        return code


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one run counted; every figure but the totals and the kills must be 0 (see :attr:`ok`)."""

    regions: int = 0
    day_hours: float = 0.0
    per_day: int = 0
    kills: int = 0
    kills_holding: Counter[str] = field(default_factory=Counter)
    kills_in_work: int = 0
    """Kills whose victim held a collection or a region's pipeline pass (work on posts) at that moment."""
    published: int = 0
    served: int = 0
    stored: int = 0
    posts_lost: int = 0
    posts_twice: int = 0
    posts_wrong_region: int = 0
    unprocessed: int = 0
    issues: int = 0
    issues_mixing_regions: int = 0
    expected_alerts: int = 0
    expected_made: int = 0
    alerts: int = 0
    alerts_by_kind: Counter[str] = field(default_factory=Counter)
    first_alerts_twice: int = 0
    deliveries: int = 0
    deliveries_unsent: int = 0
    deliveries_after_drain: int = 0
    """Left in the outbox when the workers stopped (the clock runs on: escalations, digests), sent after."""
    deliveries_wrong_region: int = 0
    received: int = 0
    received_wrong_region: int = 0
    received_unknown: int = 0
    sent_twice: int = 0
    sent_twice_in_kill_window: int = 0
    shared_addresses: int = 0
    """Agency addresses listed in more than one region (the region check needs every address in one)."""
    drained: bool = False
    day_seconds: float = 0.0
    seconds: float = 0.0
    workers_cpu: float | None = None
    """CPU seconds of the worker processes (and the zygote they were forked from); None: not known."""
    worker_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.drained
            and self.posts_lost == self.posts_twice == self.posts_wrong_region == self.unprocessed == 0
            and self.published == self.served == self.stored
            and self.issues_mixing_regions == 0
            and self.expected_made == self.expected_alerts
            and self.first_alerts_twice == self.deliveries_unsent == 0
            and self.deliveries_wrong_region == self.received_wrong_region == self.received_unknown == 0
            and self.sent_twice == self.shared_addresses == 0
            and not self.worker_errors
        )

    def lines(self) -> list[str]:
        holding = ", ".join(f"{k} {v}" for k, v in sorted(self.kills_holding.items()))
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.alerts_by_kind.items()))
        return [
            f"{self.regions} regions, {self.day_hours:g} h at {self.per_day:,} posts/day per region, "
            f"{WORKERS} workers x {THREADS} threads on PostgreSQL: {self.kills} SIGKILLs ({holding}; "
            f"{self.kills_in_work} during a collection or pipeline pass); "
            f"day {self.day_seconds:.0f} s, whole run {self.seconds:.0f} s, workers' CPU "
            + ("?" if self.workers_cpu is None else f"{self.workers_cpu:.1f} s"),
            f"  posts: published {self.published:,}, served {self.served:,}, stored {self.stored:,}, "
            f"lost {self.posts_lost}, stored twice {self.posts_twice}, in the wrong region {self.posts_wrong_region}, "
            f"left unprocessed {self.unprocessed}",
            f"  issues {self.issues:,}, mixing regions {self.issues_mixing_regions}; alerts {self.alerts:,} ({kinds})",
            f"  growing complaints alerted to their region's PUPR: {self.expected_made} of {self.expected_alerts}; "
            f"first alerts decided twice {self.first_alerts_twice}",
            f"  deliveries {self.deliveries:,}, unsent {self.deliveries_unsent} (left at the workers' stop and sent "
            f"after it {self.deliveries_after_drain}), to the wrong region "
            f"{self.deliveries_wrong_region}; messages received {self.received:,}, to the wrong region "
            f"{self.received_wrong_region}, unknown {self.received_unknown}; addresses in two regions "
            f"{self.shared_addresses}",
            f"  alerts sent twice (same alert and recipient received more than once) {self.sent_twice} "
            f"(of which after a kill inside a send: {self.sent_twice_in_kill_window}); drained {self.drained}",
        ]


def _pg_admin() -> Any:
    """The test server's URL (``OKI_TEST_PG_URL`` or the local default)."""
    from sqlalchemy.engine import make_url

    return make_url(os.environ.get("OKI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def _pg_execute(statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_pg_admin(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def pg_database(name: str) -> str:
    """A fresh PostgreSQL database ``name`` on the test server (dropped first if a run left it behind)."""
    drop_pg_database(name)
    _pg_execute(f'CREATE DATABASE "{name}"')
    return str(_pg_admin().set(database=name).render_as_string(hide_password=False))


def drop_pg_database(name: str) -> None:
    """Drop ``name`` if it exists, ending its connections (a killed worker's may linger)."""
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _held_jobs(db: Any, pid: int) -> list[str]:
    from sqlalchemy import select

    from monitor.store.models import JobRun

    with db.session() as s:
        return list(s.scalars(select(JobRun.job_id).where(JobRun.lease_owner.like(f"%:{pid}:%"))))


def _busy_worker(db: Any, procs: list[Any], first: int, deadline: float) -> tuple[int, list[str]]:
    """The first worker (``first``, then the other) seen in a collection or pipeline pass and not amid sends before
    ``deadline`` (``time.monotonic()``), and its jobs; else ``first`` and what it holds then.

    Not amid sends: a pipeline pass sends its new alerts at once, and a kill between a channel's accept and the
    record of the send repeats that message (the outbox's documented window, tests/test_alerts_outbox.py); here
    every copy received twice is a failure.
    """
    while True:
        for slot in (first, *(k for k in range(len(procs)) if k != first)):
            held = _held_jobs(db, procs[slot].pid)
            if any(_kind_of(job) in WORK for job in held) and not _sending(db, procs[slot].pid):
                return slot, held
        if time.monotonic() >= deadline:
            return first, _held_jobs(db, procs[first].pid)
        time.sleep(0.02)


def _sending(db: Any, pid: int) -> bool:
    """Whether process ``pid`` holds deliveries it is sending (claimed, not yet recorded)."""
    from sqlalchemy import func, select

    from monitor.store.models import Delivery

    with db.session() as s:
        query = (
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status == "sending", Delivery.lease_owner.like(f"%:{pid}:%"))
        )
        return bool(s.scalar(query))


def _kind_of(job_id: str) -> str:
    """``collect:warga-1601`` -> collect, ``pipeline:16.01`` (a region's pass) -> pipeline."""
    return job_id.split(":", 1)[0]


def run(
    *,
    tmp: Path,
    db_name: str = "regionskill",
    kills: int = 10,
    per_day: int = 30_000,
    hours: float = 24.0,
    day_minutes: float = 7.0,
    bursts: int = 6,
    regions: int | None = None,
    seed: int = 1,
    drain_timeout: float = 300.0,
    log: Any = print,
    database_url: str | None = None,
    fork: bool = False,
    kill_busy: bool = False,
    kills_before: float = 0.98,
) -> Figures:
    """Replay the day through two workers with ``kills`` SIGKILLs; see the module docstring.

    ``database_url``: an empty, migrated PostgreSQL database of the caller's (say, a fresh schema), used and
    left as it is; None: a new database ``db_name``, created, migrated and dropped here. ``fork``: workers are
    forked from a process that warmed up once (:class:`Zygote`) instead of started as new interpreters; the same
    command in a process of its own, killed the same way. ``kill_busy``: at each kill's moment, wait (up to
    :data:`BUSY_WAIT_WALL_SECONDS`) for a worker in a collection or pipeline pass and kill that one.
    ``kills_before``: the kills land before this fraction of the day (a job a late kill leaves leased waits for
    its lease to expire, after the day: the drain waits with it).
    """
    from monitor.demo.smtp_sink import SmtpSink
    from monitor.store.db import Database
    from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, received_copies

    started = time.monotonic()
    children = os.times()
    rng = random.Random(seed)
    speed = hours * 3600 / (day_minutes * 60)
    folder = tmp / "provinsi"
    write_deployment(folder, "sqlite://", 25, "http://127.0.0.1:9", None, speed)  # the regions and their places
    places = region_places(folder)
    if regions is not None:  # a smaller province for the smoke test: OKI and the next regions of the list
        keep = list(places)[:regions]
        places = {c: places[c] for c in keep}
    # Three polls of every source in the opening: the first run happens while only the opening post is out.
    opening_hours = 3 * POLL_WALL_SECONDS * speed / 3600
    days = plan_day(places, per_day, hours, bursts, seed, opening_hours=opening_hours)
    figures = Figures(regions=len(days), day_hours=hours, per_day=per_day)
    figures.published = sum(len(d.times) for d in days)
    log(
        f"day planned: {figures.published:,} posts in {len(days)} regions; growing complaints in "
        + ", ".join(f"{d.code} {d.burst_place}" for d in days if d.burst_place)
    )
    url = database_url or pg_database(db_name)
    procs: list[Any] = []
    errs: list[Path] = []
    server = None
    zygote: Zygote | None = None
    try:
        with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
            # The day starts once the workers are up: a source's first run reads only the newest page (by
            # design, no history), so the first posts must not pile up during start-up.
            start_file = tmp / "wall0"
            clock = ScaledClock(START, start_file, speed)
            server = DayServer(days, clock)
            config = write_deployment(folder, url, smtp.port, tg.base_url, server.base_url, speed)
            if regions is not None:
                _keep_regions(config, [d.code for d in days])
            db = Database(url)
            if database_url is None:
                db.upgrade()
            os.environ.setdefault("OKI_MONITOR_MODEL_DIR", str(ROOT / "var" / "models"))
            from classifiers.model import load_classifier

            load_classifier()  # trained once here if missing, not by a worker on the clock
            env = {**os.environ, TOKEN_ENV: TOKEN, "OKI_MONITOR_AUTHOR_KEY": AUTHOR_KEY, "PYTHONPATH": str(ROOT)}
            env.pop("OKI_MONITOR_DATABASE_URL", None)

            if fork:
                zygote = Zygote(env, config)

            def spawn(slot: int) -> Any:
                err = tmp / f"worker-{slot}-{len(errs)}.log"
                errs.append(err)
                if zygote is not None:
                    return zygote.spawn(env, tmp, err, str(config), START.isoformat(), str(start_file), repr(speed))
                cmd = [sys.executable, "-m", "tests.regions_kill", "--worker", str(config)]
                with err.open("w") as fh:
                    return subprocess.Popen(
                        [*cmd, START.isoformat(), str(start_file), repr(speed)],
                        cwd=tmp,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=fh,
                        text=True,
                    )

            procs = [spawn(k) for k in range(WORKERS)]
            deadline = time.monotonic() + STARTUP_WALL_SECONDS
            while time.monotonic() < deadline and not all(
                " started: " in e.read_text(encoding="utf-8", errors="replace") for e in errs
            ):
                time.sleep(0.2)
            log(f"workers up {time.monotonic() - started:.1f} s into the run")
            wall0 = time.time() + 1.0
            (tmp / "wall0.tmp").write_text(repr(wall0), encoding="utf-8")
            (tmp / "wall0.tmp").replace(start_file)  # a worker never reads half a number
            end = START + timedelta(hours=hours)
            day_wall = clock.wall_at(end) - wall0
            # Within the day after its quiet opening (see plan_day), where posts come.
            earliest = max(0.02, opening_hours / hours)
            moments = sorted(wall0 + day_wall * rng.uniform(earliest, kills_before) for _ in range(kills))
            for moment in moments:
                time.sleep(max(0.0, moment - time.time()))
                slot = rng.randrange(WORKERS)
                if kill_busy:
                    slot, held = _busy_worker(db, procs, slot, time.monotonic() + BUSY_WAIT_WALL_SECONDS)
                else:
                    held = _held_jobs(db, procs[slot].pid)
                victim = procs[slot]
                victim.send_signal(signal.SIGKILL)
                victim.wait(30)
                figures.kills += 1
                figures.kills_in_work += any(_kind_of(job) in WORK for job in held)
                for job in held or ["nothing"]:
                    figures.kills_holding[_kind_of(job)] += 1
                log(
                    f"kill {figures.kills} at {clock.now():%H:%M} UTC (simulated): worker {slot} pid {victim.pid} "
                    f"holding {', '.join(held) or 'no job'}"
                )
                procs[slot] = spawn(slot)
            time.sleep(max(0.0, clock.wall_at(end) - time.time()))
            figures.day_seconds = time.time() - wall0
            log(f"day over after {figures.day_seconds:.0f} s; draining")
            figures.drained = _drain(db, days, clock, time.monotonic() + drain_timeout, log) is not None
            if os.environ.get("RK_DEBUG"):
                for day in days:
                    gaps = [n for n in range(len(day.times)) if n not in day.served]
                    log(f"  {day.code} missing {len(gaps)}: {gaps[:5]} .. {gaps[-5:]}")
                for entry in server.log[:30]:
                    log(f"  request {entry}")
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
                    figures.notes.append(f"worker pid {p.pid} did not stop on SIGTERM within 60 s")
            # The clock runs on after the day, so the workers keep deciding escalations and digests until they
            # stop; what they decided last is sent here, by the same outbox code a next worker would run.
            from alerts.outbox import deliver_due
            from monitor.kernel.config import load_config

            os.environ[TOKEN_ENV] = TOKEN
            deployment = load_config(config)
            while (flushed := deliver_due(db, deployment, clock.now(), clock=clock.now).claimed) > 0:
                figures.deliveries_after_drain += flushed
            time.sleep(0.3)  # the SMTP server finishes handing over the last message
            copies = received_copies(smtp, tg)
            mails = [(str(m.message["X-OKI-Idempotency-Key"]), m.rcpt_tos) for m in smtp.received]
            chats = [
                (str(p["chat_id"]), str(p["reply_markup"]["inline_keyboard"][0][0]["callback_data"]))
                for p in tg.sent_messages()
                if "reply_markup" in p
            ]
            _check(figures, db, days, config, copies, mails, chats)
            db.dispose()
        for err in errs:
            text = err.read_text(encoding="utf-8", errors="replace")
            lines = text.splitlines()
            bad = [line for line in lines if " ERROR " in line]
            # A traceback's last line says what was raised.
            for i, line in enumerate(lines):
                if line.startswith("Traceback"):
                    last = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), i)
                    bad.append(f"{lines[i - 1][:160]} ... {lines[last][:300]}")
            figures.worker_errors.extend(f"{err.name}: {line}" for line in bad[:3])
    finally:
        if zygote is not None:
            figures.workers_cpu = zygote.stop()  # and with it any worker still running
        for p in procs if zygote is None else ():
            if p.poll() is None:
                p.kill()
                p.wait(10)
        if zygote is None:
            now = os.times()
            figures.workers_cpu = (
                now.children_user + now.children_system - children.children_user - children.children_system
            )
        if server is not None:
            server.stop()
        if database_url is None:
            drop_pg_database(db_name)
    figures.served = sum(len(d.served) for d in days)
    figures.seconds = time.monotonic() - started
    return figures


def _keep_regions(config: Path, codes: list[str]) -> None:
    """List only ``codes`` in the main config (the smoke test's smaller province)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["regions"] = [f"regions/{c}.yaml" for c in codes]
    config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _drain(db: Any, days: list[RegionDay], clock: ScaledClock, deadline: float, log: Any) -> datetime | None:
    """Wait until every post is served and stored, none waits for the pipeline and the outbox is empty.

    The clock runs on after the day, so housekeeping keeps deciding escalations and digests: the outbox
    is empty at one moment, which is when the run stops (later deliveries are counted apart). Returns that
    moment (read before the counts: a delivery decided while counting is after it), None on the deadline.
    """
    from sqlalchemy import func, select

    from monitor.store.models import Delivery, Post

    published = sum(len(d.times) for d in days)
    state = ""
    while time.monotonic() < deadline:
        at = clock.now()
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Post)) or 0
            waiting = s.scalar(select(func.count()).select_from(Post).where(Post.stage.in_(("new", "classified")))) or 0
            outbox = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status != "sent")) or 0
        served = sum(len(d.served) for d in days)
        now = f"served {served}/{published}, stored {stored}, waiting {waiting}, outbox {outbox}"
        if now != state:
            log(f"  drain: {now}")
            state = now
        if served == published and stored >= served and not waiting and not outbox:
            return at
        time.sleep(0.25)
    return None


def _check(
    figures: Figures,
    db: Any,
    days: list[RegionDay],
    config: Path,
    copies: Counter[str],
    mails: list[tuple[str, tuple[str, ...]]],
    chats: list[tuple[str, str]],
) -> None:
    from sqlalchemy import func, select

    from monitor.store.models import Alert, Delivery, DeliveryAttempt, Issue, IssuePost, Post, Source

    by_source = {d.source: d for d in days}
    agencies, receivers, owners = contacts(config)
    with db.session() as s:
        stored: Counter[tuple[str, str]] = Counter()
        for name, external_id, region in s.execute(
            select(Source.name, Post.external_id, Post.region_code).join(Source, Post.source_id == Source.id)
        ):
            stored[(name, external_id)] += 1
            day = by_source.get(name)
            if day is None or region != day.code:
                figures.posts_wrong_region += 1
        figures.stored = sum(stored.values())
        figures.posts_twice = sum(n - 1 for n in stored.values())
        for day in days:
            have = {day.number(e) for (name, e) in stored if name == day.source}
            figures.posts_lost += len(day.served - have)
        figures.unprocessed = (
            s.scalar(select(func.count()).select_from(Post).where(Post.stage.in_(("new", "classified")))) or 0
        )
        issue_region: dict[int, str] = {i: r for i, r in s.execute(select(Issue.id, Issue.region_code))}
        figures.issues = len(issue_region)
        figures.issues_mixing_regions = (
            s.scalar(
                select(func.count(func.distinct(IssuePost.issue_id)))
                .join(Post, IssuePost.post_id == Post.id)
                .join(Issue, IssuePost.issue_id == Issue.id)
                .where(Post.region_code != Issue.region_code)
            )
            or 0
        )
        alerts = {a.id: a for a in s.scalars(select(Alert))}
        kecamatan: dict[int, str | None] = {i: k for i, k in s.execute(select(Issue.id, Issue.kecamatan))}
        figures.alerts = len(alerts)
        figures.alerts_by_kind = Counter(a.kind for a in alerts.values())
        firsts = Counter((a.issue_id, a.receiver) for a in alerts.values() if a.kind == "first" and a.issue_id)
        figures.first_alerts_twice = sum(n - 1 for n in firsts.values())
        for day in days:
            if day.burst_place is None:
                continue
            figures.expected_alerts += 1
            made = any(
                a.region_code == day.code
                and a.agency_code == "pupr"
                and a.kind in ("first", "crisis")
                and (kecamatan.get(a.issue_id) or "").lower() == day.burst_place.lower()
                for a in alerts.values()
            )
            figures.expected_made += made
            if not made:
                figures.notes.append(f"no first alert to PUPR of {day.code} about {day.burst_place}")
        deliveries = list(s.scalars(select(Delivery)))
        figures.deliveries = len(deliveries)
        figures.deliveries_unsent = sum(1 for d in deliveries if d.status != "sent")
        by_key = {d.idempotency_key: d for d in deliveries}
        attempts = Counter(s.scalars(select(DeliveryAttempt.delivery_id).where(DeliveryAttempt.ok.is_(True))))

    def region_of(alert: Alert) -> str:
        return issue_region.get(alert.issue_id, alert.region_code) if alert.issue_id else alert.region_code

    def allowed(alert: Alert, recipient: str) -> bool:
        region = region_of(alert)
        if alert.region_code != region:
            return False
        if alert.receiver.startswith("agency:"):
            return recipient in agencies.get((region, alert.receiver.split(":", 1)[1]), set())
        return recipient in receivers.get(alert.receiver, set())

    for d in deliveries:
        alert = alerts.get(d.alert_id)
        if alert is None or not allowed(alert, d.recipient):
            figures.deliveries_wrong_region += 1
            figures.notes.append(f"delivery {d.id} of alert {d.alert_id} to {d.recipient}: not its region's")
    ack_alert = {a.ack_token: a for a in alerts.values()}
    for key, rcpts in mails:
        delivery = by_key.get(key)
        alert = alerts.get(delivery.alert_id) if delivery is not None else None
        for rcpt in rcpts:
            figures.received += 1
            if alert is None:
                figures.received_unknown += 1
            elif not allowed(alert, rcpt):
                figures.received_wrong_region += 1
    for chat, token in chats:
        figures.received += 1
        alert = ack_alert.get(token.rsplit(":", 1)[-1])
        if alert is None:
            figures.received_unknown += 1
        elif not allowed(alert, chat):
            figures.received_wrong_region += 1
    by_chat = {
        (d.recipient, alerts[d.alert_id].ack_token): d
        for d in deliveries
        if d.channel == "telegram" and d.alert_id in alerts
    }
    for key, n in copies.items():
        if n <= 1:
            continue
        figures.sent_twice += n - 1
        if key.startswith("mail:"):
            delivery = by_key.get(key.removeprefix("mail:"))
        else:
            _tg, chat, callback = key.split(":", 2)
            delivery = None if callback.startswith("text:") else by_chat.get((chat, callback.rsplit(":", 1)[-1]))
        # Received twice but recorded sent once: a send whose worker was killed before it recorded it.
        if delivery is not None and attempts.get(delivery.id, 0) <= 1:
            figures.sent_twice_in_kill_window += n - 1
    figures.shared_addresses = sum(1 for regions in owners.values() if len(regions) > 1)


def main_worker(argv: list[str]) -> int:
    if len(argv) == 6 and argv[1] == "--worker":
        return worker(argv[2], argv[3], argv[4], argv[5])
    raise SystemExit("usage: python -m tests.regions_kill --worker CONFIG START_ISO WALL0_FILE SPEED")


if __name__ == "__main__":
    raise SystemExit(main_worker(sys.argv))
