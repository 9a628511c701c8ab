"""Virality forecast from early growth: will this issue reach the viral level, and when?

Two observations from the popularity-prediction literature shape it:

* early attention predicts later attention on a log scale (Szabo & Huberman
  2010: log final ≈ log early + constant, with roughly normal residuals);
* a cascade is self-exciting but its excitement fades (SEISMIC, Zhao et al.
  2015: each post triggers more with a memory kernel that decays over hours).

So the current posting rate is fitted with a log-linear (Poisson) trend over
the last hours, giving a growth rate g per hour and its standard error. The
rate is projected forward with growth that fades over ``damping_hours``
(the decaying kernel), and the viral criteria (posts in a rolling window,
total engagement) are checked along that path. Reaching the viral level is
monotone in g, so the probability is the chance that the true growth rate is
at least the rate that would be needed: one normal tail, no sampling, fully
deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MODEL_SD = 0.1
"""Growth-rate error of the damped exponential model itself (per hour)."""
RIDGE = 0.1
"""Weak pull of the growth rate towards zero (in Fisher-information units): matters only with a few posts."""


@dataclass(frozen=True, slots=True)
class GrowthFit:
    """Log-linear trend of a count series: rate now (per hour), growth per hour and its standard error."""

    rate: float
    growth: float
    growth_se: float
    centre: float = 0.0
    """Weighted centre of the data (hours before now, ≤ 0): where the fitted level is best known."""

    def rate_at_now(self, growth: float) -> float:
        """Rate now if the growth were ``growth``: anchored at the data's centre, not at its noisy end."""
        centre_rate = self.rate * math.exp(self.growth * self.centre)
        return centre_rate * math.exp(-growth * self.centre)


@dataclass(frozen=True, slots=True)
class Forecast:
    """Probability of reaching the viral level within the horizon and the expected minutes until then."""

    p_viral: float
    eta_minutes: float | None
    needed_growth: float
    growth_mean: float = 0.0
    """Posterior growth per hour (after shrinkage) and its standard deviation."""
    growth_sd: float = 0.0


def fit_growth(counts: np.ndarray, bin_hours: float, half_life_hours: float = 3.0) -> GrowthFit:
    """Fit ``log rate = a + g·t`` to the recent ``counts`` (oldest first), weighting recent bins more.

    Poisson regression by a few Newton steps; the last bin is t = 0 so ``rate``
    is the fitted rate now. With fewer than two posts the trend is flat and very
    uncertain, which the standard error says.
    """
    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n == 0 or y.sum() <= 0:
        return GrowthFit(rate=0.0, growth=0.0, growth_se=1.0)
    t = (np.arange(n) - (n - 1)) * bin_hours
    w = 0.5 ** (-t / half_life_hours)
    mean_rate = max((w * y).sum() / (w.sum() * bin_hours), 1e-6)
    a, g = math.log(mean_rate * bin_hours), 0.0
    info_gg = 1.0
    for _ in range(8):
        mu = np.exp(np.clip(a + g * t, -30, 30))
        r = y - mu
        grad_a, grad_g = (w * r).sum(), (w * r * t).sum()
        h_aa, h_ag, h_gg = (w * mu).sum(), (w * mu * t).sum(), (w * mu * t * t).sum()
        # A weak ridge on g keeps one or two posts from implying explosive growth.
        h_gg += RIDGE
        grad_g -= RIDGE * g
        det = h_aa * h_gg - h_ag * h_ag
        if det <= 1e-12:
            break
        da = (h_gg * grad_a - h_ag * grad_g) / det
        dg = (h_aa * grad_g - h_ag * grad_a) / det
        a += float(np.clip(da, -3, 3))
        g = float(np.clip(g + dg, -3.0, 3.0))
        info_gg = det / h_aa
        if abs(da) < 1e-6 and abs(dg) < 1e-6:
            break
    centre = float((w * t).sum() / w.sum())
    return GrowthFit(
        rate=math.exp(a) / bin_hours, growth=g, growth_se=1.0 / math.sqrt(max(info_gg, 1e-9)), centre=centre
    )


class _Grid:
    """What the projection reads of the ``tau`` grid alone: the same for every growth rate one forecast tries.

    A forecast bisects the growth rate it would take (two crossings per try, ~20 tries, every issue on every
    pass), and recomputing the decay and the trapezoid steps each time was about half of each projection.
    """

    __slots__ = ("decay", "steps", "tau")

    def __init__(self, tau: np.ndarray, damping_hours: float) -> None:
        self.tau = tau
        self.decay = 1.0 - np.exp(-tau / damping_hours)
        self.steps = np.diff(tau, prepend=0.0)


def _projected_on(rate: float, g: float, grid: _Grid, damping_hours: float) -> np.ndarray:
    """Expected cumulative count from now to each τ of ``grid`` (hours) at rate·exp(g·D·(1 − e^(−τ/D)))."""
    # Integrate numerically on the τ grid (trapezoid); the grid is fine enough at 15 minutes.
    growth = g * damping_hours * grid.decay
    # np.clip's dispatch costs more than the two ufuncs it amounts to here (same values, NaN included).
    lam = rate * np.exp(np.minimum(np.maximum(growth, -50.0), 50.0))
    mids = np.empty_like(lam)
    mids[:1] = rate
    mids[1:] = lam[:-1]
    return np.cumsum(0.5 * (lam + mids) * grid.steps)


def _projected(rate: float, g: float, tau: np.ndarray, damping_hours: float) -> np.ndarray:
    """Expected cumulative count from now to each ``tau`` (hours) at rate·exp(g·D·(1 − e^(−τ/D)))."""
    return _projected_on(rate, g, _Grid(tau, damping_hours), damping_hours)


def _crossing_on(
    rate: float, g: float, grid: _Grid, window_now: float, leaving: np.ndarray, threshold: float, damping_hours: float
) -> float | None:
    reached = window_now - leaving + _projected_on(rate, g, grid, damping_hours) >= threshold
    if not reached.size:
        return None
    first = int(reached.argmax())  # the first True, or 0 when there is none
    return float(grid.tau[first]) if reached[first] else None


def first_crossing(
    rate: float,
    g: float,
    tau: np.ndarray,
    window_now: float,
    leaving: np.ndarray,
    threshold: float,
    damping_hours: float,
) -> float | None:
    """Hours until ``window_now − leaving(τ) + projected(τ)`` first reaches ``threshold`` (None if not on the grid)."""
    return _crossing_on(rate, g, _Grid(tau, damping_hours), window_now, leaving, threshold, damping_hours)


def forecast(
    fit: GrowthFit,
    *,
    window_now: float,
    leaving: np.ndarray,
    tau: np.ndarray,
    viral_count: float,
    engagement_now: float,
    engagement_rate: float,
    viral_engagement: float,
    damping_hours: float,
    prior_growth_sd: float,
) -> Forecast:
    """Probability and ETA of crossing either viral criterion within the grid ``tau`` (hours ahead).

    ``window_now`` is the count in the rolling window now and ``leaving[i]`` how
    many of those will have left the window by ``tau[i]``. Engagement is taken
    to grow with the same fading growth as posts (new posts bring new engagement).
    """
    no_leave = np.zeros_like(tau)
    grid = _Grid(tau, damping_hours)

    def reaches(g: float) -> float | None:
        hits = [
            _crossing_on(fit.rate_at_now(g), g, grid, window_now, leaving, viral_count, damping_hours),
            _crossing_on(engagement_rate, g, grid, engagement_now, no_leave, viral_engagement, damping_hours),
        ]
        found = [h for h in hits if h is not None]
        return min(found) if found else None

    if window_now >= viral_count or engagement_now >= viral_engagement:
        return Forecast(p_viral=1.0, eta_minutes=None, needed_growth=-math.inf, growth_mean=fit.growth)
    # Posterior growth: the fit shrunk towards "not growing" by the spread of growth rates among
    # issues, so two posts five minutes apart do not make an explosion; plus a model error.
    prior_var = prior_growth_sd**2
    se2 = fit.growth_se**2
    mean = fit.growth * prior_var / (prior_var + se2) if prior_var > 0 else 0.0
    var = prior_var * se2 / (prior_var + se2) if prior_var > 0 else 0.0
    sd = math.sqrt(var + MODEL_SD**2)
    lo, hi = -3.0, 3.0
    if reaches(hi) is None:
        return Forecast(p_viral=0.0, eta_minutes=None, needed_growth=math.inf, growth_mean=mean, growth_sd=sd)
    if reaches(lo) is not None:
        needed = lo
    else:
        for _ in range(24):
            mid = 0.5 * (lo + hi)
            if reaches(mid) is None:
                lo = mid
            else:
                hi = mid
        needed = hi
    p = 0.5 * math.erfc((needed - mean) / (sd * math.sqrt(2.0)))
    eta = reaches(mean)
    return Forecast(
        p_viral=float(p),
        eta_minutes=None if eta is None else eta * 60.0,
        needed_growth=needed,
        growth_mean=mean,
        growth_sd=sd,
    )
