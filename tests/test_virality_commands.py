"""`oki-monitor detect`, `eval-detect`, the NAB scorer and the simulator's ground truth."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from classifiers.series_eval import (
    STANDARD,
    early_warning,
    miss_breakdown,
    nab_normalised,
    nab_raw_score,
    naive_onsets,
    probation_rows,
    read_series,
)
from classifiers.simulate import simulate
from classifiers.virality import detect_onsets
from monitor.cli import main

T0 = datetime(2015, 3, 1, 0, 0, 0)


def write_series(path: Path, values: list[float]) -> list[datetime]:
    stamps = [T0 + timedelta(minutes=5 * i) for i in range(len(values))]
    lines = ["timestamp,value"] + [f"{t:%Y-%m-%d %H:%M:%S},{v:g}" for t, v in zip(stamps, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return stamps


def spiky(n: int = 5 * 288, at: int = 4 * 288, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    values = rng.poisson(2.0, n).astype(float)
    values[at : at + 36] += 25.0
    return values.tolist()


def test_detect_prints_one_json_line_per_onset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = spiky()
    stamps = write_series(tmp_path / "a.csv", values)
    assert main(["detect", str(tmp_path / "a.csv")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1
    assert set(lines[0]) == {"file", "timestamp", "score"}
    onset = datetime.fromisoformat(lines[0]["timestamp"])
    assert stamps[4 * 288] <= onset <= stamps[4 * 288 + 3]
    # Same detector as the library call.
    assert [(t, round(s, 4)) for t, s in detect_onsets(stamps, values)] == [(onset, lines[0]["score"])]


def test_detect_skips_bad_lines_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "good.csv", spiky())
    bad = tmp_path / "bad.csv"
    write_series(bad, spiky(seed=2))
    text = bad.read_text().splitlines()
    text.insert(5, "2015-03-01 00:20:00,banyak")
    bad.write_text("\n".join(text) + "\n")
    code = main(["detect", str(tmp_path / "missing.csv"), str(bad), str(tmp_path / "good.csv")])
    captured = capsys.readouterr()
    assert code == 1  # one file could not be read
    assert "missing.csv: file not found" in captured.err
    assert "bad.csv:6: skipped" in captured.err
    files = {json.loads(line)["file"] for line in captured.out.splitlines()}
    assert files == {str(bad), str(tmp_path / "good.csv")}


def test_read_series_rejects_a_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,count\n2015-01-01 00:00:00,1\n")
    with pytest.raises(ValueError, match="header"):
        read_series(path)


def _ts(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=5 * i) for i in range(n)]


def test_nab_score_known_answers() -> None:
    n = 2000
    ts = _ts(n)
    assert probation_rows(n) == 300
    assert probation_rows(20000) == 750
    windows = [(ts[1000], ts[1099]), (ts[1500], ts[1599])]
    none = np.zeros(n, dtype=bool)
    raw, hits, fps = nab_raw_score(ts, none, windows)
    assert (raw, hits, fps) == (-2.0, 0, 0)
    assert nab_normalised(raw, 2) == 0.0
    # Detecting at the very start of each window is worth exactly A_TP.
    perfect = none.copy()
    perfect[[1000, 1500]] = True
    raw, hits, _ = nab_raw_score(ts, perfect, windows)
    assert raw == pytest.approx(2.0)
    assert nab_normalised(raw, 2) == pytest.approx(100.0)
    # Only the first detection in a window counts; later ones are free.
    late = perfect.copy()
    late[[1050, 1098]] = True
    assert nab_raw_score(ts, late, windows)[0] == pytest.approx(2.0)
    # A false positive before any window costs A_FP; probation rows are ignored.
    fp = perfect.copy()
    fp[[10, 500]] = True
    raw, _, fps = nab_raw_score(ts, fp, windows)
    assert fps == 1
    assert raw == pytest.approx(2.0 - STANDARD.fp)
    # A detection in the middle of a window earns less than one at its start.
    mid = none.copy()
    mid[[1050, 1550]] = True
    assert 0.0 < nab_raw_score(ts, mid, windows)[0] < 2.0


def test_simulator_ground_truth_and_metrics() -> None:
    sims = simulate(seed=5, n_series=20, weeks=1)
    viral = [e for s in sims for e in s.episodes if e.kind == "viral"]
    assert viral, "the simulator planted no viral episode"
    for s in sims:
        for e in s.episodes:
            if e.kind == "viral" and e.cross_bin is not None:
                assert e.start_bin < e.cross_bin <= e.end_bin
                assert s.rate[e.cross_bin] * 12 >= s.viral_per_hour
    # A perfect oracle alerting one bin after each start scores recall 1 with no false alerts.
    oracle = []
    for s in sims:
        on = np.zeros(len(s.values), dtype=bool)
        for e in s.episodes:
            if e.kind == "viral" and e.cross_bin is not None:
                on[e.start_bin + 1] = True
        oracle.append(on)
    result = early_warning("oracle", sims, oracle, 5)
    assert result.early_recall == 1.0
    assert result.false_alerts == 0
    assert result.median_lead_minutes > 0
    naive = naive_onsets(np.stack([s.values for s in sims]), 5)
    assert naive.shape == (20, len(sims[0].values))


def test_miss_breakdown_sorts_each_missed_episode_once() -> None:
    sims = simulate(seed=5, n_series=20, weeks=1)
    shape = (len(sims), len(sims[0].values))
    viral = [(row, e) for row, s in enumerate(sims) for e in s.episodes if e.kind == "viral" and e.cross_bin]
    truth = np.stack([s.rate for s in sims])
    quiet = np.zeros(shape, dtype=bool)
    # Nothing alerted, expectation right: every episode is "never" or a slow climb.
    none = miss_breakdown(sims, quiet, quiet, truth, 5)
    assert none.viral_episodes == len(viral) and none.early == 0
    assert none.never + none.late_slow == len(viral)
    # An alarm open at each start, and alerts after each crossing.
    alarm = quiet.copy()
    late = quiet.copy()
    for row, e in viral:
        alarm[row, e.start_bin] = True
        late[row, e.cross_bin] = True
    assert miss_breakdown(sims, late, alarm, truth, 5).open_alarm == len(viral)
    got = miss_breakdown(sims, late, quiet, truth, 5)
    assert got.late + got.late_slow == len(viral)
    # A baseline ten times the truth is named as the reason.
    assert miss_breakdown(sims, quiet, quiet, 10 * truth + 1, 5).high_baseline == len(viral)
    # Alerts in time leave nothing to explain.
    early = quiet.copy()
    for row, e in viral:
        early[row, e.start_bin + 1] = True
    assert miss_breakdown(sims, early, quiet, truth, 5).early == len(viral)


def test_eval_detect_command_runs_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval-detect", "--nab", str(tmp_path / "none"), "--series", "6", "--weeks", "1", "--issues", "4"])
    out = capsys.readouterr()
    assert code == 0
    assert "early recall" in out.out
    assert "not alerted early" in out.out
    assert "no NAB copy" in out.err
    # The forecast's reliability: the model's own and the shipped calibration, with Brier and ECE.
    assert "| model |" in out.out and "| calibrated |" in out.out
    assert "ECE (target ≤ 0.05)" in out.out and "Reliability: calibrated" in out.out


def test_eval_detect_fits_a_calibration_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from classifiers.calibration import load_calibration

    target = tmp_path / "cal.json"
    args = ["eval-detect", "--nab", str(tmp_path / "none"), "--series", "2", "--weeks", "1", "--issues", "4"]
    assert main([*args, "--fit-calibration", str(target)]) == 0
    cal = load_calibration(target)
    assert cal is not None and cal.samples > 0 and "seeds 1, 2, 3" in cal.note
    assert "calibration fitted" in capsys.readouterr().out
