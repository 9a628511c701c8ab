"""The SP4N-LAPOR! bridge: ticket exports become posts, a ticket's status change goes to its issue's timeline.

Three ways in, one path (:func:`import_export`): a folder checked on a schedule (``lapor.folder``,
each file remembered by the SHA-256 of its content, so a file is read once however often it is
seen), an upload on the dashboard (``/lapor``, admin and comms) and ``oki-monitor import-lapor FILE``.
Each regency has its own inbox: in a deployment of several regions its tickets are its posts, under
its own source (:meth:`AppConfig.lapor_source`; the folder: a subfolder named by its code).

Each ticket is stored as a post of the ``lapor`` source (external id = Tracking ID) through the
ordinary ingest, so it is classified and grouped like any other post and joins or forms an issue.
The same ticket imported again stores nothing; only its status is compared: a changed status
(e.g. "Belum Terverifikasi" → "Proses") is written to the post (``extra["lapor"]``, with its
history) and, when the post is in an issue, as one ``issue_events`` row of kind ``lapor_status``.
Importing the same export twice therefore adds no post, no timeline entry and no alert.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.lapor import MAX_FILE_BYTES, PLATFORM, Ticket, parse_export, to_item
from monitor.kernel.config import AppConfig
from monitor.stages.ingest import Ingestor
from monitor.store.db import Database, one_of
from monitor.store.models import Issue, IssueEvent, IssuePost, Post, Source

log = logging.getLogger(__name__)

EVENT_KIND = "lapor_status"
KIND = "lapor"
"""``sources.kind`` of the row the tickets are stored under."""
MAX_REMEMBERED = 2000
"""File hashes kept in the source's cursor; the oldest are forgotten first."""
_CHUNK = 500


@dataclass
class LaporReport:
    """What one export did."""

    file: str
    rows: int = 0
    tickets: int = 0
    """Good rows."""
    stored: int = 0
    """New tickets (new posts)."""
    known: int = 0
    """Tickets already stored."""
    status_changes: int = 0
    timeline: int = 0
    """Status changes written to an issue's timeline (the others' posts are in no issue yet)."""
    errors: list[str] = field(default_factory=list)
    more_errors: int = 0
    file_error: bool = False
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.errors and not self.more_errors

    def summary(self) -> str:
        """One Bahasa line for the person who imported the file."""
        if self.file_error:
            return f"{self.file}: ditolak. {self.errors[0] if self.errors else ''}".strip()
        bad = len(self.errors) + self.more_errors
        return (
            f"{self.file}: {self.rows} baris, {self.tickets} laporan terbaca: {self.stored} baru, "
            f"{self.known} sudah ada, {self.status_changes} berubah status; {bad} baris ditolak"
        )


def status_sentence(tracking_id: str, old: str, new: str) -> str:
    """The timeline's sentence for a ticket's status change (Bahasa)."""
    if not old:
        return f"Status laporan LAPOR! #{tracking_id} kini “{new}”."
    return f"Status laporan LAPOR! #{tracking_id} berubah dari “{old}” menjadi “{new}”."


def event_sentence(detail: Any) -> str:
    """The sentence of a stored ``lapor_status`` event (its ``detail``), for the issue page."""
    if not isinstance(detail, dict):
        return ""
    return status_sentence(str(detail.get("tracking_id", "")), str(detail.get("from") or ""), str(detail.get("to", "")))


def _same_status(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def import_export(
    db: Database, config: AppConfig, data: bytes, filename: str, now: datetime, region: str | None = None
) -> LaporReport:
    """Read one export's bytes and store its tickets as posts of ``region`` (None: the deployment's own), under
    that region's LAPOR! source (:meth:`AppConfig.lapor_source`); the file's hash is remembered in its cursor."""
    report = LaporReport(file=filename.rsplit("/", 1)[-1][:100], sha256=hashlib.sha256(data).hexdigest())
    parsed = parse_export(data, filename, now=now)
    report.rows, report.errors, report.more_errors = parsed.rows, parsed.errors, parsed.more_errors
    report.file_error = parsed.file_error
    report.tickets = len(parsed.tickets)
    # The export is the regency's own inbox: a ticket that names no place of the regency is still its, so
    # the ingest pre-filter (which drops texts without evidence of the region) must not drop it.
    trusted = config.model_copy(update={"ingest": config.ingest.model_copy(update={"prefilter": False})})
    ingestor = Ingestor(trusted)
    cfg = config.lapor
    name = config.lapor_source(region)
    batch = config.ingest.batch_size
    tickets = parsed.tickets
    for start in range(0, max(len(tickets), 1), batch):
        chunk = tickets[start : start + batch]
        with db.session() as session:
            source = ingestor.source_row(session, name, KIND)
            if chunk:
                stored = ingestor.store(
                    session, source, [to_item(t, name, url_pattern=cfg.ticket_url) for t in chunk], now
                )
                report.stored += stored.stored
                report.known += stored.duplicates
                report.errors.extend(stored.errors)
                changed, timeline = apply_statuses(session, source, chunk, now)
                report.status_changes += changed
                report.timeline += timeline
            if start + batch >= len(tickets):
                _record(source, report, now)
    return report


def apply_statuses(session: Session, source: Source, tickets: list[Ticket], now: datetime) -> tuple[int, int]:
    """Compare each ticket's status with its stored post; a change is saved and put on the issue's timeline.

    Returns (status changes, timeline entries written).
    """
    wanted = {t.tracking_id: t for t in tickets if t.status}
    if not wanted:
        return 0, 0
    ids = list(wanted)
    posts: list[Post] = []
    for start in range(0, len(ids), _CHUNK):
        posts.extend(
            session.scalars(
                select(Post).where(
                    Post.source_id == source.id, one_of(session, Post.external_id, ids[start : start + _CHUNK])
                )
            )
        )
    changed: list[tuple[Post, str, str]] = []
    for post in posts:
        ticket = wanted[post.external_id]
        extra = dict(post.extra or {})
        facts = dict(extra.get("lapor") or {})
        old = str(facts.get("status") or "")
        if _same_status(old, ticket.status):
            continue
        history = list(facts.get("history") or [])
        history.append({"from": old, "to": ticket.status, "at": now.isoformat()})
        facts.update(status=ticket.status, history=history[-50:])
        extra["lapor"] = facts
        post.extra = extra  # a new dict: JSON columns do not track changes made in place
        changed.append((post, old, ticket.status))
    if not changed:
        return 0, 0
    members = dict(
        session.execute(
            select(IssuePost.post_id, IssuePost.issue_id).where(
                one_of(session, IssuePost.post_id, [p.id for p, _, _ in changed])
            )
        ).all()
    )
    written = 0
    for post, old, new in changed:
        issue_id = members.get(post.id)
        issue = _current_issue(session, issue_id) if issue_id is not None else None
        if issue is None:
            continue
        session.add(
            IssueEvent(
                issue_id=issue.id,
                at=now,
                kind=EVENT_KIND,
                detail={"tracking_id": post.external_id, "from": old, "to": new, "post_id": post.id},
                actor="LAPOR!",
            )
        )
        issue.updated_at = now
        written += 1
    return len(changed), written


def _current_issue(session: Session, issue_id: int) -> Issue | None:
    """The issue a post's issue was merged into, if it was (at most a few hops)."""
    issue = session.get(Issue, issue_id)
    for _ in range(10):
        if issue is None or issue.status != "merged" or issue.merged_into_id is None:
            break
        issue = session.get(Issue, issue.merged_into_id)
    return issue


def _record(source: Source, report: LaporReport, now: datetime) -> None:
    """The import on the source row: sources page and health show the last file and its errors."""
    source.last_run_at = now
    files = dict((source.cursor or {}).get("files") or {})
    files.pop(report.sha256, None)
    files[report.sha256] = {"file": report.file, "at": now.isoformat(), "tickets": report.tickets, "ok": report.ok}
    source.cursor = {**(source.cursor or {}), "files": dict(list(files.items())[-MAX_REMEMBERED:])}
    if report.file_error:
        source.last_error = report.summary()[:2000]
        source.last_error_at = now
        return
    source.last_success_at = now
    source.items_last_run = report.stored
    source.items_total = (source.items_total or 0) + report.stored
    rejected = len(report.errors) + report.more_errors
    source.rejected_last_run = rejected
    if rejected:
        source.rejected_total = (source.rejected_total or 0) + rejected
        source.last_reject = "\n".join([report.file, *report.errors[:5]])[:2000]
        source.last_reject_at = now


def known_files(db: Database, config: AppConfig, region: str | None = None) -> set[str]:
    """SHA-256 of every export already imported (any way in) into ``region`` (None: the deployment's own)."""
    with db.session() as session:
        row = session.scalar(select(Source).where(Source.name == config.lapor_source(region)))
        return set(((row.cursor if row else None) or {}).get("files") or {})


def read_bounded(path: Path) -> bytes:
    """A file's bytes, at most one byte past the import limit (so a huge file is refused, never loaded)."""
    with path.open("rb") as fh:
        return fh.read(MAX_FILE_BYTES + 1)


def scan_folder(db: Database, config: AppConfig, now: datetime) -> list[LaporReport]:
    """Import every ``.csv`` / ``.xlsx`` in ``lapor.folder`` not imported before (by content), oldest first.

    The folder's files are the deployment's own region's; in a deployment of several regions, a
    subfolder named by another region's code (``16.01/``) holds that regency's exports, imported into
    it. Oldest first by modification time: a later export carries the later status, so it must win.
    """
    if not config.lapor.folder:
        return []
    folder = Path(config.lapor.folder)
    if not folder.is_dir():
        log.error("lapor.folder %s is not a folder", folder)
        return []
    reports: list[LaporReport] = []
    for code in config.deployment_regions():
        own = code == config.region_code
        where = folder if own else folder / code
        if where.is_dir():
            reports.extend(_scan(db, config, where, None if own else code, now))
    return reports


def _scan(db: Database, config: AppConfig, folder: Path, region: str | None, now: datetime) -> list[LaporReport]:
    """The new exports of one folder, imported into ``region`` (None: the deployment's own)."""
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".xlsx")),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    seen = known_files(db, config, region)
    reports: list[LaporReport] = []
    for path in files:
        try:
            data = read_bounded(path)
        except OSError as exc:
            log.error("lapor: cannot read %s: %s", path, exc)
            continue
        if hashlib.sha256(data).hexdigest() in seen:
            continue
        report = import_export(db, config, data, path.name, now, region)
        seen.add(report.sha256)
        log.info("lapor: %s%s", f"{region}: " if region else "", report.summary())
        reports.append(report)
    return reports


def tickets_of_issue(session: Session, issue_id: int) -> list[dict[str, Any]]:
    """The LAPOR! tickets in an issue, oldest first: Tracking ID, link, status, kategori, instansi, and the status
    history (changes seen before the ticket joined an issue are only here, not in the issue's timeline)."""
    rows = session.execute(
        select(Post.external_id, Post.url, Post.extra, Post.created_at)
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(IssuePost.issue_id == issue_id, Post.platform == PLATFORM)
        .order_by(Post.created_at, Post.id)
        .limit(200)
    ).all()
    tickets = []
    for external_id, url, extra, created_at in rows:
        facts = (extra or {}).get("lapor") if isinstance(extra, dict) else None
        facts = facts if isinstance(facts, dict) else {}
        history = []
        for step in facts.get("history") or []:
            try:
                at = datetime.fromisoformat(str(step.get("at")))
            except (AttributeError, ValueError):
                continue
            history.append({"from": str(step.get("from") or ""), "to": str(step.get("to") or ""), "at": at})
        tickets.append(
            {
                "history": history,
                "tracking_id": external_id,
                "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
                "status": str(facts.get("status") or ""),
                "kategori": str(facts.get("kategori") or ""),
                "instansi": str(facts.get("instansi") or ""),
                "created_at": created_at,
            }
        )
    return tickets
