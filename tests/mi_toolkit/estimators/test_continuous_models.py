"""The regressor candidates of ``binned``'s discretised regression (``continuous_models.REGRESSORS``)."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.api import estimate
from mi_toolkit.estimators.continuous import BinnedConfig, GaussianConfig
from mi_toolkit.estimators.continuous_models import REGRESSORS, fit_regressor, make_regressor
from predgen_common.errors import UserError


def test_the_raw_pca_candidates_apply_only_to_features_wider_than_their_pca():
    assert {"ridge", "mlp", "kernel", "pca2-kernel", "pca2-mlp", "pca8-mlp"} <= set(REGRESSORS.list())
    assert make_regressor("pca2-mlp", 0, 2, 100) is None and make_regressor("pca8-mlp", 0, 8, 100) is None
    assert make_regressor("pca2-kernel", 0, 2, 100) is None
    model = make_regressor("pca8-mlp", 0, 20, 400)
    assert model.steps[0][1].n_components == 8          # PCA of the raw features first, then the scaler
    x = np.random.default_rng(0).standard_normal((40, 2))
    assert fit_regressor("pca2-mlp", 0, x, x[:, 0]) is None


def test_the_gaussian_estimate_refuses_a_regressor_that_does_not_apply_in_one_line():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 3))
    with pytest.raises(UserError, match="does not apply to 3 features"):
        estimate(x, x[:, 0] + rng.standard_normal(200), "gaussian", config=GaussianConfig(regressor="pca8-mlp"))


def lm_like(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features with two high-variance directions among many unit-variance ones (as LM states have), and a
    target even in the top direction: ``|s1| + noise``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x[:, :2] *= 30.0
    y = np.abs(x[:, 0] / 30.0) + 0.3 * rng.standard_normal(n)
    return x, y


def test_a_raw_pca_reader_sees_an_even_function_of_the_top_direction_that_standardising_hides():
    x, y = lm_like(800, 60, 2)
    cfg = dict(readers=("regression",), companion=None, n_bootstrap=100, n_permutations=0)
    standardised = estimate(x, y, "binned", config=BinnedConfig(regressors=("ridge", "mlp"), **cfg), seed=0)
    raw = estimate(x, y, "binned", config=BinnedConfig(regressors=("ridge", "pca2-mlp"), **cfg), seed=0)
    assert "pca2-mlp" in raw.chosen and raw.mi > standardised.mi + 0.05, (raw.describe(), standardised.describe())


def test_kernel_ridge_fits_a_smooth_nonlinear_function_that_ridge_cannot():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1600, 3))
    y = np.column_stack([np.sin(2 * x[:, 0]), x[:, 1] ** 2]) + 0.2 * rng.standard_normal((1600, 2))
    r2 = {}
    for name in ("ridge", "kernel"):
        pred = fit_regressor(name, 0, x[:1200], y[:1200]).predict(x[1200:])
        r2[name] = 1 - ((y[1200:] - pred) ** 2).mean(0) / y[1200:].var(0)    # per target, held out
    assert (r2["kernel"] > 0.8).all() and (r2["ridge"] < 0.2).all(), r2


def test_token_states_are_also_read_one_position_at_a_time():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((400, 5, 16)).astype(np.float32)
    y = z[:, 2, 0] + 0.5 * rng.standard_normal(400)    # set by one position's state
    cfg = dict(readers=("regression",), regressors=("ridge",), companion=None, n_bootstrap=100, n_permutations=0)
    by_position = estimate(z, y, "binned", config=BinnedConfig(**cfg), seed=0)
    flattened = estimate(z, y, "binned", config=BinnedConfig(positions=0, **cfg), seed=0)
    assert "position 2" in by_position.chosen and by_position.mi > flattened.mi + 0.05, (
        by_position.describe(), flattened.describe())


def test_quad_ridge_reads_a_shared_scale_that_ridge_cannot():
    rng = np.random.default_rng(4)
    scale = np.exp(rng.standard_normal(1500))              # one scale per row, shared by X and Y
    x, y = scale[:, None] * rng.standard_normal((1500, 4)), scale * rng.standard_normal(1500)
    cfg = dict(readers=("regression",), companion=None, n_bootstrap=100, n_permutations=0)
    linear = estimate(x, np.abs(y), "binned", config=BinnedConfig(regressors=("ridge",), **cfg), seed=0)
    squares = estimate(x, np.abs(y), "binned", config=BinnedConfig(regressors=("ridge", "quad-ridge"), **cfg),
                       seed=0)
    assert "quad-ridge" in squares.chosen and squares.mi > linear.mi + 0.05, (squares.describe(), linear.describe())


def test_the_fast_setting_is_the_linear_regression_reader_without_an_estimate():
    fast = BinnedConfig.fast()
    assert fast.readers == ("regression",) and fast.companion is None and "quad-ridge" in fast.regressors
    x = np.random.default_rng(5).standard_normal((400, 3))
    res = estimate(x, x[:, 0] + 0.5 * x[:, 1] ** 2, "binned", config=fast, seed=0)
    assert res.is_bound and res.estimate is None and res.mi > 0.3


def test_the_standardised_map_is_chosen_where_gaussianising_bends_the_target():
    from mi_toolkit.bench.bmi import suite

    task = next(t for t in suite(False) if t.name == "1v1-additive-0.1")   # Y = X + uniform noise: flat margins
    x, y = task.sample(1500, 0)
    cfg = dict(readers=("regression",), regressors=("ridge",), companion=None, n_bootstrap=100, n_permutations=0)
    both = estimate(x, y, "binned", config=BinnedConfig(**cfg), seed=0)
    gaussianised = estimate(x, y, "binned", config=BinnedConfig(target_maps=("gaussianised",), **cfg), seed=0)
    assert "standardised Y" in both.chosen and both.mi > gaussianised.mi + 0.05, (both.describe(),
                                                                                 gaussianised.describe())
    assert both.mi < task.truth + 0.02


def test_residual_model_zero_is_the_gaussian_fitted_to_the_residuals():
    from scipy.special import ndtr

    from mi_toolkit.estimators.continuous_models import ResidualCDF

    r = np.random.default_rng(6).normal(0.3, 2.0, 500)
    cdf = ResidualCDF(r, 0.0)
    x = np.linspace(-6, 6, 13)
    assert np.allclose(cdf(x), ndtr((x - r.mean()) / r.std()))
    probs = cdf.bin_probs(np.array([0.0, 1.0]), np.array([-1.0, 0.0, 1.0]))
    assert probs.shape == (2, 4) and np.allclose(probs.sum(1), 1.0)
    assert np.abs(ResidualCDF(r, 1.0)(x) - cdf(x)).max() < 0.05   # a kernel CDF of Gaussian residuals is close


@pytest.mark.parametrize("mult", [0.0, 0.5, 1.0])
def test_each_rows_own_bin_probability_is_the_tables_entry_to_the_bit(mult):
    from mi_toolkit.estimators.continuous_models import ResidualCDF, cell_probs, joint_probs

    rng = np.random.default_rng(3)
    cdf = ResidualCDF(rng.standard_t(3, 400), mult)
    mu, edges = rng.standard_normal(300) * 2, np.sort(rng.standard_normal(15))
    codes = rng.integers(0, len(edges) + 1, 300)
    codes[:2] = 0, len(edges)   # the open end bins too
    own = cdf.code_probs(mu, edges, codes)
    assert np.array_equal(own, cdf.bin_probs(mu, edges)[np.arange(300), codes])
    two = np.column_stack([codes, codes[::-1]])
    tables = [cdf.bin_probs(mu, edges), cdf.bin_probs(-mu, edges)]
    assert np.array_equal(joint_probs([cdf.code_probs(mu, edges, two[:, 0]), cdf.code_probs(-mu, edges, two[:, 1])]),
                          cell_probs(tables, two))
