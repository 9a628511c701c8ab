"""Claims of scheduled jobs in ``job_runs``: which worker runs which job now, and when each is due.

A due job (``next_due_at`` passed) without a live lease is claimed in one short transaction:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (two workers never take the same row, and
neither waits for the other), ``BEGIN IMMEDIATE`` on SQLite. The claim writes the owner and
``lease_expires_at``; the owner renews the lease while the job runs (:func:`renew`) and, when it
ends, releases it and moves ``next_due_at`` to the next slot (:func:`finish`). A worker that is
killed leaves its lease to expire; the job is still due, so the next worker that looks takes it
over and runs it again from the start (every job is re-runnable: cursors live in the database).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.store.db import Database
from monitor.store.models import JobRun, table_of


@dataclass(frozen=True)
class Claim:
    """A job this worker now runs, for the run that was scheduled at ``due_at``."""

    job_id: str
    owner: str
    due_at: datetime
    taken_over_from: str | None = None
    """The owner whose lease had expired (a worker that died mid-run), if any."""


def ensure_jobs(db: Database, first_due: dict[str, datetime]) -> None:
    """Create the rows of jobs not scheduled yet (and schedule rows `run` left without a due time).

    ``first_due`` maps job id to its first due time; rows that exist keep their schedule, so a
    second worker starting does not move anyone's slot.
    """
    if not first_due:
        return
    table = table_of(JobRun)
    rows = [{"job_id": job_id, "next_due_at": due, "runs": 0} for job_id, due in first_due.items()]
    with db.session() as session:
        stmt = (sqlite_insert(table) if db.is_sqlite else pg_insert(table)).values(rows)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["job_id"]))
        for job_id, due in first_due.items():
            session.execute(
                update(JobRun)
                .where(JobRun.job_id == job_id, JobRun.next_due_at.is_(None))
                .values(next_due_at=due)
                .execution_options(synchronize_session=False)
            )


def claim_next(
    db: Database, job_ids: Collection[str], owner: str, now: datetime, lease_seconds: float
) -> Claim | None:
    """Claim the most overdue job of ``job_ids`` that no live worker holds; None when nothing is due."""
    if not job_ids:
        return None
    with db.session() as session:
        q = (
            select(JobRun)
            .where(
                JobRun.job_id.in_(list(job_ids)),
                JobRun.next_due_at <= now,
                or_(JobRun.lease_expires_at.is_(None), JobRun.lease_expires_at <= now),
            )
            .order_by(JobRun.next_due_at, JobRun.job_id)
            .limit(1)
        )
        if not db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        row = session.scalar(q)
        if row is None or row.next_due_at is None:
            return None
        previous = row.lease_owner if row.lease_owner not in (None, owner) else None
        row.lease_owner = owner
        row.lease_expires_at = now + timedelta(seconds=lease_seconds)
        row.last_started_at = now
        row.runs = (row.runs or 0) + 1
        return Claim(row.job_id, owner, row.next_due_at, previous)


def renew(db: Database, owner: str, job_ids: Iterable[str], now: datetime, lease_seconds: float) -> set[str]:
    """Extend this owner's leases on ``job_ids``; returns the ids still held (a lost one was taken over)."""
    ids = list(job_ids)
    if not ids:
        return set()
    with db.session() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.job_id.in_(ids), JobRun.lease_owner == owner)
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            .returning(JobRun.job_id)
            .execution_options(synchronize_session=False)
        )
        return {r[0] for r in result}


def finish(
    db: Database, claim: Claim, now: datetime, next_due_at: datetime, *, ok: bool | None, error: str | None = None
) -> bool:
    """Release the claim and schedule the next slot; False if the lease had been taken over meanwhile.

    ``ok`` None: the run was skipped (too late to be useful), which is neither a success nor an
    error. A run whose lease was lost leaves the row to the worker that holds it now (it runs the
    job again and schedules it), so a stalled worker can never move another's schedule.
    """
    values: dict[str, object] = {"lease_owner": None, "lease_expires_at": None, "next_due_at": next_due_at}
    if ok is not None:
        values["last_finished_at"] = now
    if ok:
        values.update(last_success_at=now, last_error=None)
    elif ok is False:
        values["last_error"] = (error or "")[:2000]
    with db.session() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.job_id == claim.job_id, JobRun.lease_owner == claim.owner)
            .values(**values)
            .returning(JobRun.job_id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None


def release_all(db: Database, owner: str) -> int:
    """Give back every lease of ``owner`` without moving schedules (a clean stop mid-run): due again at once."""
    with db.session() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .returning(JobRun.job_id)
            .execution_options(synchronize_session=False)
        )
        return len(result.all())
