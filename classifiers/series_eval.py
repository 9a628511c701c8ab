"""Evaluation of the spike detector on time series: NAB scoring and the early-warning simulator.

The NAB score is re-implemented from its published definition (Lavin & Ahmad
2015, the README in shared/data/nab_realtweets): detections inside a labelled
window earn a scaled sigmoid of how early they come, only the first counts; each
detection outside a window costs A_FP (less just after a window); each missed
window costs A_FN; the first 15% of a file (at most 750 rows) is not scored;
the total is normalised so the null detector scores 0 and a perfect one 100.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from classifiers.simulate import SimSeries


@dataclass(frozen=True, slots=True)
class CostProfile:
    """A NAB scoring profile."""

    tp: float = 1.0
    fp: float = 0.11
    fn: float = 1.0


STANDARD = CostProfile()
PROFILES = {
    "standard": STANDARD,
    "reward_low_FP_rate": CostProfile(fp=0.22),
    "reward_low_FN_rate": CostProfile(fn=2.0),
}


def _scaled_sigmoid(x: float) -> float:
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probation_rows(n: int, fraction: float = 0.15) -> int:
    """Rows at the start of a file that NAB does not score."""
    return int(min(math.floor(fraction * n), fraction * 5000))


def nab_raw_score(
    timestamps: Sequence[datetime], detections: np.ndarray, windows: Sequence[tuple[datetime, datetime]],
    profile: CostProfile = STANDARD,
) -> tuple[float, int, int]:
    """Raw NAB score of one file; ``detections`` is a boolean per row. Returns (score, windows hit, FP rows)."""
    n = len(timestamps)
    ts = np.array([t.timestamp() for t in timestamps])
    bounds = []
    for a, b in windows:
        lo = int(np.searchsorted(ts, a.timestamp(), side="left"))
        hi = int(np.searchsorted(ts, b.timestamp(), side="right")) - 1
        bounds.append((lo, hi))
    probation = probation_rows(n)
    max_tp = _scaled_sigmoid(-1.0)
    score = 0.0
    hit = [False] * len(bounds)
    fps = 0
    for i in np.nonzero(detections)[0]:
        if i < probation:
            continue
        inside = next((k for k, (lo, hi) in enumerate(bounds) if lo <= i <= hi), None)
        if inside is not None:
            if not hit[inside]:
                lo, hi = bounds[inside]
                pos = -(hi - i + 1) / float(hi - lo + 1)
                score += _scaled_sigmoid(pos) * profile.tp / max_tp
                hit[inside] = True
            continue
        before = [hi for lo, hi in bounds if hi < i]
        if before:
            k = len(before) - 1
            lo, hi = bounds[k]
            past = abs(hi - i) / float(hi - lo)
            score += _scaled_sigmoid(past) * profile.fp
        else:
            score -= profile.fp
        fps += 1
    score -= profile.fn * hit.count(False)
    return score, hit.count(True), fps


def nab_normalised(raw_total: float, n_windows: int, profile: CostProfile = STANDARD) -> float:
    """100·(S − S_null)/(S_perfect − S_null) over a set of files."""
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    return 100.0 * (raw_total - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class NabFile:
    """One NAB data file with its labelled windows."""

    name: str
    timestamps: list[datetime]
    values: np.ndarray
    windows: list[tuple[datetime, datetime]]


def load_nab(root: Path, corpus: str = "realTweets") -> list[NabFile]:
    """Read ``root/data/*.csv`` and the combined windows file of a NAB corpus copy."""
    labels_path = next((root / "labels").glob("*combined_windows.json"))
    labels = json.loads(labels_path.read_text())
    files = []
    for key in sorted(labels):
        if not key.startswith(corpus + "/"):
            continue
        name = key.split("/", 1)[1]
        ts, vals = read_series(root / "data" / name)
        wins = [(datetime.fromisoformat(a[:19]), datetime.fromisoformat(b[:19])) for a, b in labels[key]]
        files.append(NabFile(name, ts, np.asarray(vals), wins))
    return files


def read_series(path: Path) -> tuple[list[datetime], list[float]]:
    """Read a NAB-format CSV (``timestamp,value``); raises ValueError naming the bad line."""
    timestamps: list[datetime] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["timestamp", "value"]:
            raise ValueError(f"{path}: first line must be the header 'timestamp,value' (got {header})")
        for lineno, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            try:
                ts = datetime.fromisoformat(row[0].strip())
                val = float(row[1])
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}:{lineno}: expected 'YYYY-MM-DD HH:MM:SS,number', got {row!r} ({exc})") from None
            if not math.isfinite(val):
                raise ValueError(f"{path}:{lineno}: value must be a finite number, got {row[1]!r}")
            timestamps.append(ts)
            values.append(val)
    return timestamps, values


# --- simulator metrics ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    """Early-warning quality over a set of simulated series."""

    detector: str
    viral_episodes: int
    early_recall: float
    median_lead_minutes: float
    false_per_series_week: float
    false_alerts: int
    series_weeks: float


def naive_onsets(values: np.ndarray, bin_minutes: int) -> np.ndarray:
    """Baseline: trailing hour over three times the trailing day's hourly mean; onsets only (n × T bool)."""
    values = np.atleast_2d(values)
    h = 60 // bin_minutes
    day = 24 * h
    c = np.cumsum(np.pad(values, ((0, 0), (1, 0))), axis=1)
    t = np.arange(values.shape[1])
    hour_sum = c[:, t + 1] - c[:, np.maximum(t + 1 - h, 0)]
    day_sum = c[:, t + 1] - c[:, np.maximum(t + 1 - day, 0)]
    alarm = (hour_sum > 3.0 * day_sum / 24.0) & (t >= day) & (hour_sum > 0)
    return alarm & ~np.pad(alarm, ((0, 0), (1, 0)))[:, :-1]


def early_warning(
    name: str, series: Sequence[SimSeries], onsets: Sequence[np.ndarray], bin_minutes: int
) -> EarlyWarning:
    """Score onsets (one bool array per series) against the planted episodes."""
    leads: list[float] = []
    viral = 0
    early = 0
    false = 0
    weeks = 0.0
    for s, on in zip(series, onsets, strict=True):
        weeks += len(s.values) * bin_minutes / (7 * 24 * 60)
        idx = np.nonzero(on)[0]
        used = np.zeros(len(idx), dtype=bool)
        for e in s.episodes:
            if e.kind != "viral" or e.cross_bin is None:
                continue
            viral += 1
            inside = (idx >= e.start_bin) & (idx <= e.end_bin)
            used |= inside
            before = idx[(idx >= e.start_bin) & (idx < e.cross_bin)]
            if before.size:
                early += 1
                leads.append((e.cross_bin - before[0]) * bin_minutes)
        false += int((~used).sum())
    return EarlyWarning(
        detector=name,
        viral_episodes=viral,
        early_recall=early / viral if viral else float("nan"),
        median_lead_minutes=float(np.median(leads)) if leads else float("nan"),
        false_per_series_week=false / weeks if weeks else float("nan"),
        false_alerts=false,
        series_weeks=weeks,
    )


OnsetFn = Callable[[SimSeries], np.ndarray]
