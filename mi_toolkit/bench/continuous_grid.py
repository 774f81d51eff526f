"""A scikit-learn baseline beside ``mi bench --suite real-continuous``: discretised-regression probes.

The continuous counterpart of :data:`mi_toolkit.bench.real.GRID`. Each grid entry (:data:`GRID`) is a feature
map and a scikit-learn regressor ``mu(z)``: the raw features' top ``k`` principal components (PCA of the *raw*
features, then standardised: lessons 2 and 10 of the probing notes, the top-variance directions the targets
may depend on survive), then ``RidgeCV`` or a small early-stopped ``MLPRegressor``. Token windows
``(N, W, d)`` reach the grid flattened to ``(N, W * d)``.

Every entry is cross-fitted on ``KFold(folds, shuffle=True, random_state=seed)``. On each fold, for every bin
count ``B`` of :data:`BINS`, ``Y`` is cut into ``B`` quantile bins of the fit rows, and a held-out row ``i``
is scored with

    q(bin | z) = (1 - MIX) * P(mu(z) + r in bin) + MIX * p_fit(bin),     r ~ N(0, s^2),
    value_i    = log q(bin_i | z_i) + H_MM(held-out bins),

``p_fit`` the fit rows' bin frequencies, ``H_MM`` the Miller-Madow entropy of the fold's own held-out bin labels
(spread evenly over its rows, as ``binned`` does: the marginal term is never the fit rows' frequencies, which
read about ``(B - 1) / (2 n_fit)`` nats above zero on nothing), and ``s`` the residual SD of the same pipeline fitted on an inner
80% of the fit rows and scored on the other 20% (an inner holdout, not the regressor's own CV; the PCA is
fitted once per fold on all fit rows: it never sees ``Y``). The mixture keeps every row's probability above
zero, so one outlier cannot cost more than ``log(1 / MIX)``. An entry's reading at ``B`` is the mean of
``value_i`` over all ``N`` rows (each held out once). The bins are a function of ``Y``, so
``I(Z; bins(Y)) <= I(Z; Y)`` and each reading is, up to noise, a lower bound; keeping each entry's best ``B``
and then the best entry is chosen *after* seeing the scores, so the best of grid is an optimistic baseline.
Each fold fits one PCA to the largest ``k`` and every entry takes its top ``k`` columns; ``all+ridge`` reads
every raw column, standardised (a random direction in the state space is spread over all of them).
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from scipy.stats import norm
from sklearn.compose import TransformedTargetRegressor
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predgen_common.errors import UserError

from mi_toolkit.estimators.multitarget import entropy_terms

FOLDS = 5
BINS = (8, 16, 32)               # quantile bins of Y; well below N (lesson 6: 128 bins read +0.02 on nothing)
MIX = 0.01                       # weight of the fit rows' bin frequencies in q(bin | z)
INNER_HOLDOUT = 0.2              # share of the fit rows that estimates the residual SD
RIDGE_ALPHAS = np.logspace(-3, 4, 15)
MLP_HIDDEN = (64,)
MLP_MAX_ITER = 500
MLP_ALPHA = 1e-3
NOTE = "best of grid, chosen on the scores (optimistic)"

Head = Callable[[int], Any]      # seed -> an unfitted regressor on standardised components


def _ridge(seed: int) -> Any:
    return RidgeCV(alphas=RIDGE_ALPHAS)


def _mlp(seed: int) -> Any:
    return MLPRegressor(hidden_layer_sizes=MLP_HIDDEN, alpha=MLP_ALPHA, early_stopping=True, max_iter=MLP_MAX_ITER,
                        random_state=seed)


# name -> (regressor factory, number of raw principal components k, clipped to the width and the fit rows;
# None: every raw column)
GRID: dict[str, tuple[Head, int | None]] = {
    "all+ridge": (_ridge, None),
    "pca8+ridge": (_ridge, 8),
    "pca32+ridge": (_ridge, 32),
    "pca128+ridge": (_ridge, 128),
    "pca8+mlp64": (_mlp, 8),
    "pca2+mlp64": (_mlp, 2),
}


def _regressor(head: Head, seed: int) -> Any:
    """Standardised components -> ``head``, with ``Y`` standardised on the fit rows (the MLP's scale)."""
    return TransformedTargetRegressor(make_pipeline(StandardScaler(), head(seed)), transformer=StandardScaler())


def _fit_predict(head: Head, seed: int, x_fit: np.ndarray, y_fit: np.ndarray,
                 x_new: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # MLP convergence notes
        return _regressor(head, seed).fit(x_fit, y_fit).predict(x_new)


def _residual_sd(head: Head, seed: int, x_fit: np.ndarray, y_fit: np.ndarray) -> float:
    """The residual SD of ``head`` fitted on an inner part of the fit rows, scored on the rest."""
    order = np.random.default_rng(seed).permutation(len(y_fit))
    cut = max(1, int(round(INNER_HOLDOUT * len(y_fit))))
    held, inner = order[:cut], order[cut:]
    resid = y_fit[held] - _fit_predict(head, seed, x_fit[inner], y_fit[inner], x_fit[held])
    return float(max(np.sqrt(np.mean(resid ** 2)), np.finfo(float).eps * (1 + np.std(y_fit))))


def bin_values(mu: np.ndarray, s: float, y_fit: np.ndarray, y_held: np.ndarray, n_bins: int) -> np.ndarray:
    """Pointwise ``log q(bin_i | z_i)`` plus the held-out bins' Miller-Madow terms ``(n_held,)`` for predictions
    ``mu (n_held,)``, Gaussian residuals of SD ``s`` and ``n_bins`` quantile bins of ``y_fit``."""
    edges = np.unique(np.quantile(y_fit, np.arange(1, n_bins) / n_bins))   # tied quantiles merge bins
    counts = np.bincount(np.searchsorted(edges, y_fit, side="right"), minlength=len(edges) + 1)
    p_fit = np.maximum(counts, 1) / len(y_fit)   # every bin holds >= 1 fit row unless quantiles interpolate
    cell = np.searchsorted(edges, y_held, side="right")
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    p_model = norm.cdf((bounds[cell + 1] - mu) / s) - norm.cdf((bounds[cell] - mu) / s)
    q = (1 - MIX) * np.clip(p_model, 0.0, 1.0) + MIX * p_fit[cell]
    return np.log(q) + entropy_terms(cell)[1]


def grid_by_bins(z: np.ndarray, y: np.ndarray, seed: int, folds: int = FOLDS) -> dict[str, dict[int, float]]:
    """Every :data:`GRID` entry's cross-fitted reading (nats) at every bin count of :data:`BINS`.

    ``z``: ``(N, p)`` features or ``(N, W, d)`` token windows (flattened to ``(N, W * d)``); ``y``: ``(N,)``
    continuous target. Returns ``{entry: {B: mean over the N held-out rows}}``."""
    x = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(x) != len(y) or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise UserError(f"the grid needs finite z and y with one row each (got {len(x)} and {len(y)} rows)")
    if len(y) < 2 * folds:
        raise UserError(f"the grid needs at least {2 * folds} rows for {folds} folds (got {len(y)})")
    values = {name: {b: np.empty(len(y)) for b in BINS} for name in GRID}
    for fit, held in KFold(folds, shuffle=True, random_state=seed).split(x):
        k_max = min(max(k or 0 for _, k in GRID.values()), x.shape[1], len(fit) - 1)
        pca = PCA(k_max, random_state=seed).fit(x[fit])   # raw PCA: the top-variance directions first
        c_fit, c_held = pca.transform(x[fit]), pca.transform(x[held])
        for name, (head, k) in GRID.items():
            f_fit, f_held = (x[fit], x[held]) if k is None else (c_fit[:, :min(k, k_max)], c_held[:, :min(k, k_max)])
            s = _residual_sd(head, seed, f_fit, y[fit])
            mu = _fit_predict(head, seed, f_fit, y[fit], f_held)
            for b in BINS:
                values[name][b][held] = bin_values(mu, s, y[fit], y[held], b)
    return {name: {b: float(v.mean()) for b, v in per_b.items()} for name, per_b in values.items()}


def grid_readings(z: np.ndarray, y: np.ndarray, seed: int, folds: int = FOLDS) -> dict[str, float]:
    """Each :data:`GRID` entry's reading (nats) at its best bin count, ``z (N, p)`` or ``(N, W, d)``,
    ``y (N,)`` (see :func:`grid_by_bins`; the best ``B`` is chosen on the scores: optimistic)."""
    return {name: max(per_b.values()) for name, per_b in grid_by_bins(z, y, seed, folds).items()}


def best_of(by_bins: dict[str, dict[int, float]]) -> tuple[str, int, float]:
    """``(entry, bins, reading)`` of the highest reading in :func:`grid_by_bins`' output."""
    return max(((name, b, v) for name, per_b in by_bins.items() for b, v in per_b.items()), key=lambda t: t[2])
