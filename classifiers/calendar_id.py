"""The Indonesian calendar as the spike baseline sees it: which kind of day, which hour, in WIB.

Social-media volume in Indonesia follows the clock and the calendar: quiet
between 01:00 and 05:00 WIB, busy around midday and in the evening, different
on Sundays and national holidays, and shifted during Ramadan (activity at
sahur, a lull at buka puasa, late nights after tarawih). The baseline keeps one
hourly profile per *day type*, so each rhythm is learned on its own and a
holiday is compared with holidays, not with a working Tuesday.

Lunar holidays move every year; the table below lists the government's
SKB dates for 2024-2027 (cuti bersama not included). Extra dates can be added
from config (``virality.extra_holidays``) without a code change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

WIB = ZoneInfo("Asia/Jakarta")

WORKDAY, RESTDAY, RAMADAN_WORKDAY, RAMADAN_RESTDAY = 0, 1, 2, 3
DAY_TYPES = 4
SLOTS = DAY_TYPES * 24
"""A slot is (day type, hour of day in WIB); the baseline keeps one seasonal factor per slot."""

_FIXED_HOLIDAYS = ((1, 1), (5, 1), (6, 1), (8, 17), (12, 25))
"""Tahun Baru, Hari Buruh, Hari Lahir Pancasila, HUT RI, Natal."""

_MOVING_HOLIDAYS: tuple[date, ...] = tuple(
    date.fromisoformat(d)
    for d in (
        # 2024
        "2024-02-08",
        "2024-02-10",
        "2024-03-11",
        "2024-03-29",
        "2024-04-10",
        "2024-04-11",
        "2024-05-09",
        "2024-05-23",
        "2024-06-17",
        "2024-07-07",
        "2024-09-16",
        # 2025
        "2025-01-27",
        "2025-01-29",
        "2025-03-29",
        "2025-03-31",
        "2025-04-01",
        "2025-04-18",
        "2025-05-12",
        "2025-05-29",
        "2025-06-06",
        "2025-06-27",
        "2025-09-05",
        # 2026
        "2026-01-16",
        "2026-02-17",
        "2026-03-19",
        "2026-03-20",
        "2026-03-21",
        "2026-04-03",
        "2026-05-14",
        "2026-05-27",
        "2026-05-31",
        "2026-06-16",
        "2026-08-25",
        # 2027
        "2027-01-05",
        "2027-02-06",
        "2027-03-08",
        "2027-03-10",
        "2027-03-11",
        "2027-03-26",
        "2027-05-06",
        "2027-05-16",
        "2027-05-20",
        "2027-06-06",
        "2027-08-15",
    )
)
"""Isra Mi'raj, Imlek, Nyepi, Wafat Isa Almasih, Idulfitri, Kenaikan, Waisak, Iduladha, 1 Muharam, Maulid."""


def national_holidays() -> tuple[date, ...]:
    """Every national holiday this module knows (fixed dates for the years of the moving list), sorted.

    One list for the whole product: the detector's calendar and the alerts' SLA working days.
    """
    years = sorted({d.year for d in _MOVING_HOLIDAYS})
    fixed = {date(y, m, d) for y in years for m, d in _FIXED_HOLIDAYS}
    return tuple(sorted(fixed | set(_MOVING_HOLIDAYS)))


_RAMADAN: tuple[tuple[date, date], ...] = tuple(
    (date.fromisoformat(a), date.fromisoformat(b))
    for a, b in (
        ("2024-03-11", "2024-04-09"),
        ("2025-03-01", "2025-03-30"),
        ("2026-02-18", "2026-03-19"),
        ("2027-02-08", "2027-03-09"),
    )
)
"""First and last day of fasting (Idulfitri is the day after)."""

# A prior hourly shape of Indonesian social-media activity (relative to the daily
# mean, hours in WIB). It only seeds the learned profile so the first day is not
# judged against a flat line; every series then learns its own rhythm.
_WORKDAY_PRIOR = (
    0.55,
    0.35,
    0.25,
    0.2,
    0.3,
    0.55,
    0.85,
    1.05,
    1.15,
    1.2,
    1.2,
    1.25,
    1.3,
    1.25,
    1.15,
    1.1,
    1.1,
    1.1,
    1.05,
    1.25,
    1.4,
    1.45,
    1.3,
    0.9,
)
_RESTDAY_PRIOR = (
    0.7,
    0.45,
    0.3,
    0.25,
    0.3,
    0.45,
    0.7,
    0.9,
    1.05,
    1.15,
    1.2,
    1.25,
    1.25,
    1.2,
    1.15,
    1.1,
    1.1,
    1.1,
    1.05,
    1.25,
    1.4,
    1.45,
    1.35,
    1.0,
)
# Ramadan: awake for sahur (03-04), quiet at buka puasa (18), busy after tarawih.
_RAMADAN_PRIOR = (
    0.75,
    0.55,
    0.6,
    0.9,
    0.85,
    0.6,
    0.6,
    0.8,
    1.0,
    1.1,
    1.15,
    1.15,
    1.15,
    1.1,
    1.05,
    1.05,
    1.1,
    1.0,
    0.6,
    0.9,
    1.3,
    1.55,
    1.6,
    1.15,
)


def rhythm_prior() -> np.ndarray:
    """Seasonal factors per slot (length :data:`SLOTS`) to start a baseline from."""
    prior = np.empty(SLOTS)
    for day_type, shape in (
        (WORKDAY, _WORKDAY_PRIOR),
        (RESTDAY, _RESTDAY_PRIOR),
        (RAMADAN_WORKDAY, _RAMADAN_PRIOR),
        (RAMADAN_RESTDAY, _RAMADAN_PRIOR),
    ):
        prior[day_type * 24 : day_type * 24 + 24] = shape
    return prior


class IndonesianCalendar:
    """Day types for WIB dates: workday, rest day (Sunday or national holiday), and their Ramadan variants.

    Saturday counts as a workday: most of OKI's public services and schools open on
    Saturday, and posting volume on Saturday sits between weekday and Sunday.
    """

    def __init__(self, extra_holidays: Iterable[date] = (), ramadan: bool = True) -> None:
        self._holidays = set(_MOVING_HOLIDAYS) | set(extra_holidays)
        self._ramadan = ramadan
        self._cache: dict[date, int] = {}

    def is_holiday(self, day: date) -> bool:
        """True on a national holiday (fixed or listed moving date)."""
        return (day.month, day.day) in _FIXED_HOLIDAYS or day in self._holidays

    def in_ramadan(self, day: date) -> bool:
        """True on a fasting day."""
        return self._ramadan and any(a <= day <= b for a, b in _RAMADAN)

    def day_type(self, day: date) -> int:
        """One of WORKDAY, RESTDAY, RAMADAN_WORKDAY, RAMADAN_RESTDAY."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        rest = day.weekday() == 6 or self.is_holiday(day)
        # Day types are ordered so that Ramadan adds 2 and rest adds 1.
        kind = (RAMADAN_WORKDAY if self.in_ramadan(day) else WORKDAY) + (1 if rest else 0)
        self._cache[day] = kind
        return kind

    def slot(self, local: datetime) -> int:
        """The slot of a local (WIB) wall-clock time."""
        return self.day_type(local.date()) * 24 + local.hour

    def slot_of(self, ts: datetime) -> int:
        """The slot of any timestamp (aware: converted to WIB; naive: already local)."""
        return self.slot(to_local(ts))

    def slots(self, timestamps: Sequence[datetime]) -> np.ndarray:
        """Slots for many timestamps; aware ones are converted to WIB, naive ones are taken as local time."""
        out = np.empty(len(timestamps), dtype=np.int64)
        for i, ts in enumerate(timestamps):
            out[i] = self.slot(to_local(ts))
        return out

    def regular_slots(self, start: datetime, bins: int, bin_minutes: int) -> np.ndarray:
        """Slots of ``bins`` consecutive bins from ``start``; cheap because it works per hour, not per bin."""
        local = to_local(start)
        out = np.empty(bins, dtype=np.int64)
        step = timedelta(minutes=bin_minutes)
        i = 0
        while i < bins:
            # All bins up to the next hour boundary share one slot.
            next_hour = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            n = max(1, -(-int((next_hour - local).total_seconds()) // int(step.total_seconds())))
            n = min(n, bins - i)
            out[i : i + n] = self.slot(local)
            local = local + step * n
            i += n
        return out


def to_local(ts: datetime) -> datetime:
    """WIB wall-clock time; a naive timestamp is already local."""
    if ts.tzinfo is None:
        return ts
    return ts.astimezone(WIB).replace(tzinfo=None)


def to_utc(ts: datetime) -> datetime:
    """Aware UTC; a naive timestamp is read as WIB."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=WIB).astimezone(UTC)
    return ts.astimezone(UTC)
