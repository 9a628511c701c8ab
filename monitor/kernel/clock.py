"""Injected time: every decision reads the clock it is given, so replays are reproducible."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to (demo replays, tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a simulated clock never goes back")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


def to_wib(when: datetime) -> datetime:
    """The same instant in WIB (UTC+7), which is how users read times."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(WIB)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
MONTHS = _MONTHS
"""Short month names as :func:`format_wib` writes them (chart ticks use them too)."""


def format_wib(when: datetime | None, with_date: bool = True) -> str:
    """``29 Nov 2026 14.05 WIB`` — the one way users see a time.

    Indonesian as CLDR writes it (medium date ``d MMM y``, short time ``HH.mm``: a dot between hour
    and minute); ``tests/test_clock_format.py`` holds it to Babel's output for locale ``id``. Written
    out here rather than calling Babel: an issue page formats hundreds of times, at ~9 µs a call.
    """
    if when is None:
        return "-"
    local = to_wib(when)
    if with_date:
        return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local.hour:02d}.{local.minute:02d} WIB"
    return f"{local.hour:02d}.{local.minute:02d} WIB"


def format_date(day: date | datetime | None) -> str:
    """``4 Nov 2026``: a calendar day in the same words as :func:`format_wib` (a datetime is read in WIB)."""
    if day is None:
        return "-"
    if isinstance(day, datetime):
        day = to_wib(day).date()
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
