"""The contract every registered estimator keeps, checked over ``ESTIMATORS.list()`` (in the spirit of
scikit-learn's common estimator checks): a new estimator is held to it by its one register line.

- independent data reads about 0: not detected, or within :data:`ZERO_TOL` nats;
- a deterministic label reads its entropy H(Y) within :data:`REL_TOL` of it (a continuous-only estimator:
  a deterministic target reads the entropy of the cells it reads, its ``ceiling``, or at least log N
  when it reports none);
- bad input (NaN, mismatched rows, too few rows, the wrong kind of label, another estimator's config)
  raises a one-line ``UserError``;
- every result carries an interval and says what it covers (``interval_method``).

Small data (N = 1000, 4 features) and configs cut to a few bootstrap and permutation draws keep each
check to seconds; the checks themselves are not relaxed for speed.
"""
from __future__ import annotations

from dataclasses import fields, replace
from functools import lru_cache

import numpy as np
import pytest

from mi_toolkit.api import estimate
from mi_toolkit.estimators import ESTIMATORS
from predgen_common.errors import UserError

N, D = 1000, 4
ZERO_TOL = 0.05   # nats: a reading of independent data, when detected, lies this close to 0
REL_TOL = 0.15    # a deterministic label reads at least (1 - REL_TOL) H(Y) and at most (1 + REL_TOL) H(Y)
# the cost knobs of each config, where it has them (draws of the interval and the null, training rounds, the
# critic reading beside a bound); nothing that changes what is estimated
FAST = {"n_bootstrap": 200, "n_permutations": 20, "max_epochs": 30, "companion": None}
NAMES = ESTIMATORS.list()


def fast_config(name: str):
    cfg = ESTIMATORS.get(name).config_cls()
    have = {f.name for f in fields(cfg)}
    return replace(cfg, **{k: v for k, v in FAST.items() if k in have})


def continuous_only(name: str) -> bool:
    return bool(ESTIMATORS.get(name).continuous_only)


def features(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N, D))


@lru_cache(maxsize=None)
def reading(name: str, case: str):
    """One estimate per (estimator, case), shared by the checks that read it."""
    z, rng = features(), np.random.default_rng(1)
    if case == "independent":
        y = rng.standard_normal(N) if continuous_only(name) else rng.integers(0, 2, N)
    else:   # deterministic: the sign of the first feature (a balanced binary label), or the feature itself
        y = z[:, 0].copy() if continuous_only(name) else (z[:, 0] > 0).astype(np.int64)
    return estimate(z, y, name, config=fast_config(name), seed=0, device="cpu"), y


@pytest.mark.parametrize("name", NAMES)
def test_independent_data_reads_about_zero(name):
    res, _ = reading(name, "independent")
    assert not res.detected or abs(res.mi) <= ZERO_TOL, f"{name}: {res.describe()} on independent data"


@pytest.mark.parametrize("name", NAMES)
def test_a_deterministic_label_reads_its_entropy(name):
    res, y = reading(name, "deterministic")
    assert res.detected, f"{name}: {res.describe()} on a label that is a function of Z"
    upper = 1 + REL_TOL
    if continuous_only(name):
        # Y = Z[:, 0]: I(Y; Z) is infinite. A bound on cells q(Y) reads at most their entropy (its ceiling)
        # and should reach it; an estimate without a ceiling should read at least log N (Y's N distinct values)
        h = res.ceiling if res.ceiling is not None else float(np.log(N))
        upper = upper if res.ceiling is not None else np.inf
    else:
        p = np.bincount(y) / len(y)
        h = float(-(p * np.log(p)).sum())
    assert (1 - REL_TOL) * h <= res.mi <= upper * h, f"{name}: {res.describe()}; H = {h:.3f} nats"


@pytest.mark.parametrize("name", NAMES)
def test_results_carry_an_interval_and_say_what_it_covers(name):
    for case in ("independent", "deterministic"):
        res, _ = reading(name, case)
        assert np.isfinite([res.ci_low, res.ci_high]).all() and res.ci_low <= res.ci_high, (name, case)
        assert res.ci_high - res.ci_low > 0 or not res.detected, f"{name} {case}: a detection with no width"
        assert isinstance(res.interval_method, str) and len(res.interval_method) > 10, (name, case)
        assert res.estimator == name and res.to_dict()["interval_method"] == res.interval_method


def _bad_inputs(name: str) -> dict[str, tuple]:
    """``{case: (Z, Y, config)}`` that the estimator must refuse with a one-line UserError."""
    z, rng = features(), np.random.default_rng(2)
    y = rng.standard_normal(N) if continuous_only(name) else rng.integers(0, 2, N)
    nan = z.copy()
    nan[3, 1] = np.nan
    wrong_kind = rng.integers(0, 2, N) if continuous_only(name) else rng.standard_normal(N)
    own = ESTIMATORS.get(name).config_cls   # a subclass of it is its config too (MineConfig for a NeuralConfig)
    other = next(ESTIMATORS.get(n).config_cls() for n in NAMES if not issubclass(ESTIMATORS.get(n).config_cls, own))
    cases = {"nan-features": (nan, y, None), "rows-mismatch": (z[:-7], y, None), "too-few-rows": (z[:5], y[:5], None),
             "other-config": (z, y, other)}
    if continuous_only(name) or ESTIMATORS.get(name).discrete_only:
        cases["wrong-kind-of-label"] = (z, wrong_kind, None)
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_a_one_line_user_error(name):
    for case, (z, y, cfg) in _bad_inputs(name).items():
        try:
            estimate(z, y, name, config=cfg, seed=0, device="cpu")
        except UserError as err:
            assert "\n" not in str(err) and len(str(err)) > 20, (name, case, str(err))
        else:
            pytest.fail(f"{name} accepted bad input ({case}) without a UserError")


@pytest.mark.parametrize("name", NAMES)
def test_the_object_interface_runs_with_its_config_on_an_explicit_held_out_set(name):
    """``ESTIMATORS.get(name).with_config(cfg).estimate_many(tasks, test=...)``: the one interface; the config
    reaches the result, and the API's ``estimate_many`` through a name reads the same number."""
    from mi_toolkit.api import estimate_many
    from mi_toolkit.estimators.base import Estimator

    est = ESTIMATORS.get(name)
    assert isinstance(est, Estimator) and est.name == name and est.cfg == est.config_cls()
    cfg = fast_config(name)
    z, rng = features(), np.random.default_rng(3)
    y = z[:, 0] + 0.5 * rng.standard_normal(N) if continuous_only(name) else (z[:, 0] > 0).astype(np.int64)
    fit, test = (z[:700], y[:700]), (z[700:], y[700:])
    direct = est.with_config(cfg).estimate_many([fit], test=[test], seed=0, device="cpu")[0]
    via_api = estimate_many([fit], name, config=cfg, test=[test], seed=0, device="cpu")[0]
    assert direct.detected and direct.mi == pytest.approx(via_api.mi, abs=1e-9), (direct.describe(), via_api.describe())
    assert all(direct.config[k] == v for k, v in FAST.items() if k in direct.config), direct.config
    with pytest.raises(UserError):
        est.with_config(next(ESTIMATORS.get(n).config_cls() for n in NAMES
                             if not issubclass(ESTIMATORS.get(n).config_cls, est.config_cls)))
