"""Indonesian national holidays and joint leave days (libur nasional, cuti bersama) for SLA clocks.

Dates follow the SKB 3 Menteri lists as published for each year; they must be checked
each December against the new decree (2027 is not listed yet) and can be overridden in ``alerts.sla.holidays``.
"""

from __future__ import annotations

from datetime import date

NATIONAL_HOLIDAYS: tuple[date, ...] = (
    # 2026
    date(2026, 1, 1),
    date(2026, 1, 16),
    date(2026, 2, 17),
    date(2026, 3, 19),
    date(2026, 3, 20),
    date(2026, 3, 21),
    date(2026, 4, 3),
    date(2026, 5, 1),
    date(2026, 5, 14),
    date(2026, 5, 27),
    date(2026, 5, 31),
    date(2026, 6, 1),
    date(2026, 6, 16),
    date(2026, 8, 17),
    date(2026, 8, 25),
    date(2026, 12, 25),
)
