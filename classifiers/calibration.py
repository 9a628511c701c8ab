"""Is "peluang viral 70%" right 70% of the time? Reliability, Brier score, ECE and an isotonic recalibration.

The forecast of :mod:`classifiers.forecast` is a model's probability; officials read it as a promise.
Here it is checked against outcomes (did the issue reach the viral level within the horizon?) and
mapped onto observed frequencies by isotonic regression (pool adjacent violators), fitted on
simulated issues (:func:`classifiers.simulate.simulate_issues`) and stored as a small JSON file
next to the classifier data. Everything is pure except :func:`load_calibration` and
:meth:`Calibration.save`, which read and write that file.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


class ViralLevel(Protocol):
    """What a calibration is fitted for: the viral level and the forecast horizon (``ViralityParams`` has them)."""

    @property
    def horizon_hours(self) -> float: ...

    @property
    def viral_mentions(self) -> int: ...

    @property
    def viral_window_hours(self) -> float: ...


DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "virality_calibration.json"
"""The calibration shipped with the project (fitted by ``oki-monitor eval-detect --fit-calibration``)."""


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One row of a reliability table: forecasts in [lo, hi), how many, their mean and the observed rate."""

    lo: float
    hi: float
    count: int
    mean_p: float
    observed: float


def _arrays(p: Sequence[float] | np.ndarray, y: Sequence[bool] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pa = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    ya = np.asarray(y, dtype=float)
    if pa.shape != ya.shape:
        raise ValueError(f"{pa.size} forecasts but {ya.size} outcomes")
    return pa, ya


def reliability_table(
    p: Sequence[float] | np.ndarray, y: Sequence[bool] | np.ndarray, bins: int = 10
) -> list[ReliabilityBin]:
    """Forecasts grouped in ``bins`` equal-width bins (the last one includes 1.0); empty bins are left out."""
    pa, ya = _arrays(p, y)
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        if n:
            rows.append(ReliabilityBin(b / bins, (b + 1) / bins, n, float(pa[sel].mean()), float(ya[sel].mean())))
    return rows


def brier_score(p: Sequence[float] | np.ndarray, y: Sequence[bool] | np.ndarray) -> float:
    """Mean squared difference between forecast and outcome (0 perfect; 0.25 for always saying 50%)."""
    pa, ya = _arrays(p, y)
    return float(np.mean((pa - ya) ** 2)) if pa.size else math.nan


def expected_calibration_error(
    p: Sequence[float] | np.ndarray, y: Sequence[bool] | np.ndarray, bins: int = 10
) -> float:
    """Count-weighted mean |mean forecast − observed rate| over the reliability table's bins."""
    pa, _ = _arrays(p, y)
    if not pa.size:
        return math.nan
    return float(sum(r.count * abs(r.mean_p - r.observed) for r in reliability_table(p, y, bins)) / pa.size)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A monotone map from the model's P(viral) to an observed frequency, for one viral level and horizon."""

    x: tuple[float, ...]
    """raw probabilities (increasing) ..."""
    y: tuple[float, ...]
    """... and the calibrated probability at each; linear in between, flat outside"""
    horizon_hours: float
    viral_mentions: int
    viral_window_hours: float
    samples: int = 0
    note: str = ""

    def apply(self, p: float) -> float:
        """The calibrated probability of a raw one."""
        if not self.x:
            return float(p)
        return float(np.interp(p, self.x, self.y))

    def matches(self, params: ViralLevel) -> bool:
        """Whether it was fitted for these parameters' viral level and horizon (otherwise it does not apply)."""
        return (
            self.horizon_hours == params.horizon_hours
            and self.viral_mentions == params.viral_mentions
            and self.viral_window_hours == params.viral_window_hours
        )

    def to_json(self) -> str:
        """The stored form."""
        data = asdict(self)
        data["x"] = [round(v, 6) for v in self.x]
        data["y"] = [round(v, 6) for v in self.y]
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        """Parse the stored form; ValueError on anything malformed."""
        try:
            data = json.loads(text)
            x = tuple(float(v) for v in data["x"])
            y = tuple(float(v) for v in data["y"])
            cal = cls(
                x=x,
                y=y,
                horizon_hours=float(data["horizon_hours"]),
                viral_mentions=int(data["viral_mentions"]),
                viral_window_hours=float(data["viral_window_hours"]),
                samples=int(data.get("samples", 0)),
                note=str(data.get("note", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"calibration file is malformed: {exc}") from exc
        if len(x) != len(y) or any(b < a for a, b in itertools.pairwise(x)):
            raise ValueError("calibration file is malformed: x must increase and match y in length")
        if any(not 0.0 <= v <= 1.0 for v in (*x, *y)):
            raise ValueError("calibration file is malformed: probabilities must lie in 0..1")
        return cal

    def save(self, path: Path) -> None:
        """Write the JSON file."""
        path.write_text(self.to_json(), encoding="utf-8")


def load_calibration(path: Path = DEFAULT_PATH) -> Calibration | None:
    """The stored calibration, or None when the file is missing (then no probability is called calibrated)."""
    if not path.exists():
        return None
    return Calibration.from_json(path.read_text(encoding="utf-8"))


def fit_isotonic(
    p: Sequence[float] | np.ndarray,
    y: Sequence[bool] | np.ndarray,
    params: ViralLevel,
    min_block: int = 50,
    note: str = "",
) -> Calibration:
    """Isotonic regression of outcomes on forecasts (pool adjacent violators).

    Each block of pooled forecasts becomes one point (its mean forecast, its observed rate); blocks
    smaller than ``min_block`` are pooled with a neighbour, so a handful of samples never makes a step.
    """
    pa, ya = _arrays(p, y)
    if not pa.size:
        raise ValueError("no samples to fit a calibration on")
    order = np.argsort(pa, kind="stable")
    xs, ys = pa[order], ya[order]
    # Start from blocks of equal forecasts, then pool violators.
    blocks: list[list[float]] = []  # [sum_p, sum_y, n]
    for xv, yv in zip(xs.tolist(), ys.tolist(), strict=True):
        if blocks and blocks[-1][0] / blocks[-1][2] == xv:
            blocks[-1][0] += xv
            blocks[-1][1] += yv
            blocks[-1][2] += 1
        else:
            blocks.append([xv, yv, 1.0])

    # Pool adjacent violators: merge while a block's rate is not below the one before.
    pooled: list[list[float]] = []
    for b in blocks:
        pooled.append(list(b))
        while len(pooled) > 1 and pooled[-2][1] / pooled[-2][2] >= pooled[-1][1] / pooled[-1][2]:
            last = pooled.pop()
            pooled[-1] = [pooled[-1][0] + last[0], pooled[-1][1] + last[1], pooled[-1][2] + last[2]]
    # Then a block of fewer than `min_block` forecasts joins its smaller neighbour (still monotone).
    while len(pooled) > 1:
        small = [i for i, b in enumerate(pooled) if b[2] < min_block]
        if not small:
            break
        i = small[0]
        if i == 0:
            j = 1
        elif i == len(pooled) - 1:
            j = i - 1
        else:
            j = i - 1 if pooled[i - 1][2] <= pooled[i + 1][2] else i + 1
        keep, gone = min(i, j), max(i, j)
        pooled[keep] = [x + y for x, y in zip(pooled[keep], pooled[gone], strict=True)]
        del pooled[gone]
    blocks = pooled
    x = tuple(b[0] / b[2] for b in blocks)
    yv = tuple(b[1] / b[2] for b in blocks)
    return Calibration(
        x=x,
        y=yv,
        horizon_hours=params.horizon_hours,
        viral_mentions=params.viral_mentions,
        viral_window_hours=params.viral_window_hours,
        samples=int(pa.size),
        note=note,
    )


def render_reliability(rows: Sequence[ReliabilityBin], title: str) -> list[str]:
    """A Markdown reliability table."""
    lines = [f"#### {title}", "", "| forecast | samples | mean forecast | observed |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.lo:.1f}-{r.hi:.1f} | {r.count} | {r.mean_p:.3f} | {r.observed:.3f} |")
    return lines


__all__ = [
    "DEFAULT_PATH",
    "Calibration",
    "ReliabilityBin",
    "brier_score",
    "expected_calibration_error",
    "fit_isotonic",
    "load_calibration",
    "reliability_table",
    "render_reliability",
]
