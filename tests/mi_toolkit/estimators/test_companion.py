"""The critic estimate beside ``binned``'s bound: where it runs, and what the console says of it."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit import estimate
from mi_toolkit.estimators.companion import LABEL, companion_rows
from mi_toolkit.estimators.continuous import LINEAR_SKIP, BinnedConfig
from mi_toolkit.estimators.result import MIResult

QUICK = dict(n_bootstrap=100, n_permutations=0)


def _pair(kind: str, n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    signal = z[:, 0] if kind == "linear" else np.sin(3.0 * z[:, 0])   # E[z sin 3z] = 3 exp(-4.5): ridge reads ~0
    return z, (signal + 0.3 * rng.standard_normal(n))[:, None]


def test_a_bound_read_linearly_gets_no_estimate_and_says_why():
    z, y = _pair("linear")
    res = estimate(z, y, "binned", config=BinnedConfig(**QUICK), seed=0, device="cpu")
    assert res.is_bound and res.detected and res.estimate is None
    assert res.config["estimate_skipped"] == LINEAR_SKIP
    assert sum(": ridge on" in c for c in res.config["fold_choices"]) >= 3   # the linear regressor led most folds
    assert companion_rows(res)[LABEL] == LINEAR_SKIP and "companion_always=true" in LINEAR_SKIP


def test_a_bound_read_by_a_nonlinear_regressor_gets_the_estimate():
    z, y = _pair("sine")
    res = estimate(z, y, "binned", config=BinnedConfig(**QUICK), seed=0, device="cpu")
    assert "estimate_skipped" not in res.config
    assert sum(": ridge on" in c for c in res.config["fold_choices"]) < 3
    est = res.estimate
    assert est["label"] == LABEL and est["ci_low"] < est["mi"] < est["ci_high"] and est["mi"] > 0.3


@pytest.mark.parametrize("options", [{"companion_always": True}, {"regressors": ("ridge",)}])
def test_always_or_nothing_nonlinear_tried_runs_it(options):
    # with one regressor no nonlinear one lost to it, so its lead says nothing: the estimate runs
    z, y = _pair("linear")
    res = estimate(z, y, "binned", config=BinnedConfig(**QUICK, **options), seed=0, device="cpu")
    assert res.estimate is not None and "estimate_skipped" not in res.config


def _result(**kw) -> MIResult:
    base = dict(mi=0.40, ci_low=0.38, ci_high=0.42, estimator="binned", ceiling=None, above_ceiling=False,
                n_train=800, n_test=1000, p_value=0.01, seconds=1.0, seed=0, discrete=False, is_bound=True)
    return MIResult(**{**base, **kw})


def test_the_console_rows_say_loose_within_or_skipped():
    est = {"estimator": "infonce", "mi": 0.80, "ci_low": 0.75, "ci_high": 0.85}
    assert companion_rows(_result(estimate=est))[LABEL].endswith("it is loose here")
    near = {**est, "mi": 0.41, "ci_low": 0.37}
    assert "loose" not in companion_rows(_result(estimate=near))[LABEL]
    assert companion_rows(_result(config={"estimate_skipped": LINEAR_SKIP}))[LABEL] == LINEAR_SKIP
    assert LABEL not in companion_rows(_result())
