"""Job loops that claim due jobs from ``job_runs`` and run them: `oki-monitor worker`, on PostgreSQL.

Any number of worker processes, on one machine or several, share one PostgreSQL database and
no other service: the schedule is the rows of ``job_runs`` (:mod:`monitor.store.jobs`), the plan
of which jobs exist is :func:`monitor.domain.jobs.plan_jobs` (the same one `oki-monitor run`
gives APScheduler), and each job is the same :class:`monitor.service.MonitorService` method.

What holds with several workers:

- a job (a source's collection, a region's pipeline pass, the delivery run, ...) is run by one
  worker at a time: it is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease the running worker renews
  every third of ``schedules.lease_seconds`` (a heartbeat thread);
- each job runs once per slot: ``next_due_at`` advances from the scheduled time, and a job
  overdue by several slots runs once;
- a worker killed mid-run (SIGKILL, power loss) stops renewing; after ``schedules.lease_seconds``
  another worker takes the job over and runs it again from its stored cursor;
- alerts are decided under one lock (:func:`alerts.engine.evaluate`) and each delivery is sent by
  the one worker holding its lease (:mod:`alerts.outbox`, which documents the one remaining
  duplicate window).

Each loop thread of a process has its own owner id, so a process with ``--threads 4`` runs up to
four different jobs at once and never one job twice; at most ``threads - 1`` of them (at least one)
are pipeline passes, so a deployment of many regions, whose passes are always due, leaves a loop of
every process to collection and delivery.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from monitor.domain.jobs import JobSpec, first_due, missed, next_due, plan_jobs
from monitor.scheduler import job_functions
from monitor.service import MonitorService
from monitor.store.jobs import Claim, claim_next, ensure_jobs, finish, release_all, renew

log = logging.getLogger(__name__)

NEEDS_POSTGRES = (
    "oki-monitor worker butuh PostgreSQL: beberapa proses berbagi jadwal lewat basis data, "
    "sedangkan SQLite hanya untuk satu proses. Dengan SQLite jalankan satu `oki-monitor run`; "
    "untuk banyak worker isi database_url dengan postgresql+psycopg://..."
)


BEAT_WAKE_SECONDS = 1.0
"""Longest wall-clock wait between two looks at the clock by the heartbeat thread."""


def is_pipeline(job_id: str) -> bool:
    """The pipeline job (``pipeline``) or one region's pass (``pipeline:16.01``)."""
    return job_id == "pipeline" or job_id.startswith("pipeline:")


def worker_owner() -> str:
    """``host:pid:random``: unique even when a pid is reused after a restart."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """The job loops of one process; ``threads`` loops run different jobs side by side.

    ``jobs`` (glob patterns such as ``collect:*``) limits which jobs this process takes, e.g. a
    machine near the sources that only collects; the other jobs are left to other workers.
    """

    def __init__(
        self,
        service: MonitorService,
        *,
        threads: int = 1,
        owner: str | None = None,
        functions: dict[str, Callable[[], Any]] | None = None,
        jobs: Sequence[str] = (),
    ) -> None:
        if threads < 1:
            raise ValueError("a worker needs at least one thread")
        self.service = service
        # One pipeline job per region: the regions' passes are spread over the workers like collection is.
        plan = plan_jobs(service.config, service.collectors, region_pipelines=True)
        self.specs: dict[str, JobSpec] = {
            s.job_id: s for s in plan if not jobs or any(fnmatchcase(s.job_id, pattern) for pattern in jobs)
        }
        if not self.specs:
            known = ", ".join(s.job_id for s in plan)
            raise ValueError(f"tidak ada pekerjaan yang cocok dengan {', '.join(jobs)}; yang ada: {known}")
        self.functions = functions if functions is not None else job_functions(service)
        base = owner or worker_owner()
        self.owners = [base] if threads == 1 else [f"{base}:{n}" for n in range(1, threads + 1)]
        self.lease_seconds = service.config.schedules.lease_seconds
        self.poll_seconds = service.config.schedules.worker_poll_seconds
        self.beat_wake_seconds = BEAT_WAKE_SECONDS
        """Longest wall-clock wait between two looks at the clock by the heartbeat (tests shorten it)."""
        self.stopping = threading.Event()
        self._held: dict[str, str] = {}
        """Owner id -> the job it runs now; what the heartbeat renews."""
        self._pipeline_slots = max(1, threads - 1)
        """Loops of this process that may run pipeline passes at once: with several regions there is a pass
        per region always due, and passes on every loop left collection and delivery none."""
        self._pipelines = 0
        """Loops running (or about to claim) a pipeline pass now, under ``_lock``."""
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.ran: Counter[str] = Counter()
        """Runs this process started, per job id (its share of the work; logged at the end)."""

    def prepare(self) -> None:
        """Create the rows of this deployment's jobs that do not exist yet (idempotent; any worker may)."""
        now = self.service.clock.now()
        ensure_jobs(self.service.db, {job_id: first_due(spec, now) for job_id, spec in self.specs.items()})

    def run_once(self, owner: str | None = None) -> Claim | None:
        """Claim one due job and run it to the end; None when nothing is due."""
        owner = owner or self.owners[0]
        db, clock = self.service.db, self.service.clock
        with self._lock:  # a pipeline slot is taken before the claim, so two loops cannot both take the last one
            may_pipeline = self._pipelines < self._pipeline_slots
            if may_pipeline:
                self._pipelines += 1
        wanted = list(self.specs) if may_pipeline else [j for j in self.specs if not is_pipeline(j)]
        try:
            claim = claim_next(db, wanted, owner, clock.now(), self.lease_seconds)
        except BaseException:
            if may_pipeline:
                self._release_pipeline_slot()
            raise
        if may_pipeline and (claim is None or not is_pipeline(claim.job_id)):
            self._release_pipeline_slot()
        if claim is None:
            return None
        try:
            return self._run(claim, owner)
        finally:
            if is_pipeline(claim.job_id):
                self._release_pipeline_slot()

    def _release_pipeline_slot(self) -> None:
        with self._lock:
            self._pipelines -= 1

    def _run(self, claim: Claim, owner: str) -> Claim:
        """Run a claimed job to the end and record it."""
        db, clock = self.service.db, self.service.clock
        spec = self.specs[claim.job_id]
        if claim.taken_over_from:
            log.warning("job %s: lease of %s expired (worker died?); taken over", claim.job_id, claim.taken_over_from)
        started = clock.now()
        if missed(spec, claim.due_at, started):
            log.info("job %s: scheduled %s, too late now; skipped until the next slot", claim.job_id, claim.due_at)
            finish(db, claim, started, next_due(spec, claim.due_at, started), ok=None)
            return claim
        with self._lock:
            self._held[owner] = claim.job_id
            self.ran[claim.job_id] += 1
        ok, error = True, None
        try:
            self.functions[claim.job_id]()
        except Exception as exc:  # one failing job must not stop the loop; the error is stored on its row
            ok = False
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.error("job %s failed: %s", claim.job_id, error)
        finally:
            with self._lock:
                self._held.pop(owner, None)
        ended = clock.now()
        if not finish(db, claim, ended, next_due(spec, claim.due_at, ended), ok=ok, error=error):
            log.warning("job %s: lease lost while running (stalled past it); left to its new owner", claim.job_id)
        return claim

    def heartbeat(self) -> None:
        """Renew the leases of the jobs this process runs now; log any that was taken over."""
        with self._lock:
            held = dict(self._held)
        now = self.service.clock.now()
        for owner, job_id in held.items():
            if not renew(self.service.db, owner, [job_id], now, self.lease_seconds):
                log.warning("job %s: lease of %s was taken over by another worker", job_id, owner)

    def _loop(self, owner: str) -> None:
        while not self.stopping.is_set():
            try:
                claim = self.run_once(owner)
            except Exception:  # the database may be down: wait and look again, jobs stay due
                log.exception("worker %s: could not claim or record a job", owner)
                claim = None
            if claim is None:
                self.stopping.wait(self.poll_seconds)

    def _beat(self) -> None:
        # Leases are counted on the service's clock, so beats are too: a clock running faster than the wall
        # (a compressed replay) would otherwise let a running job's lease expire between two wall-time beats.
        every = self.lease_seconds / 3
        last = self.service.clock.now()
        while not self.stopping.wait(min(every, self.beat_wake_seconds)):
            now = self.service.clock.now()
            if (now - last).total_seconds() < every:
                continue
            last = now
            try:
                self.heartbeat()
            except Exception:  # a missed beat is survivable: the lease is three beats long
                log.exception("worker heartbeat failed")

    def start(self) -> None:
        """Start the loop threads and the heartbeat; returns at once."""
        self.prepare()
        self._threads = [
            threading.Thread(target=self._loop, args=(owner,), name=f"job-loop-{n}", daemon=True)
            for n, owner in enumerate(self.owners, 1)
        ]
        self._threads.append(threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("worker %s started: %d jobs, %d thread(s)", self.owners[0], len(self.specs), len(self.owners))

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop claiming, let running jobs finish, and give back any lease still held."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            running = set(self._held)
        for owner in self.owners:
            if owner in running:  # a job that did not finish in time keeps its lease until it expires
                continue
            try:
                release_all(self.service.db, owner)
            except Exception:  # the lease then simply expires
                log.exception("could not release the leases of %s", owner)
        log.info("worker %s ran %d jobs", self.owners[0], sum(self.ran.values()))
