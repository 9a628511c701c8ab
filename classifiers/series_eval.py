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
import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifiers.calibration import (
    Calibration,
    ReliabilityBin,
    brier_score,
    expected_calibration_error,
    fit_isotonic,
    reliability_table,
    render_reliability,
)
from classifiers.simulate import SimIssue, SimSeries
from classifiers.spike import run_detector

if TYPE_CHECKING:
    from classifiers.virality import ViralityParams


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
    timestamps: Sequence[datetime],
    detections: np.ndarray,
    windows: Sequence[tuple[datetime, datetime]],
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
        ts, vals, _ = read_series(root / "data" / name)
        wins = [(datetime.fromisoformat(a[:19]), datetime.fromisoformat(b[:19])) for a, b in labels[key]]
        files.append(NabFile(name, ts, np.asarray(vals), wins))
    return files


def read_series(path: Path) -> tuple[list[datetime], list[float], list[str]]:
    """Read a NAB-format CSV (``timestamp,value``).

    Returns timestamps, values and one message per skipped line (a bad line is
    skipped, the rest of the file is kept). Raises ValueError if the header is wrong.
    """
    timestamps: list[datetime] = []
    values: list[float] = []
    problems: list[str] = []
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
                if not math.isfinite(val):
                    raise ValueError("not a finite number")
            except (ValueError, IndexError) as exc:
                problems.append(
                    f"{path}:{lineno}: skipped {','.join(row)!r}: expected 'YYYY-MM-DD HH:MM:SS,number' ({exc})"
                )
                continue
            if timestamps and ts < timestamps[-1]:
                problems.append(
                    f"{path}:{lineno}: skipped {row[0]!r}: earlier than the line before (rows must be in time order)"
                )
                continue
            timestamps.append(ts)
            values.append(val)
    return timestamps, values, problems


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


@dataclass(frozen=True, slots=True)
class MissBreakdown:
    """Why viral episodes were not alerted early, one reason per missed episode (first that applies)."""

    viral_episodes: int
    early: int
    open_alarm: int
    """began while an earlier alarm of the same series was still open"""
    high_baseline: int
    """the expectation in the hour before the start was over 2.5× the true rate (learned from an earlier event)"""
    late_slow: int
    """alerted only at or after the viral level (or never), on a climb of more than 6 h to it"""
    late: int
    """alerted only at or after the viral level, climb of 6 h or less"""
    never: int
    """no onset during the episode, climb of 6 h or less"""


def miss_breakdown(
    series: Sequence[SimSeries], onsets: np.ndarray, alarm: np.ndarray, expected: np.ndarray, bin_minutes: int
) -> MissBreakdown:
    """Sort each missed viral episode into one reason (rows of the arrays are the series)."""
    hour = max(1, 60 // bin_minutes)
    slow_bins = 6 * hour
    counts = dict.fromkeys(("viral", "early", "open_alarm", "high_baseline", "late_slow", "late", "never"), 0)
    for row, s in enumerate(series):
        idx = np.nonzero(onsets[row])[0]
        for e in s.episodes:
            if e.kind != "viral" or e.cross_bin is None:
                continue
            counts["viral"] += 1
            a, c = e.start_bin, e.cross_bin
            if np.any((idx >= a) & (idx < c)):
                counts["early"] += 1
            elif alarm[row, a]:
                counts["open_alarm"] += 1
            elif expected[row, max(0, a - hour) : a].sum() > 2.5 * s.rate[max(0, a - hour) : a].sum():
                counts["high_baseline"] += 1
            elif c - a > slow_bins:
                counts["late_slow"] += 1
            elif np.any((idx >= c) & (idx <= e.end_bin)):
                counts["late"] += 1
            else:
                counts["never"] += 1
    return MissBreakdown(
        counts["viral"],
        counts["early"],
        counts["open_alarm"],
        counts["high_baseline"],
        counts["late_slow"],
        counts["late"],
        counts["never"],
    )


# --- whole evaluations ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NabResult:
    """NAB realTweets scores of one detector: normalised score per profile, windows hit, FP detections."""

    detector: str
    scores: dict[str, float]
    windows_hit: int
    windows: int
    false_detections: int
    note: str = ""


def _nab_scores(files: Sequence[NabFile], detections: Sequence[np.ndarray]) -> tuple[dict[str, float], int, int]:
    scores: dict[str, float] = {}
    hits = fps = 0
    n_windows = sum(len(f.windows) for f in files)
    for name, profile in PROFILES.items():
        total = 0.0
        for f, det in zip(files, detections, strict=True):
            raw, h, fp = nab_raw_score(f.timestamps, det, f.windows, profile)
            total += raw
            if name == "standard":
                hits += h
                fps += fp
        scores[name] = nab_normalised(total, n_windows, profile)
    return scores, hits, fps


def evaluate_nab(root: Path, params: ViralityParams) -> list[NabResult]:
    """Our detector (default threshold, and the best threshold on these files), the naive baseline."""
    from classifiers.virality import run_series

    files = load_nab(root)
    n_windows = sum(len(f.windows) for f in files)
    outs = [run_series(f.timestamps, f.values, params) for f in files]
    results = []
    scores, hits, fps = _nab_scores(files, [o.onset[0] for o in outs])
    results.append(NabResult("oki-monitor (default threshold)", scores, hits, n_windows, fps))
    settings = params.detector_settings()
    if settings.burst_ratio > 0:
        # What the sudden-burst onset adds: the same detector with lone bins never starting an episode.
        no_burst = dataclasses.replace(settings, burst_ratio=0.0)
        cal = params.calendar()
        plain = [run_detector(f.values[None, :], cal.slots(f.timestamps), no_burst).onset[0] for f in files]
        scores, hits, fps = _nab_scores(files, plain)
        results.append(NabResult("oki-monitor (sudden-burst onset off)", scores, hits, n_windows, fps))
    if params.routine_bursts > 0:
        # The routine-burst memory never fires on the simulator, so show what it does here.
        off = params.model_copy(update={"routine_bursts": 0})
        plain = [run_series(f.timestamps, f.values, off).onset[0] for f in files]
        scores, hits, fps = _nab_scores(files, plain)
        results.append(NabResult("oki-monitor (routine-burst memory off)", scores, hits, n_windows, fps))
    if params.novelty_days > 0 and params.routine_bursts > 0:
        # Issue #6, third round: what the novelty bar adds.
        off = params.model_copy(update={"novelty_days": 0.0})
        plain = [run_series(f.timestamps, f.values, off).onset[0] for f in files]
        scores, hits, fps = _nab_scores(files, plain)
        results.append(NabResult("oki-monitor (novelty bar off)", scores, hits, n_windows, fps))
    # NAB tunes each detector's threshold on the corpus; do the same on onset scores (an upper bound here,
    # because it is tuned on the very files it is scored on).
    onset_scores = [np.where(o.onset[0], o.score[0], 0.0) for o in outs]
    best: tuple[float, float] = (-math.inf, params.spike_threshold)
    candidates = sorted({float(v) for s in onset_scores for v in s[s > 0]})
    grid = candidates[:: max(1, len(candidates) // 200)]
    for thr in grid:
        total = sum(
            nab_raw_score(f.timestamps, s >= thr, f.windows)[0] for f, s in zip(files, onset_scores, strict=True)
        )
        if total > best[0]:
            best = (total, thr)
    scores, hits, fps = _nab_scores(files, [s >= best[1] for s in onset_scores])
    results.append(
        NabResult(
            "oki-monitor (threshold tuned on realTweets)",
            scores,
            hits,
            n_windows,
            fps,
            note=f"onset score ≥ {best[1]:.2f}",
        )
    )
    naive = [naive_onsets(f.values, params.bin_minutes)[0] for f in files]
    scores, hits, fps = _nab_scores(files, naive)
    results.append(NabResult("naive (hour > 3× day mean)", scores, hits, n_windows, fps))
    return results


def published_nab(root: Path) -> dict[str, dict[str, float]]:
    """NAB's published detectors on realTweets (normalised per profile), from the derived CSV."""
    path = root / "results" / "realTweets_normalized_scores_DERIVED.csv"
    out: dict[str, dict[str, float]] = {}
    if not path.exists():
        return out
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["Detector"], {})[row["Profile"]] = float(row["normalized_realTweets"])
    return out


def evaluate_simulator(
    params: ViralityParams, seed: int = 7, n_series: int = 200, weeks: float = 2.0
) -> tuple[list[EarlyWarning], float, MissBreakdown]:
    """Early recall, lead time and false alerts of our detector and the naive baseline; seconds spent; our misses."""
    import time

    from classifiers.simulate import simulate

    sims = simulate(seed=seed, n_series=n_series, weeks=weeks, bin_minutes=params.bin_minutes)
    values = np.stack([s.values for s in sims])
    slots = params.calendar().regular_slots(sims[0].start, values.shape[1], params.bin_minutes)
    started = time.perf_counter()
    out = run_detector(values, slots, params.detector_settings())
    spent = time.perf_counter() - started
    ours = early_warning("oki-monitor", sims, list(out.onset), params.bin_minutes)
    naive = early_warning(
        "naive (hour > 3× day mean)", sims, list(naive_onsets(values, params.bin_minutes)), params.bin_minutes
    )
    misses = miss_breakdown(sims, out.onset, out.alarm, out.expected, params.bin_minutes)
    return [ours, naive], spent, misses


def render_report(
    nab: Sequence[NabResult],
    published: dict[str, dict[str, float]],
    sim: Sequence[EarlyWarning],
    misses: MissBreakdown | None = None,
) -> str:
    """Markdown tables for the README and the terminal."""
    lines = [
        "### NAB realTweets (10 files, 33 windows), normalised NAB score",
        "",
        "| detector | standard | reward low FP | reward low FN | windows hit | FP detections |",
        "|---|---|---|---|---|---|",
    ]
    for r in nab:
        note = f" ({r.note})" if r.note else ""
        lines.append(
            f"| **{r.detector}**{note} | {r.scores['standard']:.1f} | {r.scores['reward_low_FP_rate']:.1f} | "
            f"{r.scores['reward_low_FN_rate']:.1f} | {r.windows_hit}/{r.windows} | {r.false_detections} |"
        )
    for name, prof in sorted(published.items(), key=lambda kv: -kv[1].get("standard", 0.0)):
        std, low_fp, low_fn = (prof.get(k, float("nan")) for k in PROFILES)
        lines.append(f"| {name} (published) | {std:.1f} | {low_fp:.1f} | {low_fn:.1f} | | |")
    lines += [
        "",
        "### Simulator (5-minute bins)",
        "",
        "| detector | viral episodes | early recall | median lead (min) | false alerts / series-week |",
        "|---|---|---|---|---|",
    ]
    for e in sim:
        lines.append(
            f"| {e.detector} | {e.viral_episodes} | {e.early_recall:.3f} | {e.median_lead_minutes:.0f} | "
            f"{e.false_per_series_week:.3f} ({e.false_alerts} in {e.series_weeks:.0f} series-weeks) |"
        )
    if misses is not None:
        lines += [
            "",
            f"Viral episodes not alerted early by oki-monitor: {misses.viral_episodes - misses.early} "
            f"of {misses.viral_episodes}",
            "",
            "| reason (first that applies) | episodes |",
            "|---|---|",
            f"| began while an earlier alarm was still open | {misses.open_alarm} |",
            f"| baseline > 2.5× the true rate (learned from an earlier event) | {misses.high_baseline} |",
            f"| slow climb (> 6 h to the viral level): late or never | {misses.late_slow} |",
            f"| alerted late (at or after the viral level), climb ≤ 6 h | {misses.late} |",
            f"| never alerted, climb ≤ 6 h | {misses.never} |",
        ]
    return "\n".join(lines)


# --- forecast calibration ---------------------------------------------------------------


def forecast_samples(
    issues: Sequence[SimIssue], params: ViralityParams, every_hours: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The forecast's P(viral within ``horizon_hours``) at regular moments of each issue, and what happened.

    A moment counts while the issue is not yet viral and its horizon lies inside the simulated span
    (or it did become viral within the horizon). The probability is the one the stage reads: the
    growth forecast, 0 for a handful of posts or accounts (:func:`classifiers.virality.read_outlook`).
    """
    from datetime import timedelta

    from classifiers.virality import PostEvent, gather_signals, growth_forecast, small_issue

    horizon = timedelta(hours=params.horizon_hours)
    step = timedelta(hours=every_hours)
    probs: list[float] = []
    outcomes: list[bool] = []
    for issue in issues:
        events = [
            PostEvent(at=t, author=a, platform=p, engagement=0.0, is_news=False)
            for t, a, p in zip(issue.times, issue.authors, issue.platforms, strict=True)
        ]
        now = issue.times[0] + step
        while now + horizon <= issue.end or (issue.viral_at is not None and now < issue.viral_at):
            if issue.viral_at is not None and now >= issue.viral_at:
                break
            happened = issue.viral_at is not None and issue.viral_at <= now + horizon
            if now + horizon > issue.end and not happened:
                break
            seen = [e for e in events if e.at <= now]
            sig = gather_signals(seen, [], now, params)
            if sig is not None:
                _, fc = growth_forecast(sig, params)
                p = 0.0 if small_issue(sig, params) and fc.p_viral < 1.0 else fc.p_viral
                probs.append(p)
                outcomes.append(happened)
            now += step
    return np.asarray(probs), np.asarray(outcomes, dtype=bool)


@dataclass(frozen=True, slots=True)
class ForecastCheck:
    """How well P(viral within the horizon) matches outcomes on one set of samples."""

    name: str
    samples: int
    base_rate: float
    brier: float
    ece: float
    table: tuple[ReliabilityBin, ...]


def check_forecast(name: str, probs: np.ndarray, outcomes: np.ndarray) -> ForecastCheck:
    """Brier score, expected calibration error and reliability table of forecasts against outcomes."""
    return ForecastCheck(
        name=name,
        samples=int(probs.size),
        base_rate=float(outcomes.mean()) if outcomes.size else math.nan,
        brier=brier_score(probs, outcomes),
        ece=expected_calibration_error(probs, outcomes),
        table=tuple(reliability_table(probs, outcomes)),
    )


def evaluate_forecast(
    params: ViralityParams, calibration: Calibration | None, seed: int = 7, n_issues: int = 150
) -> list[ForecastCheck]:
    """The model's P(viral) and, if given, the calibrated one, on simulated issues of ``seed`` (not fitted on)."""
    from classifiers.simulate import simulate_issues

    probs, outcomes = forecast_samples(
        simulate_issues(seed, n_issues, viral_mentions=params.viral_mentions, window_hours=params.viral_window_hours),
        params,
    )
    checks = [check_forecast("model", probs, outcomes)]
    if calibration is not None and calibration.matches(params):
        cal = np.array([calibration.apply(float(p)) for p in probs])
        checks.append(check_forecast("calibrated", cal, outcomes))
    return checks


def fit_forecast_calibration(
    params: ViralityParams, seeds: Sequence[int] = (1, 2, 3), n_issues: int = 150
) -> Calibration:
    """Isotonic calibration of P(viral) fitted on simulated issues of ``seeds`` (keep the evaluation seed out)."""
    from classifiers.simulate import simulate_issues

    ps: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for seed in seeds:
        p, y = forecast_samples(
            simulate_issues(
                seed, n_issues, viral_mentions=params.viral_mentions, window_hours=params.viral_window_hours
            ),
            params,
        )
        ps.append(p)
        ys.append(y)
    note = f"isotonic, simulated issues, seeds {', '.join(str(s) for s in seeds)} x {n_issues}"
    return fit_isotonic(np.concatenate(ps), np.concatenate(ys), params, note=note)


def render_forecast(checks: Sequence[ForecastCheck], params: ViralityParams, seed: int) -> str:
    """Markdown: Brier and ECE per forecast, and their reliability tables."""
    lines = [
        f"### Forecast: P(viral within {params.horizon_hours:g} h), simulated issues (seed {seed})",
        "",
        "| forecast | samples | base rate | Brier | ECE (target ≤ 0.05) |",
        "|---|---|---|---|---|",
    ]
    for c in checks:
        ok = "met" if c.ece <= 0.05 else "missed"
        lines.append(f"| {c.name} | {c.samples} | {c.base_rate:.3f} | {c.brier:.4f} | {c.ece:.4f} ({ok}) |")
    for c in checks:
        lines += ["", *render_reliability(c.table, f"Reliability: {c.name}")]
    return "\n".join(lines)
