"""The continuous-target estimators: ``binned`` (a lower bound) and ``gaussian`` (an estimate).

Toy tasks with a known answer: a linear-Gaussian channel (closed form), the same channel seen
through a Cauchy warp of each target coordinate (MI unchanged, heavy tails), and independent data.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from predgen_common.errors import UserError

from mi_toolkit.api import estimate, estimate_many
from mi_toolkit.estimators import ESTIMATORS, NeuralConfig
from mi_toolkit.estimators.continuous import BinnedConfig, GaussianConfig, estimate_binned

# the regression reader alone and no critic beside the bound: the probe reader and the companion have their
# own tests (test_multitarget.py)
FAST = BinnedConfig(regressors=("ridge",), n_permutations=20, n_bootstrap=200, readers=("regression",),
                    companion=None)


def channel(n: int, d: int, k: int, mi_each: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``Y_j = rho w_j.Z + sqrt(1 - rho^2) eps_j`` with orthonormal ``w_j``: ``I = -k/2 log(1 - rho^2)``."""
    rng = np.random.default_rng(seed)
    rho = math.sqrt(1 - math.exp(-2 * mi_each))
    w = np.linalg.qr(np.random.default_rng(99).standard_normal((d, k)))[0].T
    z = rng.standard_normal((n, d))
    y = rho * z @ w.T + math.sqrt(1 - rho ** 2) * rng.standard_normal((n, k))
    return z, y, k * mi_each


def cauchy(y: np.ndarray) -> np.ndarray:
    """An invertible heavy-tailed warp of each coordinate (Gaussian CDF, then the Cauchy quantile)."""
    return np.tan(math.pi * (np.clip(ndtr(y), 1e-12, 1 - 1e-12) - 0.5))


def test_gaussian_channel_is_bounded_and_mostly_recovered():
    z, y, truth = channel(1500, 4, 1, 0.5, seed=0)
    res = estimate(z, y[:, 0], "binned")  # the shipped configuration, MLP candidate included
    assert res.mi < truth and res.ci_low < truth
    assert res.mi > 0.8 * truth
    assert res.detected and res.p_value < 0.05
    assert "lower bound" in res.interval_method and res.ceiling is not None and res.mi < res.ceiling


def test_heavy_tailed_targets_stay_below_the_truth_where_the_gaussian_does_not():
    z, y, truth = channel(1500, 6, 2, 0.1, seed=1)
    yc = cauchy(y)
    binned = estimate(z, yc, "binned", config=FAST)
    assert binned.ci_low <= truth and binned.mi <= truth + 0.02
    assert binned.mi > 0.5 * truth
    gauss = estimate(z, yc, "gaussian", config=GaussianConfig(n_permutations=20, n_bootstrap=200))
    assert "NOT A BOUND" in gauss.interval_method and "not a bound" in gauss.describe()
    assert abs(gauss.mi - truth) > 0.1  # the Gaussian reading is off by far more than the bound's slack


def test_independent_data_reads_near_zero_and_not_detected():
    rng = np.random.default_rng(2)
    res = estimate(rng.standard_normal((1000, 8)), rng.standard_normal(1000), "binned", config=FAST)
    assert abs(res.mi) <= 0.02
    assert not res.detected and "no information detected" in res.describe()


def test_tied_targets_use_the_bin_frequencies_not_a_uniform_prior():
    # 3 distinct values give 2 unequal bins (1/3, 2/3): a uniform null would read log 2 - H = -0.057
    rng = np.random.default_rng(7)
    res = estimate(rng.standard_normal((800, 5)), rng.integers(0, 3, 800).astype(float), "binned", config=FAST)
    assert abs(res.mi) <= 0.02 and not res.detected


def test_cross_fit_scores_every_example_once():
    z, y, _ = channel(400, 3, 1, 0.3, seed=3)
    res = estimate(z, y, "binned", config=FAST)
    assert res.pointwise.shape == (400,) and res.n_folds == 5 and res.n_eval == 400
    assert sorted(np.unique(res.fold_ids)) == [0, 1, 2, 3, 4]
    assert np.isclose(res.pointwise.mean(), res.mi)
    assert len(res.config["fold_choices"]) == 5 and res.candidates
    again = estimate(z, y, "binned", config=FAST)
    assert again.mi == res.mi and again.ci_low == res.ci_low  # deterministic for a seed


def test_explicit_held_out_set():
    z, y, truth = channel(700, 3, 1, 0.3, seed=4)
    res = estimate_many([(z[:500], y[:500])], "binned", config=FAST, test=[(z[500:], y[500:])])[0]
    assert res.n_eval == 200 and res.n_folds == 0 and (res.fold_ids == -1).all()
    assert res.n_fit == 500 and res.ci_low < truth


def test_a_held_out_set_with_a_shifted_target_reads_nothing():
    # independent z; the held-out targets sit higher than the fit targets (e.g. STS-B train vs dev)
    rng = np.random.default_rng(8)
    z, y = rng.standard_normal((900, 4)), rng.standard_normal(900)
    y[600:] += 0.8
    res = estimate_many([(z[:600], y[:600])], "binned", config=FAST, test=[(z[600:], y[600:])])[0]
    # the marginal term is the held-out labels' own entropy: a model fitted on the other pool cannot
    # gain from the shift (it can only lose, by its miscalibration), so nothing is detected
    assert not res.detected and res.ci_low <= 0


def test_a_shift_of_the_inputs_between_pools_is_not_read_as_information():
    """Lesson 8 of the notes: p(y|z) the same in both pools, I = 0.30 in both, only Z's mean moved in the
    evaluation pool. Scored against the fit pool's bin frequencies this read 0.53 and 0.79."""
    a = np.sqrt(np.exp(0.6) - 1)   # Y = a Z0 + e: I = 0.5 log(1 + a^2) = 0.30 nats

    def pool(n, mu, seed):
        r = np.random.default_rng(seed)
        z = r.normal(size=(n, 2))
        z[:, 0] += mu
        return z, a * z[:, 0] + r.normal(size=n)

    zf, yf = pool(2500, 0.0, 1)
    reads = [estimate_many([(zf, yf)], "binned", config=FAST, test=[pool(1500, shift, 2)])[0].mi
             for shift in (0.0, 1.0, 1.5)]
    assert max(reads) - min(reads) < 0.03, reads
    assert all(0.2 < r < 0.36 for r in reads), reads


def test_multivariate_target_is_bounded_and_gaussian_full_covariance():
    # correlated noise: a diagonal residual model would read -1/2 log(1 - r^2) too little
    rng = np.random.default_rng(5)
    z = rng.standard_normal((2000, 2))
    noise_cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    y = z + rng.multivariate_normal([0, 0], noise_cov, 2000)
    truth = 0.5 * math.log(np.linalg.det(np.eye(2) + noise_cov) / np.linalg.det(noise_cov))
    gauss = estimate(z, y, "gaussian", config=GaussianConfig(n_permutations=20, n_bootstrap=200))
    assert abs(gauss.mi - truth) < 0.06
    binned = estimate(z, y, "binned", config=FAST)
    assert 0.5 * truth < binned.mi < truth


def test_registry_and_default_reading():
    binned = ESTIMATORS.get("binned")
    assert binned.continuous_only and binned.nests and not binned.keeps_critic
    assert "not a bound" in ESTIMATORS.get("gaussian").summary


def test_a_discrete_target_passed_as_floats_is_read_as_classes_and_says_so():
    """Ties leave no quantiser more cells than the values: the discrete path reads it (a 0/1 float label that is a
    function of Z read 0.000 with ceiling 0 before)."""
    r = np.random.default_rng(0)
    z = r.standard_normal((600, 4))
    res = estimate_binned(z, (z[:, 0] > 0).astype(float), BinnedConfig(), seed=0)
    assert res.detected and abs(res.mi - np.log(2)) < 0.05 and res.is_bound
    assert any("2 distinct rows" in n for n in res.config["input_notes"])


@pytest.mark.parametrize("make, cfg, match", [
    (lambda r: (r.standard_normal((100, 3)), r.standard_normal(100)), BinnedConfig(bins=(16,)),
     "fewer than 12 per bin"),
    (lambda r: (r.standard_normal((40, 3)), r.standard_normal(40)), None, "too few examples"),
    (lambda r: (r.standard_normal((300, 3)), r.standard_normal((300, 4097))), None, "above the 4096 the continuous"),
    (lambda r: (r.standard_normal((300, 3)), r.integers(0, 2, 300)), None, "continuous targets"),
    (lambda r: (r.standard_normal((300, 3)), r.standard_normal(300)), NeuralConfig(), "does not belong"),
    (lambda r: (r.standard_normal((300, 3)), r.standard_normal(300)), BinnedConfig(target_maps=("log",)),
     "choose from gaussianised, standardised"),
])
def test_bad_input_is_one_line(make, cfg, match):
    z, y = make(np.random.default_rng(6))
    with pytest.raises(UserError, match=match) as err:
        estimate(z, y, "binned", config=cfg)
    assert "\n" not in str(err.value)
