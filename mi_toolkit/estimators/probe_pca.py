"""Top-``k`` principal components for the probe's PCA candidates, computing only the ``k`` they need.

The probe's ``pca{k}`` / ``spca{k}`` candidates need at most ``k_max`` (64) components of each
split's fit rows; a full ``d x d`` eigendecomposition per split costs ``O(d^3)`` whatever ``k``
is (3.4 s of CPU at ``d = 2,880``, the width of the curve's ``R``, measured in
``benchmarks/bench_sweeps.py``). :func:`top_components` solves only for the top ``k``:

* ``"gram"`` (``n < d``): the top ``k`` eigenpairs of the ``n x n`` Gram matrix ``X X^T`` of the
  centred rows (LAPACK's subset eigensolver), mapped back to feature space by
  ``v = X^T u / sqrt(lambda)``: exact, ``O(n^2 d + n^2 k)`` plus the tridiagonalisation of ``n x n``;
* ``"covariance"`` (``n >= d``): the top ``k`` eigenpairs of ``X^T X`` (``d x d``), exact;
* ``"randomized"``: :func:`sklearn.utils.extmath.randomized_svd` (Halko et al.; power
  iterations, seeded), for when both ``n`` and ``d`` exceed :data:`EXACT_MAX`;
* ``"full"``: ``np.linalg.eigh`` of the covariance, the reference the others are tested against.

``"auto"`` takes the exact subset solver on the smaller of the two matrices up to
``min(n, d) = EXACT_MAX`` and the randomized SVD above it. Components are sorted by variance,
each signed so that its largest-magnitude entry is positive (the same directions whichever
solver found them), and components whose variance is numerically zero (a constant input, or
``k`` above the rank of a small fit set) come back as zero vectors with variance 0, so the
whitened features there are exactly 0 instead of rounding noise scaled by ``1e6``.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.utils.extmath import randomized_svd

SOLVERS = ("auto", "gram", "covariance", "randomized", "full")
EXACT_MAX = 2048          # min(n, d) up to which "auto" solves exactly (0.6 s of CPU for a 2,000 x 2,000 Gram)
ZERO_VARIANCE = 1e-10     # relative to the top variance: below it a component is rounding noise


def choose_solver(n: int, d: int, k: int) -> str:
    """The solver ``"auto"`` uses for ``n`` centred rows of width ``d`` and ``k`` components."""
    m = min(n, d)
    if m > EXACT_MAX and 4 * k < m:
        return "randomized"
    return "gram" if n < d else "covariance"


def _top_eigh(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenpairs of the symmetric ``a (m, m)``: ``(values (k,), vectors (m, k))``, descending."""
    m = len(a)
    vals, vecs = scipy.linalg.eigh(a, subset_by_index=[m - k, m - 1], driver="evr", check_finite=False)
    return vals[::-1], vecs[:, ::-1]


def _fix_signs(vecs: np.ndarray) -> np.ndarray:
    """Each column of ``vecs (d, k)`` signed so that its largest-magnitude entry is positive."""
    idx = np.abs(vecs).argmax(0)
    signs = np.sign(vecs[idx, np.arange(vecs.shape[1])])
    return vecs * np.where(signs == 0, 1.0, signs)


def top_components(xc: np.ndarray, k: int, solver: str = "auto", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` principal directions of the centred rows ``xc (n, d)``.

    Returns ``(components (d, k), variances (k,))``: unit columns sorted by variance (sample
    variance, ``/ (n - 1)``), signs fixed; columns beyond the numerical rank are zero with variance 0.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown PCA solver {solver!r}; choose one of: {', '.join(SOLVERS)}")
    xc = np.asarray(xc, dtype=np.float64)
    n, d = xc.shape
    r = max(0, min(k, d, n - 1))              # centred rows span at most n - 1 directions
    comps, var = np.zeros((d, k)), np.zeros(k)
    if r == 0:
        return comps, var
    solver = choose_solver(n, d, r) if solver == "auto" else solver
    if solver == "gram":
        vals, u = _top_eigh(xc @ xc.T, r)
        big = vals > ZERO_VARIANCE * max(float(vals[0]), 0.0)
        vecs = xc.T @ (u * np.where(big, 1.0 / np.sqrt(np.where(big, vals, 1.0)), 0.0))
    elif solver == "covariance":
        vals, vecs = _top_eigh(xc.T @ xc, r)
    elif solver == "randomized":
        _, s, vt = randomized_svd(xc, r, n_oversamples=max(10, r // 2), n_iter=6, random_state=seed)
        vals, vecs = s ** 2, vt.T
    else:
        vals, vecs = np.linalg.eigh(xc.T @ xc)
        vals, vecs = vals[::-1][:r], vecs[:, ::-1][:, :r]
    keep = vals > ZERO_VARIANCE * max(float(vals[0]), 0.0)
    comps[:, :r] = np.where(keep, _fix_signs(vecs), 0.0)
    var[:r] = np.where(keep, vals / max(n - 1, 1), 0.0)
    return comps, var


def whiten(train: np.ndarray, score: np.ndarray, k: int, solver: str = "auto",
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` whitened principal components of ``train (n_tr, d)``, applied to it and to ``score (n_sc, d)``.

    Returns ``(train (n_tr, k), score (n_sc, k))``; a zero-variance component is 0 in both.
    """
    mu = train.mean(0)
    comps, var = top_components(train - mu, k, solver, seed)
    proj = comps / np.sqrt(np.where(var > 0, var, 1.0))
    return (train - mu) @ proj, (score - mu) @ proj
