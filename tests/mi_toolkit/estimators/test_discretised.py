"""The discretised-regression reader's selection: the gated (costly) regressor is fitted only where a smooth
nonlinear fit already beats the linear one on the inner split."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import mi_toolkit.estimators.discretised as discretised
from mi_toolkit.estimators.continuous import BinnedConfig


@pytest.fixture
def fitted(monkeypatch) -> list[str]:
    names: list[str] = []
    real = discretised.fit_regressor
    monkeypatch.setattr(discretised, "fit_regressor", lambda name, *a: names.append(name) or real(name, *a))
    return names


def _task(kind: str, n: int = 1200, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    signal = z @ rng.standard_normal(d) / np.sqrt(d) if kind == "linear" else np.abs(z[:, 0]) * 2.0
    return z, (signal + 0.4 * rng.standard_normal(n))[:, None]


def test_the_mlp_is_not_fitted_where_ridge_leads(fitted):
    z, y = _task("linear")
    cfg = BinnedConfig()
    choice = discretised.select_fold(z, y, cfg, [8, 16], 0)
    assert "pca8-mlp" not in fitted and {"ridge", "kernel"} <= set(fitted)
    assert choice.name == "ridge"
    fitted.clear()
    discretised.select_fold(z, y, replace(cfg, gated=()), [8, 16], 0)   # ungated: fitted
    assert "pca8-mlp" in fitted


def test_the_mlp_is_fitted_where_a_kernel_leads(fitted):
    z, y = _task("abs")
    choice = discretised.select_fold(z, y, BinnedConfig(), [8, 16], 0)
    assert "pca8-mlp" in fitted and choice.name != "ridge"


def test_a_screened_pair_fits_its_groups_choice(fitted):
    # a group's later pair fits the first regressor and the group's choice: nothing nonlinear before it to lead
    z, y = _task("linear")
    discretised.select_fold(z, y, BinnedConfig(regressors=("ridge", "pca8-mlp")), [8], 0)
    assert fitted == ["ridge", "pca8-mlp"]
