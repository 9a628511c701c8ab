"""The virality forecast on synthetic series with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifiers.forecast import GrowthFit, first_crossing, fit_growth, forecast

TAU = np.arange(1, 97) * 0.25  # 24 hours ahead in quarter hours


@pytest.mark.parametrize("growth", [-0.3, 0.0, 0.4, 0.9])
def test_fit_recovers_a_known_growth_rate(growth: float) -> None:
    # Expected (not random) quarter-hour counts of a rate 20·exp(g·t) posts/hour over the last 6 hours.
    t = np.arange(-23, 1) * 0.25
    counts = 20.0 * np.exp(growth * t) * 0.25
    fit = fit_growth(counts, 0.25)
    assert fit.growth == pytest.approx(growth, abs=0.03)
    assert fit.rate == pytest.approx(20.0, rel=0.05)
    assert fit.growth_se < 0.3


def test_fit_on_one_post_is_flat_and_uncertain() -> None:
    counts = np.zeros(24)
    counts[-1] = 1.0
    fit = fit_growth(counts, 0.25)
    assert fit.growth_se > 1.0
    assert fit_growth(np.zeros(24), 0.25) == GrowthFit(rate=0.0, growth=0.0, growth_se=1.0)


def test_first_crossing_matches_the_closed_form_without_damping() -> None:
    # Rate 10/h growing at g = ln 2 per hour: cumulative N(τ) = 10/g·(2^τ − 1); reaches 150 at τ = log2(1 + 15g).
    g = math.log(2.0)
    tau = np.arange(1, 2001) * 0.005
    hit = first_crossing(10.0, g, tau, 0.0, np.zeros_like(tau), 150.0, damping_hours=1e9)
    assert hit == pytest.approx(math.log2(1.0 + 15.0 * g), abs=0.02)


def _fc(fit: GrowthFit, window_now: float = 10.0) -> float:
    return forecast(
        fit,
        window_now=window_now,
        leaving=np.zeros_like(TAU),
        tau=TAU,
        viral_count=60.0,
        engagement_now=100.0,
        engagement_rate=10.0,
        viral_engagement=5000.0,
        damping_hours=12.0,
        prior_growth_sd=0.7,
    ).p_viral


def test_probability_orders_growing_flat_and_dying_issues() -> None:
    growing = _fc(GrowthFit(rate=4.0, growth=0.5, growth_se=0.1))
    flat = _fc(GrowthFit(rate=1.0, growth=0.0, growth_se=0.1))
    dying = _fc(GrowthFit(rate=1.0, growth=-0.5, growth_se=0.1))
    assert growing > 0.9
    assert flat < 0.3
    assert dying < 0.01
    # More certainty about a flat issue means less chance of a surprise.
    assert _fc(GrowthFit(rate=1.0, growth=0.0, growth_se=0.02)) < flat


def test_already_viral_is_certain_and_eta_is_consistent() -> None:
    assert _fc(GrowthFit(rate=0.0, growth=0.0, growth_se=1.0), window_now=60.0) == 1.0
    fit = GrowthFit(rate=6.0, growth=0.3, growth_se=0.05)
    result = forecast(
        fit,
        window_now=10.0,
        leaving=np.zeros_like(TAU),
        tau=TAU,
        viral_count=60.0,
        engagement_now=0.0,
        engagement_rate=0.0,
        viral_engagement=1e9,
        damping_hours=12.0,
        prior_growth_sd=100.0,
    )
    assert result.eta_minutes is not None
    hours = result.eta_minutes / 60
    # The expected path reaches 50 more posts at the ETA, not a quarter hour earlier.
    assert first_crossing(6.0, 0.3, TAU, 10.0, np.zeros_like(TAU), 60.0, 12.0) == pytest.approx(hours)
    assert result.needed_growth < fit.growth
    assert result.p_viral > 0.5
