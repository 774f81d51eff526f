"""The scikit-learn discretised-regression grid beside ``mi bench --suite real-continuous``."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.bench.continuous_grid import BINS, GRID, MIX, best_of, bin_values, grid_by_bins, grid_readings
from predgen_common.errors import UserError


def _gaussian_channel(n: int, d: int, noise_share: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``Y = Z w + noise``, ``Z`` standard normal ``(n, d)``; the truth is the Gaussian channel's capacity."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    signal = z @ rng.standard_normal(d)
    noise_sd = noise_share * signal.std()
    y = signal + noise_sd * rng.standard_normal(n)
    return z, y, 0.5 * np.log(1 + signal.var() / noise_sd ** 2)


def test_the_best_of_grid_comes_close_below_the_truth_on_a_linear_gaussian_channel():
    z, y, truth = _gaussian_channel(2_000, 6, 0.6, seed=0)
    readings = grid_readings(z, y, seed=0)
    assert set(readings) == set(GRID)
    best = max(readings.values())
    # a lower bound up to noise (the best of 18 readings, chosen on the scores)
    assert 0.85 * truth <= best <= truth + 0.02


def test_a_target_independent_of_the_features_reads_about_zero():
    rng = np.random.default_rng(1)   # the held-out Miller-Madow marginal: no (B - 1) / (2 n_fit) offset
    readings = grid_readings(rng.standard_normal((300, 6)), rng.standard_normal(300), seed=0)
    assert all(abs(v) < 0.03 for v in readings.values())


def test_token_windows_are_flattened_and_read_like_the_flat_array():
    z, y, _ = _gaussian_channel(300, 12, 0.6, seed=2)
    windows = z.reshape(300, 3, 4)
    by_bins = grid_by_bins(windows, y, seed=0)
    assert set(by_bins) == set(GRID) and all(set(v) == set(BINS) for v in by_bins.values())
    flat = grid_by_bins(z, y, seed=0)
    assert all(by_bins[k] == pytest.approx(flat[k]) for k in GRID)
    name, bins, mi = best_of(by_bins)
    assert mi == by_bins[name][bins] == max(grid_readings(windows, y, seed=0).values()) and mi > 0.3


def test_a_perfect_prediction_scores_the_held_out_bin_entropy_and_a_wrong_one_stays_finite():
    y_fit = np.arange(1_000.0)
    y_held = np.array([10.0, 500.0, 990.0])   # three held-out rows in three bins: H_MM = log 3 + (3 - 1) / 6
    h_mm = np.log(3) + 1 / 3
    exact = bin_values(y_held, 1e-6, y_fit, y_held, 8)
    assert exact == pytest.approx(np.full(3, np.log(1 - MIX + MIX / 8) + h_mm), abs=1e-6)   # p_fit = 1/8
    wrong = bin_values(y_held[::-1], 1e-6, y_fit, y_held, 8)
    assert np.all(np.isfinite(wrong)) and wrong[0] == pytest.approx(np.log(MIX / 8) + h_mm)   # the mixture's floor


def test_bad_input_is_refused_in_one_line():
    with pytest.raises(UserError, match="one row each"):
        grid_readings(np.zeros((10, 2)), np.zeros(9), seed=0)
    with pytest.raises(UserError, match="at least 10 rows"):
        grid_readings(np.zeros((6, 2)), np.zeros(6), seed=0)
