"""The numba-compiled detector and the plain Python one must give the same answers."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import spike
from classifiers.simulate import simulate
from classifiers.virality import ViralityParams


def test_compiled_and_plain_python_detectors_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba")
    params = ViralityParams()
    sims = simulate(seed=5, n_series=8, weeks=1.5)
    values = np.stack([s.values for s in sims])
    # Exercise every onset path: sudden bursts, repeats of them (routine memory) and a second wave.
    for day in (2, 3, 4, 5):
        values[0, day * 288 + 100] += 150.0
        values[1, day * 288 + 40 : day * 288 + 48] += 30.0
    values[2, 600:636] += 3.0
    values[2, 672:] += np.minimum(0.2 * np.exp(np.log(2) / 9 * np.arange(values.shape[1] - 672)), 40.0)
    slots = params.calendar().regular_slots(sims[0].start, values.shape[1], params.bin_minutes)
    settings = params.detector_settings()
    assert spike._accelerate()
    compiled = spike.run_detector(values, slots, settings)
    for name in spike._KERNELS:  # the Python functions the compiled kernels were built from
        monkeypatch.setattr(spike, name, getattr(spike, name).py_func)
    plain = spike.run_detector(values, slots, settings)
    assert compiled.onset.sum() >= 8, "the workload should alert often enough to compare episodes"
    np.testing.assert_array_equal(compiled.onset, plain.onset)
    np.testing.assert_array_equal(compiled.alarm, plain.alarm)
    np.testing.assert_allclose(compiled.score, plain.score, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(compiled.expected, plain.expected, rtol=1e-9, atol=1e-12)
