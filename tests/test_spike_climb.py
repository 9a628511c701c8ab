"""The detector's multi-horizon climb: earlier on a steady climb, no alarm of its own on a dump or stalled burst."""

from __future__ import annotations

import dataclasses

import numpy as np

from classifiers.spike import DetectorSettings, run_detector
from classifiers.virality import ViralityParams

PARAMS = ViralityParams(rhythm_prior=0.0)  # a flat day: the test is about the climb, not the rhythm
ON = PARAMS.detector_settings()
OFF = dataclasses.replace(ON, climb_ratio=0.0)
DAYS = 3
BINS = DAYS * 288


def series(rate: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(rate).astype(float)


def onsets(values: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    slots = np.zeros(len(values), dtype=np.int64)
    return np.nonzero(run_detector(values[None, :], slots, settings).onset[0])[0]


START = 2 * 288
T = np.arange(BINS) - START
BASE = 1.0  # posts per 5-minute bin


def test_a_steady_climb_alerts_earlier_with_the_climb() -> None:
    # Doubling every 100 minutes from a third of the normal rate, for ten hours.
    climb = BASE + np.where((T >= 0) & (T < 120), (BASE / 3.0) * 2.0 ** (T / 20.0), 0.0)
    gains = []
    for seed in range(4, 10):
        values = series(climb, seed)
        on, off = onsets(values, ON), onsets(values, OFF)
        assert on.size and off.size and on[0] >= START
        gains.append(int(off[0] - on[0]))
    assert min(gains) >= 0  # never later
    assert max(gains) >= 2  # ten minutes or more earlier on some


def test_a_dump_or_a_stalled_burst_gets_no_alarm_from_it() -> None:
    dump = np.full(BINS, BASE)
    dump[START : START + 2] += 40.0  # a bot's two bins: capped in every window sum
    # Up to 3x the normal rate within an hour, then fading: a stalled burst.
    stalled = BASE + BASE * np.where(T >= 0, np.where(T < 12, 2.0 * T / 12.0, 2.0 * np.exp(-(T - 12) / 24.0)), 0.0)
    for seed in range(4, 10):
        for rate in (dump, stalled):
            values = series(rate, seed)
            assert np.array_equal(onsets(values, ON), onsets(values, OFF))
