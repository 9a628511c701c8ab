"""Working-day clocks in WIB, counted the way SP4N-LAPOR! counts them.

A deadline of N working days lands at the same WIB time of day on the N-th working
day after the start, skipping Saturdays, Sundays, national holidays and cuti bersama.
A report that arrives outside working days starts counting at 08:00 on the next working day.

An agency told about an issue runs three clocks (LAPOR! practice):

* ``respond`` — acknowledge it (``diterima``), default 3 working days;
* ``process`` — say what is being done (``diproses``, or a government response in the issue), default 5;
* ``finish`` — finish it (``selesai``), default 10.

Each is configurable per topic (disasters are shorter) and per virality stage; the shortest rule wins.
Everything here is pure: the caller passes the settings, the start and the facts.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol

from monitor.kernel.clock import WIB

OFFICE_START = time(8, 0)

CLOCKS: tuple[str, ...] = ("respond", "process", "finish")
"""The three LAPOR! clocks, in the order an agency meets them."""

CLOCK_LABELS: dict[str, str] = {
    "respond": "tanggapan awal",
    "process": "tindak lanjut",
    "finish": "penyelesaian",
}
"""How users read each clock (Bahasa)."""


def is_working_day(day: date, holidays: Container[date]) -> bool:
    """Monday to Friday and not a national holiday or cuti bersama."""
    return day.weekday() < 5 and day not in holidays


def _off(holidays: Iterable[date] | Container[date]) -> Container[date]:
    # A list is turned into a set once per call; a calendar (or a set) is used as it is.
    if isinstance(holidays, list | tuple):
        return set(holidays)
    return holidays  # type: ignore[return-value]


def add_working_days(start: datetime, days: int, holidays: Iterable[date] | Container[date]) -> datetime:
    """The deadline ``days`` working days after ``start`` (aware), returned in UTC."""
    off = _off(holidays)
    local = start.astimezone(WIB)
    if not is_working_day(local.date(), off):
        day = local.date()
        while not is_working_day(day, off):
            day += timedelta(days=1)
        local = datetime.combine(day, OFFICE_START, tzinfo=WIB)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, off):
            counted += 1
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def working_days_between(start: datetime, end: datetime, holidays: Iterable[date] | Container[date]) -> int:
    """Whole working days from ``start`` to ``end`` (0 when the same day or end is earlier)."""
    off = _off(holidays)
    a, b = start.astimezone(WIB).date(), end.astimezone(WIB).date()
    n = 0
    while a < b:
        a += timedelta(days=1)
        if is_working_day(a, off):
            n += 1
    return n


# ---------------------------------------------------------------- the calendar


class _NationalHolidays(Protocol):
    def __contains__(self, day: object) -> bool: ...


@lru_cache(maxsize=1)
def _indonesia() -> _NationalHolidays:
    """Indonesia's national holidays from the ``holidays`` library (years are computed on first use)."""
    import holidays as holidays_lib  # imported here: only the clocks need it

    return holidays_lib.country_holidays("ID")


@dataclass(frozen=True)
class WorkCalendar:
    """Days off in Indonesia: national holidays (``holidays`` library), cuti bersama and extra days.

    Use it wherever a ``Container[date]`` of holidays is expected (``day in calendar``).
    """

    cuti_bersama: frozenset[date] = frozenset()
    extra: frozenset[date] = frozenset()
    national: bool = True
    """False only in tests that want weekends alone."""

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self.cuti_bersama or day in self.extra:
            return True
        return self.national and day in _indonesia()

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a day off."""
        return is_working_day(day, self)


def work_calendar(cuti_bersama: Mapping[int, Iterable[date]], extra: Iterable[date] = ()) -> WorkCalendar:
    """The calendar of the configured cuti bersama (per year) and extra days off (regional holidays)."""
    days = frozenset(d for year in cuti_bersama.values() for d in year)
    return WorkCalendar(cuti_bersama=days, extra=frozenset(extra))


def missing_cuti_bersama_years(cuti_bersama: Mapping[int, Iterable[date]], years: Iterable[int]) -> list[int]:
    """The ``years`` without a cuti bersama list: their clocks would count those days as working days."""
    return sorted({y for y in years if y not in cuti_bersama})


def calendar_warning(cuti_bersama: Mapping[int, Iterable[date]], today: date) -> str | None:
    """One line to log at start when this year's (or, from December, next year's) cuti bersama is missing."""
    years = [today.year, *([today.year + 1] if today.month == 12 else [])]
    missing = missing_cuti_bersama_years(cuti_bersama, years)
    if not missing:
        return None
    listed = ", ".join(str(y) for y in missing)
    return (
        f"alerts.sla.cuti_bersama: tidak ada daftar cuti bersama untuk tahun {listed}; "
        "batas waktu menghitung hari itu sebagai hari kerja — tambahkan tanggal dari SKB tiga menteri"
    )


# ---------------------------------------------------------------- the three clocks


@dataclass(frozen=True)
class ClockRule:
    """Working days per clock; None keeps the default."""

    respond: int | None = None
    process: int | None = None
    finish: int | None = None


@dataclass(frozen=True)
class Clocks:
    """Working days an agency has for each clock on one issue."""

    respond: int
    process: int
    finish: int

    def days(self, clock: str) -> int:
        """Working days of ``clock`` (one of :data:`CLOCKS`)."""
        return int(getattr(self, clock))


def clocks_for(
    defaults: Clocks,
    topic: str | None,
    stage: str | None,
    by_topic: Mapping[str, ClockRule] | None = None,
    by_stage: Mapping[str, ClockRule] | None = None,
) -> Clocks:
    """The clocks for an issue of ``topic`` at virality ``stage``: the shortest of default, topic and stage rule."""
    rules = [r for r in ((by_topic or {}).get(topic or ""), (by_stage or {}).get(stage or "")) if r is not None]
    values = {}
    for clock in CLOCKS:
        days = [defaults.days(clock), *(getattr(r, clock) for r in rules if getattr(r, clock) is not None)]
        values[clock] = min(days)
    return Clocks(**values)


@dataclass(frozen=True)
class Deadlines:
    """When each clock of one agency on one issue runs out (UTC), counted from ``start``."""

    start: datetime
    respond: datetime
    process: datetime
    finish: datetime
    clocks: Clocks

    def due(self, clock: str) -> datetime:
        """The deadline of ``clock``."""
        value: datetime = getattr(self, clock)
        return value


def deadlines(start: datetime, clocks: Clocks, calendar: Container[date]) -> Deadlines:
    """The three deadlines of an agency told at ``start`` (aware)."""
    return Deadlines(
        start=start.astimezone(UTC),
        respond=add_working_days(start, clocks.respond, calendar),
        process=add_working_days(start, clocks.process, calendar),
        finish=add_working_days(start, clocks.finish, calendar),
        clocks=clocks,
    )


@dataclass(frozen=True)
class Progress:
    """What the agency has done on the issue so far (None: not yet)."""

    acknowledged_at: datetime | None = None
    responded_at: datetime | None = None
    """First ``diproses`` note, or the first government response found in the issue."""
    finished_at: datetime | None = None
    """``selesai`` (or resolved by the agency)."""
    stopped_at: datetime | None = None
    """The clock stopped without the agency finishing: rerouted to another agency, not a complaint."""


def _met_at(clock: str, progress: Progress) -> datetime | None:
    if clock == "respond":
        # Any later step also answers the report.
        steps = [progress.acknowledged_at, progress.responded_at, progress.finished_at]
    elif clock == "process":
        steps = [progress.responded_at, progress.finished_at]
    else:
        steps = [progress.finished_at]
    done = [s for s in steps if s is not None]
    return min(done) if done else None


def met_at(clock: str, progress: Progress) -> datetime | None:
    """When ``clock`` was met (a later step meets an earlier clock too), or None."""
    return _met_at(clock, progress)


def overdue(d: Deadlines, progress: Progress, now: datetime) -> list[str]:
    """The clocks still open and past their deadline at ``now`` (in :data:`CLOCKS` order).

    What the board shows and escalation acts on: a clock met (even late) or stopped (rerouted away,
    not a complaint) is no longer overdue; :func:`within_deadline` tells whether it was met in time.
    """
    if progress.stopped_at is not None and progress.stopped_at <= now:
        return []
    return [c for c in CLOCKS if _met_at(c, progress) is None and now > d.due(c)]


def within_deadline(d: Deadlines, progress: Progress, clock: str = "finish") -> bool | None:
    """True when ``clock`` was met by its deadline, False when met late, None while not met."""
    met = _met_at(clock, progress)
    if met is None:
        return None
    return met <= d.due(clock)


def overdue_label(clocks: Iterable[str]) -> str:
    """``Lewat batas tanggapan awal, tindak lanjut`` — the board badge's text."""
    names = [CLOCK_LABELS[c] for c in clocks]
    return "Lewat batas " + ", ".join(names) if names else ""
