"""One date-time format: ``format_wib`` / ``format_date`` agree with CLDR's Indonesian (Babel), in WIB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date as babel_date
from babel.dates import format_datetime, get_date_format, get_datetime_format, get_time_format

from monitor.kernel.clock import WIB, format_date, format_wib


def _cldr(when: datetime) -> str:
    # Locale id: medium date and short time joined by the locale's date-time pattern.
    pattern = get_datetime_format("medium", locale="id").format(
        get_time_format("short", locale="id").pattern, get_date_format("medium", locale="id").pattern
    )
    return format_datetime(when.astimezone(WIB), pattern, locale="id") + " WIB"


def test_format_wib_is_cldr_indonesian_in_every_month() -> None:
    start = datetime(2026, 1, 1, 16, 59, tzinfo=UTC)  # 23.59 WIB
    for month in range(12):
        when = start + timedelta(days=31 * month, minutes=month * 7)
        assert format_wib(when) == _cldr(when), when
    assert format_wib(datetime(2026, 11, 3, 17, 0, tzinfo=UTC)) == "4 Nov 2026 00.00 WIB"
    assert format_wib(datetime(2026, 8, 17, 3, 5, tzinfo=UTC), with_date=False) == "10.05 WIB"
    assert format_wib(datetime(2026, 5, 1, 2, 0)) == "1 Mei 2026 09.00 WIB"  # naive = UTC
    assert format_wib(None) == "-"


def test_format_date_is_the_same_words_without_the_time() -> None:
    assert format_date(date(2026, 8, 4)) == "4 Agu 2026" == babel_date(date(2026, 8, 4), "medium", locale="id")
    assert format_date(datetime(2026, 12, 31, 18, 0, tzinfo=UTC)) == "1 Jan 2027"  # already the next day in WIB
    assert format_date(None) == "-"
