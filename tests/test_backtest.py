"""`oki-monitor backtest`: the pure summary, the parameter file, bad input (the replay: tests/test_demo.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.commands.backtest import format_outcomes, load_params
from monitor.reports.backtest import IssueTimeline, summarise

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def tl(issue_id: int, alert_h: float | None, viral_h: float | None) -> IssueTimeline:
    at = None if alert_h is None else T0 + timedelta(hours=alert_h)
    viral = None if viral_h is None else T0 + timedelta(hours=viral_h)
    return IssueTimeline(issue_id, f"Isu {issue_id}", "infrastruktur", "Cengal", at, viral, int(at is not None))


def test_summary_counts_lead_misses_and_false_alerts() -> None:
    timelines = [
        tl(1, 0.0, 3.0),  # warned 3 h early
        tl(2, 1.0, 2.0),  # warned 1 h early
        tl(3, 5.0, 5.0),  # alerted when already viral: missed
        tl(4, None, 4.0),  # never alerted: missed
        tl(5, 2.0, None),  # never viral: false
        tl(6, 0.0, 60.0),  # viral only 60 h later: false at 48 h
        tl(7, None, None),  # nothing happened
    ]
    outcomes, totals = summarise(timelines, follow_hours=48.0)
    by_id = {o.timeline.issue_id: o for o in outcomes}
    assert by_id[1].lead_minutes == 180.0 and not by_id[1].false_alert and not by_id[1].missed
    assert by_id[3].missed and by_id[3].lead_minutes == 0.0
    assert by_id[4].missed and by_id[4].lead_minutes is None
    assert by_id[5].false_alert and by_id[6].false_alert
    assert totals.issues == 7 and totals.alerted == 5 and totals.viral == 5
    assert totals.warned_early == 3 and totals.missed == 2 and totals.false_alerts == 2
    assert totals.median_lead_minutes == 180.0  # leads 180, 60, 3600
    lines = format_outcomes(outcomes, totals)
    assert len(lines) == 1 + 6 + 1  # header, six issues with something to say, totals
    assert "palsu (tidak viral)" in lines[5] and "WIB" in lines[1]
    assert lines[-1].startswith("Jumlah: 7 isu") and "2 peringatan palsu" in lines[-1]
    assert summarise([])[1].median_lead_minutes is None


def test_params_file_merges_over_the_config(tmp_path: Path) -> None:
    flat = tmp_path / "p.yaml"
    flat.write_text("spike_threshold: 4.0\n")
    assert load_params(flat, {"spike_threshold": 5.0, "viral_mentions": 60}) == {
        "spike_threshold": 4.0,
        "viral_mentions": 60,
    }
    nested = tmp_path / "q.json"
    nested.write_text('{"virality": {"viral_mentions": 40}}')
    assert load_params(nested, {"viral_mentions": 60})["viral_mentions"] == 40
    bad = tmp_path / "r.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="kunci"):
        load_params(bad, {})
    with pytest.raises(ValueError, match="tidak bisa dibaca"):
        load_params(tmp_path / "absent.yaml", {})


def test_bad_input_is_refused_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--from", "2026-13-01", "--to", "2026-11-02"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["backtest", "--from", "2026-11-03", "--to", "2026-11-02"]) == 2
    assert "tidak boleh sebelum" in capsys.readouterr().err
    params = tmp_path / "p.yaml"
    params.write_text("spike_treshold: 4\n")  # misspelt key
    assert main(["backtest", "--from", "2026-11-01", "--to", "2026-11-02", "--params", str(params)]) == 2
    assert "spike_treshold" in capsys.readouterr().err
