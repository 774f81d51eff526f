"""The probe's top-k PCA solver: the same components, projections and readings as a full eigendecomposition."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.probe_family import ArrayFamily
from mi_toolkit.estimators.probe_pca import choose_solver, top_components, whiten


def _states(n: int, d: int, seed: int = 0) -> np.ndarray:
    """LM-like rows: a few outlier directions with most of the variance, a decaying rest, a gap after 8."""
    rng = np.random.default_rng(seed)
    scale = np.concatenate([[40.0, 25.0, 15.0], np.geomspace(6.0, 3.0, 5), np.geomspace(1.0, 0.05, d - 8)])
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (rng.standard_normal((n, d)) * scale) @ basis.T + 3.0


def _reference(train: np.ndarray, score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The engine's old preprocessing: a full d x d eigendecomposition of the train covariance, whitened."""
    mu = train.mean(0)
    vals, vecs = np.linalg.eigh((train - mu).T @ (train - mu) / (len(train) - 1))
    top = np.argsort(vals)[::-1][:k]
    proj = vecs[:, top] / np.sqrt(vals[top])
    return (train - mu) @ proj, (score - mu) @ proj


@pytest.mark.parametrize("n, d", [(60, 200), (400, 48)])     # n < d (Gram) and n > d (covariance)
@pytest.mark.parametrize("solver", ["auto", "gram", "covariance", "randomized"])
def test_top_k_solvers_give_the_exact_projections_up_to_sign(n, d, solver):
    x = _states(n + 50, d)
    train, score = x[:n], x[n:]
    k = 8
    want_tr, want_sc = _reference(train, score, k)
    got_tr, got_sc = whiten(train, score, k, solver=solver)
    signs = np.sign((want_tr * got_tr).sum(0))            # each component: +1 or -1, never a mixture
    assert np.all(np.abs(signs) == 1)
    tol = 1e-3 if solver == "randomized" else 1e-8
    np.testing.assert_allclose(got_tr * signs, want_tr, atol=tol * np.abs(want_tr).max())
    np.testing.assert_allclose(got_sc * signs, want_sc, atol=tol * np.abs(want_sc).max())


def test_subspace_and_variances_match_and_auto_picks_the_smaller_matrix():
    x = _states(80, 300)
    x = x - x.mean(0)
    ref, ref_var = top_components(x, 8, "full")
    for solver in ("gram", "covariance", "randomized"):
        comps, var = top_components(x, 8, solver)
        # the same 8-dimensional subspace (the spectrum has a gap after 8): the projectors onto it agree
        assert np.abs(comps @ comps.T - ref @ ref.T).max() < (5e-3 if solver == "randomized" else 1e-8)
        np.testing.assert_allclose(var, ref_var, rtol=1e-2 if solver == "randomized" else 1e-9)
    assert choose_solver(80, 300, 16) == "gram" and choose_solver(3000, 300, 16) == "covariance"
    assert choose_solver(5000, 3000, 64) == "randomized" and choose_solver(5000, 3000, 1000) == "covariance"


def test_beyond_the_rank_and_on_a_constant_input_the_components_are_zero_not_noise():
    x = _states(20, 100)                                   # 20 rows span 19 centred directions
    tr, sc = whiten(x[:12], x[12:], 16)
    assert np.abs(tr[:, 11:]).max() == 0 and np.abs(sc[:, 11:]).max() == 0
    assert np.allclose(tr[:, :11].std(0, ddof=1), 1.0)
    const = np.ones((30, 10))
    tr, sc = whiten(const, const[:5], 4)
    assert not tr.any() and not sc.any() and np.isfinite(tr).all()


def test_bad_solver_is_rejected():
    with pytest.raises(ValueError, match="unknown PCA solver"):
        top_components(np.zeros((5, 3)), 2, "lanczos")


@pytest.mark.parametrize("n", [150, 900])                   # fit rows below and above the width (Gram / covariance)
def test_a_pca_candidates_reading_is_unchanged(n, monkeypatch):
    """pca64 / spca8 + logistic, scored on 5 folds: the new solver against the full eigendecomposition."""
    from mi_toolkit.estimators import probe_prep

    x = _states(n, 256, seed=2)
    noise = 20 * np.random.default_rng(6).standard_normal(n)
    y = (x @ np.random.default_rng(5).standard_normal(256) + noise > 0).astype(int)
    folds = np.arange(n) % 5
    splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(5)]
    cfg = ProbeConfig()

    def reading(prep: str, k: int) -> np.ndarray:
        """Mean out-of-fold log q(y|z) of each penalty of the family."""
        fam = ArrayFamily(prep, k, 0, cfg.penalties, cfg.max_iter_linear, 64)
        lp = fam.score_splits(x, y, splits, 2, 0, torch.device("cpu"), {})
        return np.array([np.concatenate([lp[g][f][np.arange(len(sc)), y[sc]] for f, (_, sc) in enumerate(splits)]).mean()
                         for g in range(len(cfg.penalties))])

    new = {c: reading(*c) for c in (("pca", 64), ("spca", 8))}
    monkeypatch.setattr(probe_prep, "whiten", lambda a, b, k, seed=0: _reference(a, b, k))
    old = {c: reading(*c) for c in (("pca", 64), ("spca", 8))}
    for c in new:
        np.testing.assert_allclose(new[c], old[c], atol=2e-4)
