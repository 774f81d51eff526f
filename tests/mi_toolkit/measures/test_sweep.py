"""PCA sweep logic: k parsing, the monotonicity flag, and one small real sweep."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators import NeuralConfig
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.measures.estimate import estimate_split
from mi_toolkit.measures.sweep import SweepResult, monotonicity_flags, parse_ks, sweep_arrays
from mi_toolkit.reports.sweep import sweep_html
from predgen_core.errors import UserError


FAST = NeuralConfig(n_bootstrap=100, n_permutations=20, max_epochs=30)  # the default classifier, fewer resamples


def res(mi, half=0.02):
    return MIResult(mi=mi, ci_low=mi - half, ci_high=mi + half, estimator="fake", ceiling=0.69,
                    above_ceiling=False, n_train=100, n_test=50, p_value=0.01, seconds=0.0, seed=0)


def test_parse_ks():
    assert parse_ks("8,1, 2,2") == [1, 2, 8]
    for bad in ("", "a,b", "0,1"):
        with pytest.raises(UserError):
            parse_ks(bad)


def test_rising_sweep_has_no_flags():
    assert monotonicity_flags([1, 2, 4], [res(0.1), res(0.2), res(0.2)]) == []


def test_falling_sweep_is_flagged_as_noise():
    flags = monotonicity_flags([1, 2, 4, 8], [res(0.3), res(0.29), res(0.5), res(0.2)])
    assert [(f["k"], f["below_k"], f["beyond_intervals"]) for f in flags] == [(2, 1, False), (8, 4, True)]
    assert "estimator noise" in flags[1]["message"]
    page = sweep_html(SweepResult([1, 2, 4, 8], [res(0.3), res(0.29), res(0.5), res(0.2)], flags, 0.69))
    assert "beyond the intervals" in page and "<script src=" not in page


def _states(rng, n, informative_rank):
    """Examples whose label lives in the 2nd principal direction: k=1 misses it, k=2 sees it."""
    y = rng.integers(0, 2, n)
    out = []
    for label in y:
        base = rng.normal(size=(6, 8)) * np.array([3.0, 0.3] + [0.05] * 6)
        base[:, 1] += np.linspace(-1, 1, 6) * (2.0 if label else 0.2)
        out.append(base.astype(np.float32))
    return out, y


def test_real_sweep_on_synthetic_states_finds_the_informative_component():
    rng = np.random.default_rng(0)
    fit, yf = _states(rng, 300, 2)
    ev, ye = _states(rng, 150, 2)
    out = sweep_arrays(fit, ev, yf, ye, [1, 2], seed=0, config=FAST)
    assert out.ks == [1, 2] and out.results[0].n_test == 150
    assert out.results[1].mi > out.results[0].mi + 0.2
    assert out.results[1].mi <= out.ceiling + 0.05
    assert out.to_dict()["meta"]["axis"] == "token"


def test_estimates_are_reported_on_the_evaluation_split_only():
    rng = np.random.default_rng(1)
    zf = rng.normal(size=(400, 4)).astype(np.float32)
    yf = (zf[:, 0] > 0).astype(np.int64)           # fit split: Y is a function of Z
    ze = rng.normal(size=(200, 4)).astype(np.float32)
    ye = rng.integers(0, 2, 200)                    # eval split: Y independent of Z
    res = estimate_split([(zf, yf, ze, ye), (zf, yf, ze, (ze[:, 0] > 0).astype(np.int64))], seed=0, config=FAST)
    assert [r.n_test for r in res] == [200, 200]
    assert res[0].mi < 0.1                           # a random split of the pooled data would show ~0.3
    assert res[1].mi > 0.4


def test_sweep_with_reduced_rows_keeps_the_signal_and_records_it():
    rng = np.random.default_rng(0)
    fit, yf = _states(rng, 300, 2)
    ev, ye = _states(rng, 150, 2)
    out = sweep_arrays(fit, ev, yf, ye, [1, 2], seed=0, config=FAST, row_dim=3)
    assert out.results[1].mi > out.results[0].mi + 0.2
    assert out.to_dict()["meta"]["row_dim"] == 3
    with pytest.raises(UserError, match="--row-dim applies to the token-axis PCA"):
        sweep_arrays(fit, ev, yf, ye, [1, 2], axis="feature", row_dim=3)
