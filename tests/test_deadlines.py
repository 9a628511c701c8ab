"""LAPOR! clocks: working days in WIB, national holidays, cuti bersama, per-topic rules, the missing-year warning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.config import SlaSettings
from alerts.sla import (
    Clocks,
    Progress,
    WorkCalendar,
    add_working_days,
    calendar_warning,
    deadlines,
    overdue,
    overdue_label,
    within_deadline,
    work_calendar,
)
from monitor.kernel.clock import WIB

ROOT = Path(__file__).resolve().parent.parent
SLA = SlaSettings()
CAL = SLA.calendar()


def wib(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=WIB)


def test_national_holidays_come_from_the_holidays_library() -> None:
    # Thursday 19 March 2026 is Nyepi; Friday 3 April 2026 is Good Friday; 17 August is Independence Day.
    assert date(2026, 3, 19) in CAL and date(2026, 4, 3) in CAL and date(2027, 8, 17) in CAL
    assert date(2026, 3, 25) not in CAL  # an ordinary Wednesday
    assert not CAL.is_working_day(date(2026, 12, 25))  # Christmas, a Friday


def test_cuti_bersama_is_not_a_working_day() -> None:
    # Cuti bersama are not national holidays: only the configured SKB list makes them days off.
    assert date(2026, 12, 24) in CAL and date(2026, 3, 23) in CAL
    without = WorkCalendar()
    assert date(2026, 12, 24) not in without
    # Wednesday 23 Dec 2026 + 1 working day: 24 (cuti bersama), 25 (Natal), weekend -> Monday 28 Dec.
    assert add_working_days(wib(2026, 12, 23, 10), 1, CAL) == wib(2026, 12, 28, 10)
    assert add_working_days(wib(2026, 12, 23, 10), 1, without) == wib(2026, 12, 24, 10)
    # Lebaran 2026: Thursday 19 Mar (Nyepi) to Tuesday 24 Mar are all off; Wednesday 18 is cuti bersama too.
    assert add_working_days(wib(2026, 3, 17, 14), 1, CAL) == wib(2026, 3, 25, 14)
    assert add_working_days(wib(2026, 3, 17, 14), 1, WorkCalendar(national=False)) == wib(2026, 3, 18, 14)


def test_weekends_are_skipped_and_weekend_reports_start_monday_at_eight() -> None:
    cal = WorkCalendar(national=False)
    friday = wib(2026, 11, 6, 16)
    assert add_working_days(friday, 3, cal) == wib(2026, 11, 11, 16)
    saturday_night = wib(2026, 11, 7, 22)
    assert add_working_days(saturday_night, 1, cal) == wib(2026, 11, 10, 8)


def test_wib_boundaries_not_utc() -> None:
    # Friday 23:30 WIB is Friday 16:30 UTC: a Friday report, counted from Friday, not from a UTC day.
    late_friday = datetime(2026, 11, 6, 16, 30, tzinfo=UTC)
    assert add_working_days(late_friday, 1, WorkCalendar(national=False)) == wib(2026, 11, 9, 23, 30)
    # Saturday 00:30 WIB is still Friday 17:30 UTC: by WIB it is the weekend, so Monday 08:00 starts the count.
    early_saturday = datetime(2026, 11, 6, 17, 30, tzinfo=UTC)
    assert add_working_days(early_saturday, 1, WorkCalendar(national=False)) == wib(2026, 11, 10, 8)


def test_three_clocks_defaults_topic_and_stage_rules() -> None:
    assert SLA.clocks("infrastruktur", "naik") == Clocks(3, 5, 10)
    assert SLA.clocks("bencana", "naik") == Clocks(1, 2, 5)
    viral_fast = SlaSettings.model_validate({"stages": {"viral": {"respond": 2}}})
    assert viral_fast.clocks("infrastruktur", "viral") == Clocks(2, 5, 10)
    assert viral_fast.clocks("bencana", "viral") == Clocks(1, 2, 5)  # the shortest rule wins


def test_overdue_and_within_deadline() -> None:
    start = wib(2026, 12, 1, 9)  # Tuesday
    d = deadlines(start, Clocks(3, 5, 10), WorkCalendar(national=False))
    assert d.respond == wib(2026, 12, 4, 9) and d.process == wib(2026, 12, 8, 9) and d.finish == wib(2026, 12, 15, 9)
    nothing = Progress()
    assert overdue(d, nothing, wib(2026, 12, 4, 9)) == []  # at the deadline, not past it
    assert overdue(d, nothing, wib(2026, 12, 4, 9, 1)) == ["respond"]
    acked = Progress(acknowledged_at=wib(2026, 12, 2))
    assert overdue(d, acked, wib(2026, 12, 9)) == ["process"]
    assert overdue_label(["respond", "process"]) == "Lewat batas tanggapan awal, tindak lanjut"
    # A later step meets the earlier clocks; finishing late is a missed deadline, though no longer overdue.
    done_late = Progress(finished_at=wib(2026, 12, 16))
    assert overdue(d, done_late, wib(2026, 12, 20)) == []
    assert within_deadline(d, done_late) is False
    assert within_deadline(d, Progress(finished_at=wib(2026, 12, 10))) is True
    assert within_deadline(d, acked) is None
    # Rerouted to another agency: this agency's clocks stop.
    assert overdue(d, Progress(stopped_at=wib(2026, 12, 2)), wib(2026, 12, 20)) == []


def test_missing_year_warns() -> None:
    assert calendar_warning(SLA.cuti_bersama, date(2026, 6, 1)) is None
    assert calendar_warning(SLA.cuti_bersama, date(2027, 12, 2)) is not None  # 2028 is needed from December
    warning = calendar_warning(SLA.cuti_bersama, date(2028, 1, 5))
    assert warning is not None and "2028" in warning and "cuti bersama" in warning
    assert calendar_warning({2028: []}, date(2028, 1, 5)) is None


def test_cuti_bersama_of_the_wrong_year_is_refused() -> None:
    with pytest.raises(ValidationError, match="2027"):
        SlaSettings.model_validate({"cuti_bersama": {2026: ["2027-01-02"]}})
    assert date(2030, 1, 2) in work_calendar({2030: [date(2030, 1, 2)]})


def test_shipped_config_lists_2026_and_2027() -> None:
    """The check `oki-monitor run` makes at start passes on the shipped config."""
    from monitor.kernel.config import load_config

    cfg = load_config(ROOT / "config.yaml")
    assert sorted(cfg.alerts.sla.cuti_bersama) == [2026, 2027]
    assert cfg.alerts.sla.cuti_bersama[2026] == SLA.cuti_bersama[2026]
    assert calendar_warning(cfg.alerts.sla.cuti_bersama, date(2026, 12, 6)) is None


def test_alert_text_names_all_three_deadlines() -> None:
    from alerts.engine import deadlines_payload
    from alerts.render import _later_deadlines

    due = deadlines(wib(2026, 12, 1), Clocks(3, 5, 10), WorkCalendar(national=False))
    text = _later_deadlines(deadlines_payload(due))
    assert text == (
        "; diproses paling lambat 8 Des 2026 09.00 WIB (5 hari kerja)"
        "; selesai paling lambat 15 Des 2026 09.00 WIB (10 hari kerja)"
    )
    assert _later_deadlines(None) == ""


def test_clock_rules_name_known_topics_and_stages() -> None:
    from monitor.kernel.config import ConfigError, load_config, parse_config

    data = load_config(ROOT / "config.yaml").model_dump(by_alias=True)
    data["alerts"]["sla"]["topics"] = {"banjir": {"respond": 1}}
    with pytest.raises(ConfigError, match=r"alerts\.sla\.topics: unknown topic"):
        parse_config(data)
    data["alerts"]["sla"]["topics"] = {}
    data["alerts"]["sla"]["stages"] = {"heboh": {"respond": 1}}
    with pytest.raises(ConfigError, match=r"alerts\.sla\.stages: unknown stage"):
        parse_config(data)
