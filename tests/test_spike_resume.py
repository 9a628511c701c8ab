"""Resuming the spike detector: a run continued from its state, and the per-issue memo, give a whole run's answers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from classifiers import spike
from classifiers.virality import ViralityParams, assess
from tests.virality_support import START, detector_workload, road_events

FIELDS = ("expected", "score", "alarm", "onset")


def test_a_run_continued_from_its_state_gives_the_whole_runs_answers() -> None:
    values, slots, settings = detector_workload()
    whole = spike.run_detector(values, slots, settings)
    assert whole.onset.sum() >= 8, "the workload should alert often enough to compare episodes"
    # Cuts inside episodes, at day and hour boundaries and one bin apart.
    cuts = [1, 2, 288 * 2 + 101, 288 * 2 + 105, 288 * 3, 288 * 4 + 44, 650, 700, values.shape[1]]
    cuts = sorted(set(cuts))
    state = None
    parts = []
    start = 0
    for cut in cuts:
        out, state = spike.detector_step(values[:, start:cut], slots[start:cut], settings, state)
        parts.append(out)
        start = cut
    assert state is not None and state.bins == values.shape[1]
    for name in FIELDS:
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in parts], axis=1), getattr(whole, name))


def test_a_state_cannot_continue_under_other_settings() -> None:
    values, slots, settings = detector_workload()
    _, state = spike.detector_step(values[:, :100], slots[:100], settings)
    with pytest.raises(ValueError):
        spike.detector_step(values[:, 100:200], slots[100:200], spike.DetectorSettings(), state)


def _tail(values: np.ndarray, slots: np.ndarray, settings: spike.DetectorSettings, tail: int) -> spike.DetectorOutput:
    out = spike.run_detector(values[None, :], slots, settings)
    return spike.DetectorOutput(**{name: getattr(out, name)[:, -tail:] for name in FIELDS})


def _assert_same(a: spike.DetectorOutput, b: spike.DetectorOutput) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_the_memo_runs_only_new_bins_and_answers_as_a_whole_run() -> None:
    values, slots, settings = detector_workload()
    series = values[2]
    memo = spike.DetectorMemo()
    for end in (300, 302, 302, 650, 700, 701, len(series)):
        _assert_same(
            memo.run("issue", series[:end], slots[:end], settings, tail=12),
            _tail(series[:end], slots[:end], settings, 12),
        )
    assert (memo.full, memo.resumed) == (1, 6)


def test_the_memo_reruns_a_series_whose_earlier_bins_changed() -> None:
    values, slots, settings = detector_workload()
    series = values[2].copy()
    end = 700  # inside the climb: the last hour's answers depend on every bin of it
    memo = spike.DetectorMemo()
    before = memo.run("issue", series[:end], slots[:end], settings, tail=12)
    # A post that arrives late, in the current bin or in an earlier one: same length, other values.
    for changed in (end - 1, end - 30):
        series[changed] += 25.0
        after = memo.run("issue", series[:end], slots[:end], settings, tail=12)
        fresh = _tail(series[:end], slots[:end], settings, 12)
        _assert_same(after, fresh)
        assert not np.array_equal(after.score, before.score), "the change should move the answer"
        before = after
    # A shifted bin grid (other slots) and other settings are not resumed either.
    shifted = np.roll(slots[:end], 1)
    _assert_same(
        memo.run("issue", series[:end], shifted, settings, tail=12), _tail(series[:end], shifted, settings, 12)
    )
    other = spike.DetectorSettings(spike_threshold=3.0)
    _assert_same(memo.run("issue", series[:end], shifted, other, tail=12), _tail(series[:end], shifted, other, 12))
    assert (memo.full, memo.resumed) == (5, 0)


def test_the_memo_keeps_its_newest_keys_only() -> None:
    values, slots, settings = detector_workload()
    memo = spike.DetectorMemo(capacity=2)
    for key in ("a", "b", "a", "c"):
        memo.run(key, values[0, :50], slots[:50], settings, tail=12)
    assert len(memo) == 2
    memo.run("b", values[0, :50], slots[:50], settings, tail=12)  # dropped as the least recently used
    assert (memo.full, memo.resumed) == (4, 1)


def test_assess_with_a_memo_answers_as_without_one() -> None:
    params = ViralityParams()
    events = road_events()
    memo = spike.DetectorMemo()
    stage = with_memo = "baru"
    for step in range(6 * 6, 48 * 6, 7):  # every 70 minutes over two days: the series grows and the buzzer flags move
        now = START + timedelta(minutes=10 * step)
        plain = assess(events, [], now, params, previous_stage=stage)
        memoised = assess(events, [], now, params, previous_stage=with_memo, memo=memo, key=1)
        assert memoised == plain
        stage, with_memo = plain.stage, memoised.stage
    assert memo.resumed > 0


def test_a_late_post_in_the_settling_bins_resumes_from_before_them() -> None:
    values, slots, settings = detector_workload()
    series = values[2].copy()
    end = 700
    memo = spike.DetectorMemo()
    memo.run("issue", series[:end], slots[:end], settings, tail=12, settling=24)
    series[end - 5] += 25.0  # written 25 minutes ago, collected now
    end += 2
    _assert_same(
        memo.run("issue", series[:end], slots[:end], settings, tail=12, settling=24),
        _tail(series[:end], slots[:end], settings, 12),
    )
    series[end - 100] += 25.0  # older than the settling bins: no checkpoint holds
    _assert_same(
        memo.run("issue", series[:end], slots[:end], settings, tail=12, settling=24),
        _tail(series[:end], slots[:end], settings, 12),
    )
    assert (memo.full, memo.resumed) == (2, 1)


def test_series_that_start_empty_share_that_start_and_answer_as_run_alone() -> None:
    params = ViralityParams().model_copy(update={"bin_minutes": 60})  # the topic × kecamatan scan's bins
    settings = params.detector_settings()
    rng = np.random.default_rng(7)
    n_bins = 14 * 24
    values = rng.poisson(1.5, size=(6, n_bins)).astype(float)
    values[2:5, 200:240] += 12.0  # a surge after their empty start
    for row, start in enumerate((0, 150, 150, 200, 300, n_bins)):  # the last one never has a post
        values[row, :start] = 0.0
    values[3, :100] = np.nan  # read as empty bins, as the kernel reads them
    values[4, :50] = -1.0
    slots = params.calendar().regular_slots(START, n_bins, 60)
    shared = spike.run_detector(values, slots, settings)
    assert shared.onset[2:5].any(), "the surges should alert"
    for row in range(values.shape[0]):
        alone = spike.run_detector(values[row : row + 1], slots, settings)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(shared, name)[row], getattr(alone, name)[0])
