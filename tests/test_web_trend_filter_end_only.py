"""A trend filter with only an end date covers the default span up to that date."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.kernel.clock import to_wib
from monitor.kernel.config import AppConfig
from monitor.web.actions import FilterInput, trend_filter

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_only_an_end_date_gives_the_default_span_before_it(config: AppConfig) -> None:
    flt, problems = trend_filter(config, FilterInput(end="2026-07-31"), NOW)
    assert problems == []
    assert to_wib(flt.end) == datetime(2026, 8, 1, tzinfo=to_wib(NOW).tzinfo)
    assert (flt.end - flt.start).days == 90


def test_start_and_end_still_win(config: AppConfig) -> None:
    flt, problems = trend_filter(config, FilterInput(start="2026-07-01", end="2026-07-31"), NOW)
    assert problems == [] and to_wib(flt.start).date().isoformat() == "2026-07-01" and (flt.end - flt.start).days == 31
