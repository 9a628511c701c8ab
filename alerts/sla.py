"""Working-day clocks in WIB, counted the way SP4N-LAPOR! counts them.

A deadline of N working days lands at the same WIB time of day on the N-th working
day after the start, skipping Saturdays, Sundays and national holidays. A report
that arrives outside working days starts counting at 08:00 on the next working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from monitor.clock import WIB

OFFICE_START = time(8, 0)


def is_working_day(day: date, holidays: Iterable[date]) -> bool:
    """Monday to Friday and not a national holiday."""
    return day.weekday() < 5 and day not in set(holidays)


def add_working_days(start: datetime, days: int, holidays: Iterable[date]) -> datetime:
    """The deadline ``days`` working days after ``start`` (aware), returned in UTC."""
    off = set(holidays)
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


def working_days_between(start: datetime, end: datetime, holidays: Iterable[date]) -> int:
    """Whole working days from ``start`` to ``end`` (0 when the same day or end is earlier)."""
    off = set(holidays)
    a, b = start.astimezone(WIB).date(), end.astimezone(WIB).date()
    n = 0
    while a < b:
        a += timedelta(days=1)
        if is_working_day(a, off):
            n += 1
    return n
