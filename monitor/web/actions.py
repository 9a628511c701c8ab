"""State changes requested from the dashboard or API, after access has been checked.

Each function takes the open session and the already-visible issue, so scope
checks stay in one place (the routes) and these stay testable without HTTP.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.gazetteer import KECAMATAN
from classifiers.region import cached_region_kecamatan
from monitor.kernel.config import TOPICS, AppConfig
from monitor.kernel.regions import region_label, region_names_of
from monitor.stages import group as issue_ops
from monitor.store import ledger
from monitor.store.models import Alert, Issue, IssueEvent, IssuePost, IssueStatus, LabelCorrection, Post
from monitor.web.auth import Principal
from monitor.web.queries import TrendFilter, default_range, get_visible_issue, wib_day_start

REGION_CODE = re.compile(r"\d{2}\.\d{2}")
"""A kabupaten/kota code of the national list (Kemendagri), e.g. 16.01."""
CORRECTABLE_FIELDS: tuple[str, ...] = ("topic", "kecamatan", "agency", "relevant", "is_complaint")


class ActionError(ValueError):
    """The request cannot be done as asked; the message tells the user why, in Indonesian."""


def kecamatan_names(config: AppConfig, region: str | None) -> tuple[str, ...]:
    """A region's kecamatan as its gazetteer writes them (None or the own region of an OKI deployment: OKI's
    hand-tuned list), for filter choices and their checks.

    Read from the region's extract of the national list rather than its gazetteer: a dashboard process
    of a province would otherwise build every regency's gazetteer on its first board view.
    """
    here = config.region_of(region)
    if here.places is not None:
        return cached_region_kecamatan(here.code, here.places.resolve())
    gazetteer = here.gazetteer()  # OKI's hand-tuned one (None), or a clear error for a region without places
    return tuple(gazetteer.kecamatan_order) if gazetteer is not None else tuple(KECAMATAN)


def kecamatan_by_region(config: AppConfig, regions: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Region code → its kecamatan, for the regions a user sees (``WebContext.regions_for``)."""
    return {code: kecamatan_names(config, code) for code in regions}


@dataclass(frozen=True, slots=True)
class KecamatanChoice:
    """A kecamatan filter checked against the gazetteers of the regions the user sees."""

    kecamatan: str | None
    """As its gazetteer writes it; None: no kecamatan filter (none asked, or the one asked was refused)."""
    region: str | None
    """The region the rows are narrowed to: the one asked for, or, for a user of several regions, the one
    region that has the kecamatan (a name can be a kecamatan of two regencies: Mesuji of OKI and of
    Kabupaten Mesuji)."""
    problem: str | None = None
    """Why the kecamatan was refused, in Indonesian, without the caller's own ending."""
    shared: bool = False
    """Refused because several of the regions have a kecamatan of that name (a region must be picked)."""


def choose_kecamatan(
    config: AppConfig,
    regions: Sequence[str],
    kecamatan: str | None,
    region: str | None = None,
    key: Callable[[str], str] = str.strip,
) -> KecamatanChoice:
    """Check ``kecamatan`` (compared by ``key``) against the kecamatan of ``region``, or of every region in
    ``regions`` (the ones the user sees) when no region in them is asked for.

    A user of several regions gets the kecamatan's region as well, so the filter is region + kecamatan and
    never shows another regency's issues of the same name; a name of two of its regions is refused until a
    region is picked. A user of one region keeps ``region`` as given (its scope narrows the rows).
    """
    if not kecamatan:
        return KecamatanChoice(None, region)
    among = [region] if region is not None and region in regions else list(regions)
    wanted = key(kecamatan)
    by_region = kecamatan_by_region(config, among)
    found = [(code, name) for code, names in by_region.items() for name in names if key(name) == wanted]
    shown = repr(kecamatan[:40])
    if not found:
        where = f" di {_region_name(config, region)}" if region in regions and len(regions) > 1 else ""
        return KecamatanChoice(None, region, f"kecamatan {shown} tidak dikenal{where}")
    if len({code for code, _ in found}) > 1:
        names = ", ".join(_region_name(config, code) for code, _ in found)
        problem = f"kecamatan {shown} ada di beberapa wilayah ({names}); pilih wilayahnya"
        return KecamatanChoice(None, region, problem, shared=True)
    code, name = found[0]
    return KecamatanChoice(name, code if len(regions) > 1 else region)


def _region_name(config: AppConfig, code: str | None) -> str:
    return region_label(code, region_names_of(config))


def _alerts_acknowledge() -> Callable[..., Any] | None:
    # The alerts engineer owns alerts.ack; fall back to updating rows here while it is absent.
    try:
        fn: Callable[..., Any] = importlib.import_module("alerts.ack").acknowledge
        return fn
    except (ModuleNotFoundError, AttributeError):
        return None


def acknowledge(session: Session, issue: Issue, actor: str, now: datetime, channel: str = "dashboard") -> int:
    """Acknowledge the issue and every open alert about it; returns how many alerts were acknowledged.

    The issue's answer becomes ``diterima`` (``alerts.respond``) unless it is further already.
    """
    ack = _alerts_acknowledge()
    pending = list(session.scalars(select(Alert).where(Alert.issue_id == issue.id, Alert.acknowledged_at.is_(None))))
    for alert in pending:
        if ack is not None:
            ack(session, alert_id=alert.id, actor=actor, now=now, channel=channel)
        else:
            alert.acknowledged_at, alert.acknowledged_by = now, actor
    if issue.acknowledged_at is None:
        issue.acknowledged_at, issue.acknowledged_by = now, actor
        issue.updated_at = now
        session.add(
            IssueEvent(issue_id=issue.id, at=now, kind="acknowledged", detail={"alerts": len(pending)}, actor=actor)
        )
    ledger.record_acknowledged(session, issue, actor, channel, now)
    return len(pending)


def resolve(session: Session, issue: Issue, actor: str, now: datetime) -> None:
    """Mark the issue resolved by the agency."""
    if issue.status == IssueStatus.MERGED:
        raise ActionError(f"isu #{issue.id} sudah digabung ke isu #{issue.merged_into_id}; selesaikan isu itu")
    ledger.resolve_issue(session, issue.id, actor, now)
    if issue.response_status not in ("selesai", "bukan_keluhan"):
        # The older one-button "Tandai selesai" (no note): still a step of the agency's answer.
        ledger.record_resolved(session, issue, actor, "dashboard", now)


def parse_ids(raw: str, max_value: int) -> list[int]:
    """``"12, 15 #17"`` → [12, 15, 17]; a clear error for anything else (including ids no row can have)."""
    ids: list[int] = []
    for part in raw.replace(",", " ").split():
        part = part.lstrip("#")
        if not part.isascii() or not part.isdigit() or not 0 < int(part) <= max_value:
            raise ActionError(f"nomor isu/unggahan tidak valid: {part[:20]!r} (tulis angka, dipisah koma)")
        ids.append(int(part))
    return ids


def mergeable(session: Session, principal: Principal, target: Issue, other_ids: Sequence[int]) -> list[Issue]:
    """The issues that merging ``other_ids`` into ``target`` would close; :class:`ActionError` when refused.

    Unknown and out-of-scope ids are refused alike (an agency cannot learn another's issue numbers).
    """
    others: list[Issue] = []
    for other_id in [i for i in dict.fromkeys(other_ids) if i != target.id]:
        other = get_visible_issue(session, principal, other_id)
        if other is None:
            raise ActionError(f"isu #{other_id} tidak ditemukan")
        if other.status == IssueStatus.MERGED:
            raise ActionError(f"isu #{other_id} sudah digabung ke isu #{other.merged_into_id}")
        others.append(other)
    if not others:
        raise ActionError("sebutkan nomor isu lain yang akan digabung ke isu ini")
    return others


def merge(session: Session, principal: Principal, target: Issue, other_ids: Sequence[int], now: datetime) -> Issue:
    """Merge issues the principal can see into ``target``; unknown or out-of-scope ids are refused."""
    others = mergeable(session, principal, target, other_ids)
    try:
        return issue_ops.merge_issues(session, target.id, [o.id for o in others], principal.username, now)
    except ValueError as exc:  # issues of two regions
        raise ActionError(str(exc)) from exc


def split(session: Session, principal: Principal, issue: Issue, post_ids: Sequence[int], now: datetime) -> Issue:
    """Move the chosen posts into a new issue."""
    try:
        return issue_ops.split_issue(session, issue.id, list(post_ids), principal.username, now)
    except ValueError as exc:
        raise ActionError(str(exc)) from exc


def correct_label(
    session: Session,
    config: AppConfig,
    principal: Principal,
    issue: Issue,
    post_id: int,
    field: str,
    value: str,
    now: datetime,
) -> LabelCorrection:
    """Store a human correction of one post's label (kept apart from model output, used for retraining)."""
    in_issue = session.scalar(
        select(IssuePost.post_id).where(IssuePost.post_id == post_id, IssuePost.issue_id == issue.id)
    )
    if in_issue is None:
        raise ActionError(f"unggahan #{post_id} bukan bagian dari isu #{issue.id}")
    value = value.strip()
    if field == "topic":
        if value not in TOPICS:
            raise ActionError(f"topik {value[:40]!r} tidak dikenal")
    elif field == "agency":
        if config.agency(value) is None:
            raise ActionError(f"OPD {value[:40]!r} tidak dikenal")
    elif field == "kecamatan":
        # The issue's own region's kecamatan: an OKU post is corrected to one of OKU's, never to OKI's.
        if value and value not in kecamatan_names(config, issue.region_code):
            raise ActionError(f"kecamatan {value[:40]!r} tidak dikenal")
        value = value or "-"
    elif field in ("relevant", "is_complaint"):
        if value not in ("ya", "tidak"):
            raise ActionError("isi 'ya' atau 'tidak'")
        value = "true" if value == "ya" else "false"
    else:
        raise ActionError(f"kolom {field[:30]!r} tidak bisa dikoreksi (pilih: {', '.join(CORRECTABLE_FIELDS)})")
    post = session.get(Post, post_id)
    text = None if post is None else "\n".join(t for t in (post.title, post.text) if t) or None
    correction = LabelCorrection(
        post_id=post_id,
        field=field,
        value=value,
        text=text,
        user_id=principal.user_id,
        source="dashboard",
        created_at=now,
    )
    session.add(correction)
    # Other dashboard workers keep the issue page's data while the issue row is unchanged
    # (monitor.web.cache.VersionedCache): the bump makes them show the correction on the next view,
    # even when the clock has not moved since the last change (a simulated clock, two quick edits).
    issue.updated_at = max(now, issue.updated_at + timedelta(microseconds=1))
    session.add(
        IssueEvent(
            issue_id=issue.id,
            at=now,
            kind="label_corrected",
            detail={"post": post_id, "field": field, "value": value},
            actor=principal.username,
        )
    )
    return correction


FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)
"""Filter dates outside these are refused: nothing is older than 2000, and 9999-12-31 plus a day overflows."""


class DateOutOfRange(ActionError):
    """A filter date outside :data:`FIRST_DATE`..:data:`LAST_DATE`: the request is refused (422/400), not trimmed."""

    def __init__(self, field: str, value: date) -> None:
        super().__init__(
            f"{field}: tanggal {value.isoformat()} di luar rentang yang didukung "
            f"({FIRST_DATE.isoformat()} s.d. {LAST_DATE.isoformat()})"
        )
        self.field = field


def _check_range(field: str, raw: str | None) -> None:
    """Raise :class:`DateOutOfRange` for a well-formed date outside the supported years (a malformed one is
    left to :func:`parse_date`, which makes it a warning)."""
    try:
        value = date.fromisoformat((raw or "").strip())
    except ValueError:
        return
    if not FIRST_DATE <= value <= LAST_DATE:
        raise DateOutOfRange(field, value)


def parse_date(raw: str | None) -> date | None:
    """``YYYY-MM-DD`` or empty; :class:`ActionError` otherwise."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ActionError(f"tanggal {raw[:20]!r} tidak valid; pakai format TTTT-BB-HH") from None


@dataclass(frozen=True, slots=True)
class FilterInput:
    """Raw trend filter values as typed by the user."""

    start: str | None = None
    end: str | None = None
    topic: str | None = None
    agency: str | None = None
    kecamatan: str | None = None
    source: str | None = None
    region: str | None = None


def trend_filter(
    config: AppConfig,
    raw: FilterInput,
    now: datetime,
    default_days: int = 90,
    regions: Sequence[str] | None = None,
) -> tuple[TrendFilter, list[str]]:
    """Validate filters; a bad value is dropped with a message, the rest still apply.

    ``regions`` are the region codes the user sees (default: the deployment's own region): a kecamatan
    is one of theirs (:func:`choose_kecamatan`), and for a user of several regions it brings its region.

    A well-formed date outside the supported years raises :class:`DateOutOfRange` naming the
    field (``start`` / ``end``): there is no sensible range to fall back to.
    """
    problems: list[str] = []
    for name, value in (("start", raw.start), ("end", raw.end)):
        _check_range(name, value)
    start, end = default_range(now, default_days)
    span = end - start
    start_given = False
    try:
        d = parse_date(raw.start)
        if d:
            start, start_given = wib_day_start(d), True
    except ActionError as exc:
        problems.append(str(exc))
    try:
        d = parse_date(raw.end)
        if d:
            end = wib_day_start(d) + timedelta(days=1)
            if not start_given:
                # Only an end date: the default span up to it, not the last 90 days (which may all lie after it).
                start = end - span
    except ActionError as exc:
        problems.append(str(exc))
    if end <= start:
        problems.append("tanggal akhir sebelum tanggal mulai; rentang bawaan dipakai")
        start, end = default_range(now, default_days)
    if end - start > timedelta(days=3 * 366):
        problems.append("rentang maksimal 3 tahun; dipotong")
        start = end - timedelta(days=3 * 366)
    topic = raw.topic or None
    if topic and topic not in TOPICS:
        problems.append(f"topik {topic[:40]!r} tidak dikenal")
        topic = None
    agency = raw.agency or None
    if agency and config.agency(agency) is None:
        problems.append(f"OPD {agency[:40]!r} tidak dikenal")
        agency = None
    source = (raw.source or "").strip()[:30] or None
    region = (raw.region or "").strip() or None
    if region and not REGION_CODE.fullmatch(region):
        problems.append(f"wilayah {region[:20]!r} bukan kode kabupaten/kota (contoh: 16.01)")
        region = None
    # Exact names, as the lists and the API documentation write them.
    place = choose_kecamatan(config, regions or [config.region_code], raw.kecamatan, region, key=str)
    kec, region = place.kecamatan, place.region
    if place.problem:
        problems.append(place.problem)
    flt = TrendFilter(start=start, end=end, topic=topic, agency=agency, kecamatan=kec, source=source, region=region)
    return flt, problems
