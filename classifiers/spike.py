"""Streaming spike detector for count series: one implementation for every caller.

The per-issue assessment, the topic × kecamatan scan, ``oki-monitor detect``
and the evaluations all run :func:`run_detector`. It is causal: the output at
bin t depends only on bins up to t, so re-running it on a growing series gives
the same past answers as running it live.

Model, per series:

* expected count = level × seasonal factor of the slot (day type × WIB hour,
  see :mod:`classifiers.calendar_id`). The level is an exponentially weighted
  mean of de-seasonalised counts; slot factors start from the Indonesian prior
  and are learned only as fast as the counts can show a rhythm.
* surprise in windows of 1 bin, a quarter hour and an hour: the Anscombe
  (square-root) difference between observed and expected sums, so 0-2 posts a
  day never look like an explosion, divided by a per-window spread learned from
  the series' own quiet-time residuals (over-dispersion and autocorrelation
  differ a lot between a village's complaints and a national hashtag), plus a
  relative baseline error so a large, noisy series needs a relative jump.
* an absolute floor: the last hour must exceed its expectation by
  ``min_excess`` posts, so one extra post never alerts.
* growth: consecutive rising hours add to the score, so an accelerating climb
  alerts earlier than a plateau of the same height.
* episodes with hysteresis: the alarm starts at ``spike_threshold`` and ends
  after ``release_bins`` bins below ``spike_release``; one onset per episode.
  During an episode the baseline is frozen so a rising issue is not absorbed
  into its own baseline; an excess that stays flat for ``rebase_after_bins``
  is a new normal: the level jumps to it and the episode closes.

The loop is compiled with numba when it is installed (about 50 ns per point);
without numba the same Python code runs, only slower.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from classifiers.calendar_id import SLOTS, rhythm_prior

F = TypeVar("F", bound=Callable[..., Any])

try:  # numba is an accelerator, not a requirement: the decorated code is plain Python.
    from numba import njit as _njit

    def _compiled(fn: F) -> F:
        return _njit(cache=True, nogil=True)(fn)  # type: ignore[no-any-return]

except ImportError:  # pragma: no cover - exercised only where numba is missing

    def _compiled(fn: F) -> F:
        return fn


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """The numeric knobs of the detector, in bins and counts (built from ``ViralityParams``)."""

    bin_minutes: int = 5
    level_half_life_bins: float = 288.0
    season_days: float = 7.0
    relative_error: float = 0.15
    spike_threshold: float = 4.0
    spike_release: float = 1.5
    release_bins: int = 6
    min_excess: float = 4.0
    growth_weight: float = 0.5
    rebase_after_bins: int = 72
    warmup_bins: int = 288
    use_prior: bool = True
    initial_level: float | None = None
    """Per-bin starting level; None learns it during ``warmup_bins`` (no alerts meanwhile)."""

    @property
    def hour_bins(self) -> int:
        """Bins per hour (at least one)."""
        return max(1, round(60 / self.bin_minutes))


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    """Per-bin results for ``n`` series × ``T`` bins."""

    expected: np.ndarray
    score: np.ndarray
    alarm: np.ndarray
    onset: np.ndarray


@_compiled
def _run(
    values: np.ndarray,
    slots: np.ndarray,
    prior: np.ndarray,
    knobs: np.ndarray,
    expected_out: np.ndarray,
    score_out: np.ndarray,
    alarm_out: np.ndarray,
    onset_out: np.ndarray,
) -> None:
    n, t_len = values.shape
    h = int(knobs[0])
    alpha = knobs[1]
    beta = knobs[2]
    rel = knobs[3]
    on_thr = knobs[4]
    off_thr = knobs[5]
    release = int(knobs[6])
    min_excess = knobs[7]
    growth_w = knobs[8]
    rebase_after = int(knobs[9])
    warmup = int(knobs[10])
    init_level = knobs[11]
    q = max(1, h // 4)
    n_slots = prior.shape[0]
    ring = h + 1
    for i in range(n):
        season = prior.copy()
        known = not math.isnan(init_level)
        level = init_level if known else 0.0
        seen = warmup if known else 0
        xs = np.zeros(ring)
        ms = np.zeros(ring)
        cal = np.ones(3)
        pos = 0
        in_alarm = False
        quiet = 0
        age = 0
        rising = 0.0
        last_hour = 0.0
        hours = np.zeros(3)
        for t in range(t_len):
            x = values[i, t]
            if not (x > 0.0):  # negatives and NaN count as nothing
                x = 0.0
            slot = slots[t] % n_slots
            sv = season[slot]
            exp_t = level * sv
            pos = (pos + 1) % ring
            xs[pos] = x
            ms[pos] = exp_t
            warming = seen < warmup
            # Window sums: 1 bin, a quarter hour, an hour.
            x1 = x
            m1 = exp_t
            xq = 0.0
            mq = 0.0
            xh = 0.0
            mh = 0.0
            for k in range(h):
                j = (pos - k) % ring
                xh += xs[j]
                mh += ms[j]
                if k < q:
                    xq += xs[j]
                    mq += ms[j]
            za = 2.0 * (math.sqrt(x1 + 0.375) - math.sqrt(m1 + 0.375))
            zb = 2.0 * (math.sqrt(xq + 0.375) - math.sqrt(mq + 0.375))
            zc = 2.0 * (math.sqrt(xh + 0.375) - math.sqrt(mh + 0.375))
            za_n = za / math.sqrt(cal[0] + rel * rel * m1)
            zb_n = zb / math.sqrt(cal[1] + rel * rel * mq)
            zc_n = zc / math.sqrt(cal[2] + rel * rel * mh)
            z = max(za_n, zb_n, zc_n)
            if t % h == 0:
                if xh > last_hour * 1.15 and xh > mh:
                    rising = min(rising + 1.0, 4.0)
                else:
                    rising = 0.0
                last_hour = xh
                hours[(t // h) % 3] = xh
            score = 0.0
            if not warming and xh - mh >= min_excess:
                score = z
                if z > 1.0:
                    score += growth_w * rising
                score = max(score, 0.0)
            onset = (not in_alarm) and score >= on_thr
            if in_alarm:
                if score < off_thr:
                    quiet += 1
                else:
                    quiet = 0
                if quiet >= release:
                    in_alarm = False
                    quiet = 0
            if onset:
                in_alarm = True
                quiet = 0
                age = 0
            if in_alarm:
                age += 1
                flat = hours.max() <= 1.3 * hours.min() + 2.0
                if age >= rebase_after and rising == 0.0 and flat:
                    # A flat excess this long is the new normal.
                    if mh > 0.0:
                        level = max(level, level * xh / mh)
                    else:
                        level = max(level, xh / h)
                    in_alarm = False
                    age = 0
            expected_out[i, t] = exp_t
            score_out[i, t] = score
            alarm_out[i, t] = in_alarm
            onset_out[i, t] = onset

            # Learn, winsorised; frozen while an episode is open.
            if in_alarm:
                seen += 1
                continue
            sd = math.sqrt(exp_t + (rel * exp_t) ** 2)
            cap = exp_t + max(3.0 * sd, 2.0)
            xc = x if warming else min(x, cap)
            target = xc / max(sv, 1e-3)
            if seen == 0:
                level = target
            elif warming:
                level += (target - level) / (seen + 1.0)
            else:
                level += alpha * (target - level)
            if not warming:
                lvl = max(level, 1e-9)
                evidence = lvl / (lvl + 0.5)
                ratio = min(max(xc / lvl, 0.0), 4.0)
                sv_new = sv + beta * evidence * (ratio - sv)
                season[slot] = min(max(sv_new, 0.1), 4.0)
                # Calibrate each window's spread on quiet-time residuals (clipped so bursts don't leak in).
                a_cal = 4.0 * alpha
                cal[0] += a_cal * (min(za * za, 25.0 * cal[0]) - cal[0])
                cal[1] += a_cal * (min(zb * zb, 25.0 * cal[1]) - cal[1])
                cal[2] += a_cal * (min(zc * zc, 25.0 * cal[2]) - cal[2])
                for k in range(3):
                    cal[k] = min(max(cal[k], 1.0), 400.0)
            seen += 1


def run_detector(values: np.ndarray, slots: np.ndarray, settings: DetectorSettings) -> DetectorOutput:
    """Run the detector over ``values`` (n series × T bins) whose bins fall in ``slots`` (length T)."""
    values = np.ascontiguousarray(np.atleast_2d(np.asarray(values, dtype=np.float64)))
    n, t_len = values.shape
    s = settings
    h = s.hour_bins
    knobs = np.array(
        [
            h,
            1.0 - 0.5 ** (1.0 / max(s.level_half_life_bins, 1.0)),
            1.0 / max(s.season_days * h, 1.0),
            s.relative_error,
            s.spike_threshold,
            s.spike_release,
            s.release_bins,
            s.min_excess,
            s.growth_weight,
            s.rebase_after_bins,
            s.warmup_bins,
            math.nan if s.initial_level is None else s.initial_level,
        ],
        dtype=np.float64,
    )
    prior = rhythm_prior() if s.use_prior else np.ones(SLOTS)
    expected = np.empty((n, t_len))
    score = np.empty((n, t_len))
    alarm = np.empty((n, t_len), dtype=np.bool_)
    onset = np.empty((n, t_len), dtype=np.bool_)
    _run(values, np.ascontiguousarray(slots, dtype=np.int64), prior, knobs, expected, score, alarm, onset)
    return DetectorOutput(expected=expected, score=score, alarm=alarm, onset=onset)
