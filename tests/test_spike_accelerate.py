"""The numba-compiled detector and the plain Python one must give the same answers."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import spike
from tests.virality_support import detector_workload


def test_compiled_and_plain_python_detectors_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba")
    values, slots, settings = detector_workload(n_series=8)
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
