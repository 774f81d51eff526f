"""The probe's generative heads: finite log-probabilities, where they enter the family, when they are chosen."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from mi_toolkit import estimate
from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.probe_family import array_candidates, split_log_prior
from mi_toolkit.estimators.probe_generative import HEADS, LOG_FLOOR, GenerativeFamily, fit_log_proba

FAST = ProbeConfig(n_bootstrap=200)


def _gen_names(cands) -> list[str]:
    return [c.name for c in cands if isinstance(c.make.family, GenerativeFamily)]


@pytest.mark.parametrize("head", ["lda", "qda", "gnb"])
def test_log_probs_are_finite_distributions_and_rare_classes_keep_their_prior(head):
    rng = np.random.default_rng(0)
    # class 3 absent, class 2 one row: neither can be modelled; a constant feature as well
    y = np.r_[np.zeros(40, int), np.ones(40, int), [2]]
    x = rng.standard_normal((len(y), 4)) + 3.0 * y[:, None]
    x[:, 3] = 1.0
    score = np.r_[rng.standard_normal((5, 4)), 1e6 * np.ones((1, 4))]    # one far-away row
    prior = split_log_prior(y, 4)
    spec = HEADS.get(head)
    lp = fit_log_proba(spec, spec.grid(ProbeConfig())[0], x, y, score, 4, prior)
    assert lp.shape == (6, 4) and np.isfinite(lp).all() and lp.min() >= LOG_FLOOR
    np.testing.assert_allclose(lp[:, 2:], np.tile(prior[2:], (6, 1)))   # unmodelled: their prior share
    ok = lp.min(1) > LOG_FLOOR                                             # rows the clip did not touch
    np.testing.assert_allclose(logsumexp(lp[ok], axis=1), 0.0, atol=1e-6)  # GNB: 1e9-scale terms


def test_qda_leaves_classes_with_no_more_rows_than_dimensions_to_their_prior():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(30, int), np.ones(30, int), np.full(8, 2)]     # class 2: 8 rows in 8 dimensions
    x = rng.standard_normal((len(y), 8))
    prior = split_log_prior(y, 3)
    lp = fit_log_proba(HEADS.get("qda"), 0.1, x, y, x[:5], 3, prior)
    np.testing.assert_allclose(lp[:, 2], prior[2])
    assert np.isfinite(lp).all()


def test_a_constant_input_reads_the_prior():
    y = np.random.default_rng(2).integers(0, 3, 90)
    x = np.ones((90, 5))
    prior = split_log_prior(y, 3)
    for name in HEADS:
        spec = HEADS.get(name)
        lp = fit_log_proba(spec, spec.grid(ProbeConfig())[0], x, y, x[:7], 3, prior)
        np.testing.assert_allclose(lp, np.tile(prior, (7, 1)), atol=1e-9)


def test_family_placement_follows_the_views_and_widths():
    cfg = ProbeConfig()
    wide = _gen_names(array_candidates(2, 576, cfg))
    assert not any(n.startswith("std+") for n in wide)                   # above generative_max_dim
    assert {"pca64+lda(shrink=auto)", "spca64+gnb(vs=1e-09)", "pca8+qda(reg=0.1)", "spca16+qda(reg=0.5)"} <= set(wide)
    assert not any(n.startswith(("pca64+qda", "spca64+qda")) for n in wide)   # QDA only on narrow views
    narrow = _gen_names(array_candidates(2, 8, cfg))
    assert set(narrow) == {"std+lda(shrink=auto)", "std+gnb(vs=1e-09)", "std+qda(reg=0.1)", "std+qda(reg=0.5)"}
    assert all(n.startswith("gauss+") for n in _gen_names(array_candidates(2, 8, cfg, heavy=True)))
    assert _gen_names(array_candidates(2, 576, ProbeConfig(generative=False))) == []


def test_a_stand_alone_generative_candidate_fits_and_scores():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    x = rng.standard_normal((300, 6)) + y[:, None]
    cand = next(c for c in array_candidates(3, 6, FAST) if c.name == "std+gnb(vs=1e-09)")
    lp = cand.make(0, 3).fit(x[:200], y[:200]).predict_log_proba(x[200:])
    assert lp.shape == (100, 3) and np.isfinite(lp).all()
    assert np.mean(lp.argmax(1) == y[200:]) > 0.6


def _class_variance_mixture(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classes that differ mostly in their per-feature variances: quadratic, invisible to a linear head."""
    rng = np.random.default_rng(seed)
    sd = np.exp(np.random.default_rng(11).uniform(-0.4, 0.4, (3, d)))
    y = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    return 0.2 * y[:, None] + sd[y] * rng.standard_normal((n, d)), y


def test_chosen_and_reading_higher_on_near_gaussian_data_where_they_should_win():
    z, y = _class_variance_mixture(1500, 24, 4)
    with_gen = estimate(z, y, "probe", config=FAST, device="cpu")
    without = estimate(z, y, "probe", config=ProbeConfig(n_bootstrap=200, generative=False), device="cpu")
    gen = ("lda(", "qda(", "gnb(")
    assert all(any(h in c for h in gen) for c in with_gen.config["per_fold_choice"])
    assert with_gen.mi > without.ci_high and with_gen.detected


def test_never_chosen_when_worse_so_the_reading_is_unchanged():
    # a linear boundary on a two-sided exponential feature: Gaussian class-conditionals are the wrong model
    rng = np.random.default_rng(5)
    z = rng.standard_normal((1000, 6))
    z[:, 0] = rng.exponential(1.0, 1000) * rng.choice([-1, 1], 1000)
    y = (z[:, 0] + 0.3 * rng.standard_normal(1000) > 0).astype(int)
    with_gen = estimate(z, y, "probe", config=FAST, device="cpu")
    without = estimate(z, y, "probe", config=ProbeConfig(n_bootstrap=200, generative=False), device="cpu")
    assert any("lda(" in row["name"] for row in with_gen.candidates)           # they were candidates
    assert with_gen.config["per_fold_choice"] == without.config["per_fold_choice"]
    np.testing.assert_array_equal(with_gen.pointwise, without.pointwise)
