"""Who responds: per agency and period, how fast issues were acknowledged, answered and finished.

The regent's number. For each agency (OPD) and period:

* ``received`` — issues the agency was told about (its first alert about the issue) in the period;
* median hours to acknowledge, to the first response (``diproses``, or a government response post), to finish;
* ``share_within_deadline`` — of the issues whose first LAPOR! clock has run out or been met, the share with
  no clock missed (:mod:`alerts.sla`);
* ``viral_before_ack`` — *viral sebelum ditanggapi*: issues that reached the ``viral`` stage before the agency
  acknowledged them (or while still unacknowledged).

:func:`performance` is pure (cases in, rows out); :func:`load_cases` reads the cases from the database:
the agency's first alert starts its clocks, and its own steps come from the status workflow's history
(``issue_responses``: diterima, diproses, selesai, salah dinas), so an issue handed from one agency to
another counts each for what it did. Issues from before that history fall back to the acknowledgement,
the government responses among its posts and the resolution.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.ack import receiver_agency
from alerts.engine import alert_deadlines
from alerts.progress import agency_progress, issue_progress
from alerts.sla import CLOCKS, Deadlines, Progress, met_at, overdue
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig
from monitor.store.models import Alert, Issue, IssueEvent, Signal

ROOT_KINDS = ("first", "crisis", "regression")


@dataclass(frozen=True)
class Case:
    """One issue as one agency handled it."""

    issue_id: int
    agency: str
    title: str
    stage: str
    received_at: datetime
    deadlines: Deadlines
    progress: Progress
    viral_at: datetime | None = None
    """When the issue first reached the ``viral`` stage (None: never)."""


@dataclass(frozen=True)
class AgencyRow:
    """One agency's row of the performance table."""

    agency: str
    name: str
    received: int
    acknowledged: int
    responded: int
    finished: int
    median_ack_hours: float | None
    median_response_hours: float | None
    median_finish_hours: float | None
    decided: int
    """Cases whose first clock has run out or been met (the denominator of the share)."""
    within_deadline: int
    overdue_now: int
    viral_before_ack: int

    @property
    def share_within_deadline(self) -> float | None:
        """0..1, None when no case is decided yet."""
        return self.within_deadline / self.decided if self.decided else None


SortKey = Literal[
    "agency",
    "received",
    "median_ack_hours",
    "median_response_hours",
    "median_finish_hours",
    "share_within_deadline",
    "viral_before_ack",
    "overdue_now",
]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start).total_seconds(), 0.0) / 3600


def missed(case: Case, now: datetime) -> list[str]:
    """The clocks the agency missed on this case: met after the deadline, or still open past it."""
    out: list[str] = []
    stopped = case.progress.stopped_at
    for clock in CLOCKS:
        due = case.deadlines.due(clock)
        met = met_at(clock, case.progress)
        if met is not None:
            if met > due:
                out.append(clock)
        elif now > due and (stopped is None or stopped > due):
            out.append(clock)
    return out


def decided(case: Case, now: datetime) -> bool:
    """Can the case be judged yet? Its response clock has been met or has run out."""
    return met_at("respond", case.progress) is not None or now > case.deadlines.respond


def viral_before_ack(case: Case, now: datetime) -> bool:
    """The issue reached ``viral`` (by ``now``) before the agency acknowledged it."""
    if case.viral_at is None or case.viral_at > now:
        return False
    ack = met_at("respond", case.progress)
    return ack is None or case.viral_at < ack


def performance(
    cases: Iterable[Case], now: datetime, names: dict[str, str] | None = None, agencies: Iterable[str] = ()
) -> list[AgencyRow]:
    """One row per agency (those in ``agencies`` even without cases), by agency code."""
    by_agency: dict[str, list[Case]] = defaultdict(list)
    for code in agencies:
        by_agency.setdefault(code, [])
    for c in cases:
        by_agency[c.agency].append(c)
    rows: list[AgencyRow] = []
    for code in sorted(by_agency):
        group = by_agency[code]
        ack = [h for c in group if (h := _hours(c.received_at, met_at("respond", c.progress))) is not None]
        resp = [h for c in group if (h := _hours(c.received_at, met_at("process", c.progress))) is not None]
        fin = [h for c in group if (h := _hours(c.received_at, met_at("finish", c.progress))) is not None]
        judged = [c for c in group if decided(c, now)]
        rows.append(
            AgencyRow(
                agency=code,
                name=(names or {}).get(code, code),
                received=len(group),
                acknowledged=len(ack),
                responded=len(resp),
                finished=len(fin),
                median_ack_hours=median(ack) if ack else None,
                median_response_hours=median(resp) if resp else None,
                median_finish_hours=median(fin) if fin else None,
                decided=len(judged),
                within_deadline=sum(1 for c in judged if not missed(c, now)),
                overdue_now=sum(1 for c in group if overdue(c.deadlines, c.progress, now)),
                viral_before_ack=sum(1 for c in group if viral_before_ack(c, now)),
            )
        )
    return rows


def sort_rows(rows: Sequence[AgencyRow], key: str, descending: bool = False) -> list[AgencyRow]:
    """Rows sorted by one of :data:`SORT_KEYS`; empty values (no data) always last."""
    if key not in SORT_KEYS:
        raise ValueError(f"sort: {key!r} bukan kolom yang dikenal ({', '.join(SORT_KEYS)})")

    def value(r: AgencyRow) -> float | str | None:
        v: float | str | None = r.name if key == "agency" else getattr(r, key)
        return v

    known = [r for r in rows if value(r) is not None]
    empty = [r for r in rows if value(r) is None]
    known.sort(key=lambda r: (value(r), r.agency), reverse=descending)
    return known + empty


# ---------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    """WIB calendar days ``start``..``end`` inclusive."""

    start: date
    end: date

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=WIB).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """Exclusive end: midnight WIB after ``end``."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=WIB).astimezone(UTC)


class PeriodError(ValueError):
    """A period the user asked for is not valid; the message (Bahasa) names the field."""


MAX_PERIOD_DAYS = 366


def parse_period(raw_from: str | None, raw_to: str | None, today: date, default_days: int = 30) -> Period:
    """``from``/``to`` as ``YYYY-MM-DD`` (WIB, inclusive); default the last ``default_days`` days up to today."""

    def day(field: str, raw: str | None) -> date | None:
        if raw is None or not raw.strip():
            return None
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            raise PeriodError(f"{field}: tanggal {raw[:20]!r} tidak valid; pakai format TTTT-BB-HH") from None
        if not date(2000, 1, 1) <= value <= date(2100, 12, 31):
            raise PeriodError(f"{field}: tanggal {value.isoformat()} di luar rentang 2000-01-01 s.d. 2100-12-31")
        return value

    end = day("to", raw_to) or today
    start = day("from", raw_from) or end - timedelta(days=default_days - 1)
    if start > end:
        raise PeriodError(f"from: tanggal mulai {start.isoformat()} sesudah tanggal akhir {end.isoformat()}")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise PeriodError(f"from: periode paling panjang {MAX_PERIOD_DAYS} hari")
    return Period(start, end)


# ---------------------------------------------------------------- reading the cases


def load_cases(
    session: Session, config: AppConfig, period: Period, agency: str | None = None, region: str | None = None
) -> list[Case]:
    """Every issue an agency was told about in ``period`` (its first root alert then), with progress and viral time.

    An agency counts an issue from the first alert told to the agency itself (not to comms); an issue
    that moved to another agency stops the old agency's clocks there and counts for the new one from
    when it was told.
    """
    q = (
        select(Alert)
        .where(
            Alert.kind.in_(ROOT_KINDS),
            Alert.issue_id.is_not(None),
            Alert.agency_code.is_not(None),
            Alert.created_at >= period.start_utc - timedelta(days=1),  # quiet hours may hold a first alert
            Alert.created_at < period.end_utc,
        )
        .order_by(Alert.id)
    )
    if agency is not None:
        q = q.where(Alert.agency_code == agency)
    if region is not None:  # alerts carry their issue's region
        q = q.where(Alert.region_code == region)
    firsts: dict[tuple[int, str], Alert] = {}
    for alert in session.scalars(q):
        code = receiver_agency(alert.receiver, config)
        if code is None or code != alert.agency_code or alert.issue_id is None:
            continue
        firsts.setdefault((alert.issue_id, code), alert)
    if not firsts:
        return []
    ids = sorted({iid for iid, _ in firsts})
    issues = {i.id: i for i in session.scalars(select(Issue).where(Issue.id.in_(ids)))}
    progress = issue_progress(session, ids)
    own = agency_progress(session, ids)
    with_history = {iid for iid, _ in own}
    viral = viral_times(session, ids)
    cases: list[Case] = []
    for (issue_id, code), alert in firsts.items():
        due = alert_deadlines(alert)
        if not period.start_utc <= due.start < period.end_utc:
            continue
        issue = issues.get(issue_id)
        if issue is None:
            continue
        p = progress[issue_id]
        if issue_id in with_history:
            # The workflow's history says what this agency did; a government response post still counts as
            # a first response for the agency holding the issue.
            mine = own.get((issue_id, code), Progress())
            responded = mine.responded_at
            if issue.agency_code == code and p.responded_at is not None:
                responded = min(t for t in (responded, p.responded_at) if t is not None)
            finished = mine.finished_at
            if issue.agency_code == code and finished is None and issue.resolved_at is not None:
                finished = issue.resolved_at
            p = replace(mine, responded_at=responded, finished_at=finished)
        elif issue.agency_code != code and p.stopped_at is None:
            # Moved away without a recorded step (a correction of the topic): this agency's clock stops at the move.
            p = replace(p, stopped_at=issue.updated_at)
        if p.stopped_at is not None and issue.agency_code == code and p.stopped_at <= due.start:
            p = replace(p, stopped_at=None)  # the move brought it here: the clocks run from this agency's alert
        cases.append(
            Case(
                issue_id=issue_id,
                agency=code,
                title=issue.title,
                stage=issue.stage,
                received_at=due.start,
                deadlines=due,
                progress=p,
                viral_at=viral.get(issue_id),
            )
        )
    return cases


def viral_times(session: Session, ids: Sequence[int]) -> dict[int, datetime]:
    """First time each issue was assessed ``viral`` (signals, and stage changes in its timeline)."""
    out: dict[int, datetime] = {}
    for issue_id, at in session.execute(
        select(Signal.issue_id, func.min(Signal.at))
        .where(Signal.issue_id.in_(list(ids)), Signal.stage == "viral")
        .group_by(Signal.issue_id)
    ):
        if issue_id is not None and at is not None:
            out[issue_id] = at
    for issue_id, at, detail in session.execute(
        select(IssueEvent.issue_id, IssueEvent.at, IssueEvent.detail).where(
            IssueEvent.issue_id.in_(list(ids)), IssueEvent.kind == "stage"
        )
    ):
        if (detail or {}).get("to") == "viral" and (issue_id not in out or at < out[issue_id]):
            out[issue_id] = at
    return out


def agency_performance(
    session: Session,
    config: AppConfig,
    period: Period,
    now: datetime,
    agency: str | None = None,
    region: str | None = None,
) -> list[AgencyRow]:
    """The performance table for ``period`` (one agency only when ``agency`` is given; the issues of one
    region only when ``region`` is), by agency code."""
    here = config.for_region(region)  # one region's agencies go by that region's names and routing
    names = {a.code: a.name for a in here.agencies}
    cases = load_cases(session, config, period, agency, region)
    # Every agency that routing can reach has a row, so an agency with nothing received shows as such.
    listed = [agency] if agency is not None else sorted(set(here.routing.values()))
    return performance(cases, now, names, listed)


# ---------------------------------------------------------------- presentation (Bahasa)

HEADER: tuple[str, ...] = (
    "Kode OPD",
    "OPD",
    "Isu diterima",
    "Median jam sampai diterima",
    "Median jam sampai tanggapan pertama",
    "Median jam sampai selesai",
    "Persen tepat waktu",
    "Viral sebelum ditanggapi",
    "Lewat batas sekarang",
)


def row_values(r: AgencyRow) -> list[str | int | float | None]:
    """One table row as exported (numbers stay numbers; missing values empty)."""

    def rounded(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    share = r.share_within_deadline
    return [
        r.agency,
        r.name,
        r.received,
        rounded(r.median_ack_hours),
        rounded(r.median_response_hours),
        rounded(r.median_finish_hours),
        None if share is None else round(share * 100, 1),
        r.viral_before_ack,
        r.overdue_now,
    ]


def hours_text(hours: float | None) -> str:
    """'45 menit' / '3,5 jam' / '2,1 hari' / '-' — how the table reads a duration."""
    if hours is None:
        return "-"
    if hours < 1.5:
        return f"{hours * 60:.0f} menit"
    if hours < 48:
        return f"{hours:.1f} jam".replace(".", ",")
    return f"{hours / 24:.1f} hari".replace(".", ",")


def share_text(share: float | None) -> str:
    """'83%' or '-'."""
    return "-" if share is None else f"{share * 100:.0f}%"


def table_text(rows: Sequence[AgencyRow]) -> list[str]:
    """The table as fixed-width text lines (demo report, CLI)."""
    head = ("OPD", "Isu", "Konfirmasi", "Tanggapan", "Selesai", "Tepat waktu", "Viral dulu")
    body = [
        (
            r.name[:28],
            str(r.received),
            hours_text(r.median_ack_hours),
            hours_text(r.median_response_hours),
            hours_text(r.median_finish_hours),
            share_text(r.share_within_deadline),
            str(r.viral_before_ack),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*head), *(fmt.format(*b) for b in body)]
