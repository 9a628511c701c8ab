"""`oki-monitor worker`: many workers on one PostgreSQL collect each source once per slot and send each alert once.

The planning is pure and tested without a database; the claims, the three-worker run and the
SIGKILL take-over run on PostgreSQL, each in its own schema.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from alerts.engine import evaluate
from alerts.outbox import _claim, _still_mine, deliver_due
from monitor.demo.smtp_sink import SmtpSink
from monitor.domain.jobs import JobSpec, first_due, missed, next_due, plan_jobs
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.service import MonitorService
from monitor.store.db import Database
from monitor.store.jobs import claim_next, ensure_jobs, finish, renew
from monitor.store.models import Delivery, JobRun, Post, Source
from monitor.worker import Worker
from tests.cli_support import run_main
from tests.pipeline_support import FixedClassifier
from tests.platform_replay import ReplayServer, Reply
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config, make_issue

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


# --- planning: pure -------------------------------------------------------------------------


def test_interval_slots_follow_the_schedule_not_the_finish_and_coalesce() -> None:
    spec = JobSpec("collect:a", every_seconds=60)
    assert first_due(spec, T0) == T0
    # A run that took 25 s: the next slot is still T0 + 60, not T0 + 85 (no drift).
    assert next_due(spec, T0, T0 + timedelta(seconds=25)) == T0 + timedelta(seconds=60)
    # Overdue by several slots (no worker was up): one run, then the first slot after it.
    assert next_due(spec, T0, T0 + timedelta(seconds=250)) == T0 + timedelta(seconds=300)
    # Ending exactly on a slot boundary: that slot has passed, the next one is due.
    assert next_due(spec, T0, T0 + timedelta(seconds=120)) == T0 + timedelta(seconds=180)
    assert not missed(spec, T0, T0 + timedelta(days=3)), "interval jobs always run once when overdue"


def test_cron_jobs_fire_on_their_line_and_skip_a_run_missed_beyond_grace() -> None:
    spec = JobSpec("retrain", cron="0 2 * * 0", grace_seconds=3600)  # Sunday 02:00 WIB
    sunday_0200_wib = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # = Sunday 6 Dec 02:00 WIB
    assert first_due(spec, sunday_0200_wib - timedelta(hours=1)) == sunday_0200_wib
    assert next_due(spec, sunday_0200_wib, sunday_0200_wib + timedelta(minutes=5)) == sunday_0200_wib + timedelta(
        days=7
    )
    assert not missed(spec, sunday_0200_wib, sunday_0200_wib + timedelta(minutes=59))
    assert missed(spec, sunday_0200_wib, sunday_0200_wib + timedelta(hours=2))


def test_plan_has_one_collection_job_per_source_and_the_stage_jobs(config: AppConfig) -> None:
    names = [s.name for s in config.sources][:2]
    ids = [s.job_id for s in plan_jobs(config, names)]
    assert ids[:2] == [f"collect:{n}" for n in names]
    assert {"pipeline", "deliver", "telegram-acks", "housekeeping", "tracking", "retention"} <= set(ids)
    assert len(ids) == len(set(ids))


# --- claims on PostgreSQL -------------------------------------------------------------------


@pytest.fixture
def pg(pg_db: Database) -> Database:
    return pg_db


def test_a_job_is_claimed_by_one_worker_and_taken_over_after_its_lease(pg: Database) -> None:
    ensure_jobs(pg, {"collect:a": T0, "collect:b": T0 + timedelta(seconds=30)})
    ensure_jobs(pg, {"collect:a": T0 + timedelta(hours=1)})  # a second worker starting moves nobody's slot
    first = claim_next(pg, ["collect:a", "collect:b"], "w1", T0, 10)
    assert first is not None and first.job_id == "collect:a" and first.due_at == T0
    assert claim_next(pg, ["collect:a", "collect:b"], "w2", T0, 10) is None, "b is not due, a is leased"
    assert renew(pg, "w1", ["collect:a"], T0 + timedelta(seconds=8), 10) == {"collect:a"}
    assert claim_next(pg, ["collect:a"], "w2", T0 + timedelta(seconds=15), 10) is None, "the heartbeat kept it"
    # w1 dies: nobody renews; after the lease w2 takes the same run over (same scheduled time).
    taken = claim_next(pg, ["collect:a"], "w2", T0 + timedelta(seconds=19), 10)
    assert taken is not None and taken.due_at == T0 and taken.taken_over_from == "w1"
    # A stalled w1 coming back can neither renew nor reschedule what w2 now runs.
    assert renew(pg, "w1", ["collect:a"], T0 + timedelta(seconds=20), 10) == set()
    assert not finish(pg, first, T0 + timedelta(seconds=20), T0 + timedelta(seconds=60), ok=True)
    assert finish(pg, taken, T0 + timedelta(seconds=21), T0 + timedelta(seconds=60), ok=True)
    with pg.session() as s:
        row = s.get(JobRun, "collect:a")
        assert row is not None
        assert (row.next_due_at, row.lease_owner, row.runs) == (T0 + timedelta(seconds=60), None, 2)


def test_a_delivery_claimed_by_a_dead_sender_is_sent_once_by_another(
    pg: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("OKI_MONITOR_SECRET_KEY", "test-secret-key-0123456789")
    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
        cfg = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url)
        with pg.session() as s:
            make_issue(s, T0, score=80)
            evaluate(s, cfg, T0)
        claimed = _claim(pg, cfg, T0, 100, "dead-sender")  # claimed, then SIGKILL before sending
        assert claimed
        assert deliver_due(pg, cfg, T0 + timedelta(seconds=1)).claimed == 0, "its lease still runs"
        later = T0 + timedelta(seconds=cfg.alerts.retry.lease_seconds + 1)
        report = deliver_due(pg, cfg, later)
        assert report.sent == len(claimed)
        # The dead sender's stalled twin, waking up, finds the rows are not its own any more.
        assert not any(_still_mine(pg, d, "dead-sender", later, 60) for d in claimed)
        assert len(smtp.received) + len(tg.sent_messages()) == len(claimed)


# --- three workers against one PostgreSQL ---------------------------------------------------


def _feed(name: str, n: int) -> str:
    items = "".join(
        f"<item><title>Jalan rusak {name} {k}</title><link>https://berita.example.id/{name}/{k}</link>"
        f"<guid>{name}-{k}</guid><pubDate>Mon, 07 Dec 2026 00:0{k}:00 GMT</pubDate>"
        f"<description>Jalan rusak parah di Cengal, laporan {name} nomor {k}</description></item>"
        for k in range(n)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'


def _rss_sources(base: str, intervals: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "kind": "rss",
            "interval_seconds": every,
            "settings": {"url": f"{base}/feed/{name}.xml", "min_request_interval": 0, "allow_private_redirects": True},
        }
        for name, every in intervals.items()
    ]


def _serve_feeds(server: ReplayServer, names: list[str]) -> None:
    for name in names:
        server.add("GET", f"/feed/{name}.xml", Reply(200, _feed(name, 3), {"Content-Type": "application/rss+xml"}))


def _quiet(db: Database, now: datetime, timeout: float = 20) -> None:
    """Wait until no job is due at ``now`` and none is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            busy = s.scalar(
                select(func.count())
                .select_from(JobRun)
                .where((JobRun.next_due_at <= now) | JobRun.lease_owner.is_not(None))
            )
        if not busy:
            return
        time.sleep(0.05)
    raise AssertionError(f"jobs still due or running at {now}")


def test_three_workers_collect_each_source_once_per_interval_and_deliver_each_alert_once(
    pg: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("OKI_MONITOR_SECRET_KEY", "test-secret-key-0123456789")
    intervals = {"berita-a": 60, "berita-b": 120, "berita-c": 300}
    clock = SimulatedClock(T0)
    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg, ReplayServer() as server:
        _serve_feeds(server, list(intervals))
        data = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url).model_dump(by_alias=True)
        data["sources"] = _rss_sources(server.base_url, intervals)
        data["schedules"].update(lease_seconds=30, worker_poll_seconds=0.05)
        cfg = AppConfig.model_validate(data)
        with pg.session() as s:  # alerts already waiting in the outbox when the workers start
            for k in range(4):
                make_issue(s, T0, title=f"Keluhan {k}", kecamatan=f"K{k}", score=80)
            evaluate(s, cfg, T0)
        engines = [Database(pg.url) for _ in range(3)]
        services = [MonitorService(cfg, e, clock, classifier=FixedClassifier()) for e in engines]
        workers = [Worker(svc) for svc in services]
        try:
            for w in workers:
                w.start()
            _quiet(pg, clock.now())
            for _ in range(30):  # ten simulated minutes in 20-second steps
                clock.advance(timedelta(seconds=20))
                _quiet(pg, clock.now())
        finally:
            for w in workers:
                w.shutdown()
            for svc in services:
                svc.close()
            for e in engines:
                e.dispose()
        elapsed = 600
        for name, every in intervals.items():
            expected = elapsed // every + 1  # the first run at start, then one per slot
            assert len(server.calls(f"/feed/{name}.xml")) == expected, name
        with pg.session() as s:
            runs = {r.job_id: r.runs for r in s.scalars(select(JobRun))}
            deliveries = list(s.scalars(select(Delivery)))
            posts = s.scalar(
                select(func.count()).select_from(Post).join(Source).where(Source.name.in_(list(intervals)))
            )
        assert {runs[f"collect:{n}"] for n in intervals} == {11, 6, 3}
        assert runs["pipeline"] == elapsed // 60 + 1
        # Delivery is due every 15 s but time moved in 20-s steps: 40 slots passed, coalesced into one run a step.
        assert runs["deliver"] == 30 + 1
        assert posts == 9
        for name in intervals:  # the workers' own tallies agree with the server's
            assert sum(w.ran[f"collect:{name}"] for w in workers) == runs[f"collect:{name}"]
        assert sum(1 for w in workers if w.ran) >= 2, "the jobs were shared out, not all run by one worker"
        assert len(deliveries) > 8 and Counter(d.status for d in deliveries) == {"sent": len(deliveries)}
        mails = Counter(str(m.message["X-OKI-Idempotency-Key"]) for m in smtp.received)
        assert set(mails) == {d.idempotency_key for d in deliveries if d.channel == "email"}
        assert max(mails.values()) == 1, "an alert mailed twice"
        telegrams = Counter((str(p["chat_id"]), str(p["text"])) for p in tg.sent_messages() if "text" in p)
        assert sum(telegrams.values()) == sum(1 for d in deliveries if d.channel == "telegram")
        assert max(telegrams.values()) == 1, "an alert sent twice on Telegram"


# --- a worker killed while it holds a lease -------------------------------------------------


def _worker_config(tmp_path: Path, db: Database, base: str, smtp: SmtpSink, tg: TelegramStub, cfg: AppConfig) -> Path:
    data = alert_config(cfg, smtp_port=smtp.port, telegram_base=tg.base_url).model_dump(by_alias=True, mode="json")
    data["database_url"] = db.url
    data["sources"] = _rss_sources(base, {"lambat": 600, "cepat": 600})
    data["schedules"].update(lease_seconds=2, worker_poll_seconds=0.1)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def _start_worker(cfg: Path) -> subprocess.Popen[str]:
    env = {**os.environ, TOKEN_ENV: TOKEN, "PYTHONPATH": str(ROOT), "OKI_MONITOR_AUTHOR_KEY": "worker-test-key-0123"}
    env.pop("OKI_MONITOR_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(cfg), "worker", "--threads", "1", "--jobs", "collect:*"],
        cwd=cfg.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_s_job_is_taken_over_after_its_lease_and_nothing_is_lost(
    pg: Database, config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    release = threading.Event()
    slow_calls: list[float] = []

    def slow_feed(_query: dict[str, str]) -> Reply:
        slow_calls.append(time.monotonic())
        if len(slow_calls) == 1:
            release.wait(30)  # the first worker to collect it hangs here until it is killed
        return Reply(200, _feed("lambat", 4), {"Content-Type": "application/rss+xml"})

    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg, ReplayServer() as server:
        server.add("GET", "/feed/lambat.xml", slow_feed)
        _serve_feeds(server, ["cepat"])
        cfg_path = _worker_config(tmp_path, pg, server.base_url, smtp, tg, config)
        procs = [_start_worker(cfg_path) for _ in range(3)]
        try:
            _wait(lambda: slow_calls, 40, "a worker to start collecting the slow source")

            def holder() -> str | None:
                with pg.session() as s:
                    row = s.get(JobRun, "collect:lambat")
                    return row.lease_owner if row is not None else None

            _wait(lambda: holder() is not None, 10, "the lease of collect:lambat")
            owner = holder()
            assert owner is not None
            victim = next(p for p in procs if f":{p.pid}:" in owner)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            killed_at = time.monotonic()
            release.set()

            def done() -> bool:
                with pg.session() as s:
                    row = s.get(JobRun, "collect:lambat")
                    return row is not None and row.last_success_at is not None

            _wait(done, 20, "another worker to take the slow source over")
            assert len(slow_calls) == 2, "taken over exactly once"
            assert slow_calls[1] - killed_at >= 1.0, "taken over only after the lease ran out"
            with pg.session() as s:
                row = s.get(JobRun, "collect:lambat")
                assert row is not None and row.lease_owner is None and row.runs == 2
                stored = s.scalar(select(func.count()).select_from(Post).join(Source).where(Source.name == "lambat"))
            assert stored == 4, "every post of the killed worker's run was stored by the next one"
            assert len(server.calls("/feed/cepat.xml")) == 1, "the other source ran once, by one worker"
            survivor = next(p for p in procs if p is not victim)
            survivor.send_signal(signal.SIGTERM)
            _, err = survivor.communicate(timeout=30)
            assert survivor.returncode == 0 and "worker stopped cleanly" in err, err
        finally:
            release.set()
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
                if p.stderr is not None:
                    p.stderr.close()


def test_worker_refuses_sqlite_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["sources"] = []
    data["database_url"] = f"sqlite:///{tmp_path / 'one.db'}"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "worker-test-key-0123")
    monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    proc = run_main(capsys, "--config", str(cfg), "worker")
    assert proc.returncode == 2 and "butuh PostgreSQL" in proc.stderr and "oki-monitor run" in proc.stderr


def test_the_heartbeat_renews_on_the_service_s_clock_not_the_wall_s(pg: Database, config: AppConfig) -> None:
    # A clock running faster than the wall (a compressed day): a third of the lease passes on it in well under
    # a wall-clock third of the lease, and the running job's lease must be renewed before it runs out.
    data = config.model_dump(by_alias=True)
    data["schedules"].update(lease_seconds=30)
    cfg = AppConfig.model_validate(data)
    clock = SimulatedClock(T0)
    service = MonitorService(cfg, pg, clock, classifier=FixedClassifier())
    worker = Worker(service, owner="beat")
    # Looks at the clock every 0.05 s of wall time instead of every second: the beat is still due only
    # once 10 s have passed on the service's clock, which the wall does not reach within the wait below.
    worker.beat_wake_seconds = 0.05
    ensure_jobs(pg, {"pipeline": T0})
    assert claim_next(pg, ["pipeline"], "beat", T0, 30) is not None
    worker._held["beat"] = "pipeline"
    beat = threading.Thread(target=worker._beat, daemon=True)
    beat.start()
    try:
        clock.advance(timedelta(seconds=11))

        def renewed() -> bool:
            with pg.session() as s:
                row = s.get(JobRun, "pipeline")
                return row is not None and row.lease_expires_at == T0 + timedelta(seconds=41)

        _wait(renewed, 5, "the lease renewed 11 simulated seconds later (lease 30 s: a beat every 10 s)")
    finally:
        worker.stopping.set()
        beat.join(5)
        service.close()
