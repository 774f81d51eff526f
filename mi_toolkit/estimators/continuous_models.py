"""Building blocks of the continuous-target estimators (``binned``, ``gaussian``).

Everything here is fitted on one fit set and applied to examples it never saw:

* :func:`make_regressor`: the regressor candidates ``mu(z)`` (scikit-learn pipelines);
* :class:`TargetMap`: a monotone per-coordinate map of ``Y`` (Gaussianise or standardise, chosen
  per fold). Quantile bins of the mapped target are a function of ``Y``, so the data-processing
  inequality holds;
* :class:`Bins`: quantile bin edges per mapped coordinate and the joint cell of each row;
* :class:`ResidualCDF`: the kernel-smoothed residual distribution (per coordinate), from
  which ``P(mu(z) + r in bin)`` is read.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.signal import fftconvolve
from scipy.special import ndtr
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import RidgeCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from predgen_common.errors import UserError
from predgen_common.registry import Registry

from mi_toolkit.estimators.train import GCV_MODE, RIDGE_ALPHAS, feature_transform
from mi_toolkit.estimators.quantiles import SortedQuantileTransformer

REGRESSORS: Registry = Registry("regressor")
# Nystroem landmarks per kernel width and input (at most 150): a smooth fit of one or two inputs needs tens, not
# the 150 a 32-wide input gets. bmi suite, 40 tasks: the same 33 within tolerance at 10, 15, 25 or 150 for all;
# mean error 0.0874, 0.0862, 0.0866, 0.0866; a fit of one input 0.145 s with 150, 0.03 s with 25
LANDMARKS_PER_INPUT = 15


@REGRESSORS.register("ridge")
def _ridge(seed: int, d: int, n: int):
    """Standardise (heavy-tailed features Gaussianised) then ridge, penalty per target by
    leave-one-out CV (17 values, 1e-3 to 1e5; :data:`GCV_MODE`)."""
    del d, n
    return make_pipeline(_Features(seed), RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True, gcv_mode=GCV_MODE))


def _mlp_head(seed: int, k: int, n: int) -> MLPRegressor:
    """The MLP every MLP regressor ends in: 64 ReLU units, early stopping on 15% of the ``n`` fit rows (``k``
    inputs)."""
    del k
    return MLPRegressor(hidden_layer_sizes=(64,), alpha=1e-2, batch_size=min(256, max(1, int(0.85 * n))),
                        early_stopping=True, validation_fraction=0.15,
                        n_iter_no_change=10, max_iter=300, random_state=seed)


def _kernel_head(seed: int, k: int, n: int):
    """Kernel ridge by Nystroem features: the ``k`` inputs standardised, RBF kernels at two widths (``gamma``
    0.5/k and 2/k: standardised squared distances are about 2k) on :data:`LANDMARKS_PER_INPUT` landmarks per input
    (at most 150) each, then ``RidgeCV``. On bmi-sized fits (3,000 rows) 0.03 s (one input) to 0.15 s (six or
    more) where the MLP took 0.3 to 1 s."""
    m = max(2, min(150, n // 4, LANDMARKS_PER_INPUT * k))
    kernels = make_union(Nystroem(gamma=0.5 / k, n_components=m, random_state=seed),
                         Nystroem(gamma=2.0 / k, n_components=m, random_state=seed + 1))
    return make_pipeline(StandardScaler(), kernels, RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True,
                                                            gcv_mode=GCV_MODE))


def _standardised_pca(head: Callable[[int, int, int], Any]) -> Callable[[int, int, int], Any]:
    """Standardise (as ``ridge`` does), PCA to at most 32 components (fitted on the fit set), then ``head``."""
    def make(seed: int, d: int, n: int):
        k = max(1, min(32, d, n // 4))
        return make_pipeline(_Features(seed), PCA(k, random_state=seed), head(seed, k, n))
    return make


def _raw_pca(k_max: int, head: Callable[[int, int, int], Any]) -> Callable[[int, int, int], Any]:
    """PCA to at most ``k_max`` components of the *raw* features (no standardising first), the scores
    standardised, then ``head``. LM states put most of their variance in a few outlier dimensions:
    standardising first spreads it and loses the top-variance directions (lesson 2 of the probing notes; a
    target even in the top principal score read 0.20 of 0.78 nats with the standardised order alone). None
    (not a candidate) where the features are no wider than ``k_max``: then it is the standardised order on
    all of them."""
    def make(seed: int, d: int, n: int):
        if d <= k_max:
            return None
        k = max(1, min(k_max, n // 4))
        return make_pipeline(PCA(k, random_state=seed), StandardScaler(), head(seed, k, n))
    return make


@REGRESSORS.register("quad-ridge")
def _quad_ridge(seed: int, d: int, n: int):
    """Standardise as ``ridge`` does, append each feature's square (``x^2 - 1``), then ridge: a linear model that
    also sees a shared scale (a Student-t pair's information is all in the radius ``|x|``), at ridge's cost."""
    del d, n
    squares = FunctionTransformer(lambda x: np.hstack([x, x ** 2 - 1.0]))
    return make_pipeline(_Features(seed), squares, RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True,
                                                           gcv_mode=GCV_MODE))


# the MLP on the standardised order or on a few top raw components (a small nonlinear reader, and a few more)
REGRESSORS.register("mlp")(_standardised_pca(_mlp_head))
REGRESSORS.register("pca2-mlp")(_raw_pca(2, _mlp_head))
REGRESSORS.register("pca8-mlp")(_raw_pca(8, _mlp_head))
# kernel ridge in their place where a smooth fit serves (the default's ``kernel`` and ``pca2-kernel``)
REGRESSORS.register("kernel")(_standardised_pca(_kernel_head))
REGRESSORS.register("pca2-kernel")(_raw_pca(2, _kernel_head))


class _Features:
    """scikit-learn transformer wrapper around :func:`feature_transform` (fit-set statistics only)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, x: np.ndarray, y=None) -> "_Features":
        self.ct_ = feature_transform(x, self.seed)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.ct_.transform(x)

    def fit_transform(self, x: np.ndarray, y=None) -> np.ndarray:
        return self.fit(x).transform(x)

    def get_params(self, deep: bool = True) -> dict:
        return {"seed": self.seed}

    def set_params(self, **params) -> "_Features":
        self.seed = params.get("seed", self.seed)
        return self


def make_regressor(name: str, seed: int, d: int, n: int):
    """An unfitted regressor candidate ``(n, d) -> (n, k)`` by registry name, or None where it does not apply."""
    return REGRESSORS.get(name)(seed, d, n)


def fit_regressor(name: str, seed: int, x: np.ndarray, y: np.ndarray):
    """:func:`make_regressor` fitted on ``x (n, d)``, ``y (n,)`` or ``(n, k)`` (None where the registry says the
    candidate does not apply to ``d`` features). The MLPs' iteration cap is a time budget, not a failure (the
    inner split judges every fit), so its ConvergenceWarning is not shown."""
    model = make_regressor(name, seed, x.shape[1], len(x))
    if model is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def predict(model, z: np.ndarray) -> np.ndarray:
    """``(n, k)`` predictions whatever the estimator returns for one target."""
    out = np.asarray(model.predict(z), dtype=np.float64)
    return out.reshape(len(z), -1)


TARGET_MAPS: Registry = Registry("target map")
TARGET_MAPS.register("gaussianised")(lambda y, seed: SortedQuantileTransformer(
    n_quantiles=min(1000, len(y)), output_distribution="normal", random_state=seed).fit(y))
TARGET_MAPS.register("standardised")(lambda y, seed: StandardScaler().fit(y))


class TargetMap:
    """A monotone per-coordinate map of ``Y (n, k)`` fitted on the fit set (:data:`TARGET_MAPS`): the
    regression target. Quantile bins are unchanged by a monotone map of a coordinate, so for ``k = 1`` the
    bins stay quantile bins of ``Y`` itself whatever the map; the map only changes what the regressor and
    the residual model see. Gaussianising tames heavy tails (a Cauchy target's squared loss is all
    outliers); it also bends a bounded or bimodal target (``sin`` of a principal score on real LM states
    read 0.573 of 0.715 nats Gaussianised, 0.655 standardised), so each fold chooses the map on its inner
    split (``BinnedConfig.target_maps``)."""

    def __init__(self, y_fit: np.ndarray, seed: int, kind: str = "gaussianised") -> None:
        self.kind = kind
        self.map_ = TARGET_MAPS.get(kind)(y_fit, seed)

    def gauss(self, y: np.ndarray) -> np.ndarray:
        """``(n, k)`` mapped targets."""
        return self.map_.transform(y)


@dataclass
class Bins:
    """Quantile edges per (mapped) coordinate; ``edges[c]`` is strictly increasing, ``K_c - 1`` long."""

    edges: list[np.ndarray]

    @classmethod
    def quantile(cls, t_fit: np.ndarray, k: int) -> "Bins":
        """``k`` quantile bins per coordinate of ``t_fit (n, c)``; tied edges merge (fewer bins)."""
        levels = np.arange(1, k) / k
        return cls([np.unique(np.quantile(t_fit[:, c], levels)) for c in range(t_fit.shape[1])])

    @property
    def sizes(self) -> list[int]:
        return [len(e) + 1 for e in self.edges]

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.sizes))

    def codes(self, t: np.ndarray) -> np.ndarray:
        """``(n, c)`` bin index per coordinate."""
        return np.stack([np.searchsorted(e, t[:, c], side="right") for c, e in enumerate(self.edges)], 1)

    def cells(self, codes: np.ndarray) -> np.ndarray:
        """``(n,)`` joint cell index of per-coordinate codes."""
        return np.ravel_multi_index(tuple(codes.T), self.sizes)


class ResidualCDF:
    """Kernel-smoothed CDF of 1-D residuals: ``F(x) = mean_j Phi((x - r_j) / h)``, ``h`` = ``mult`` x
    Silverman's rule (robust scale). Tabulated as a binned KDE (atoms histogrammed at spacing
    ``h / 16``, smoothed with the Gaussian kernel by FFT, accumulated) and read by linear
    interpolation: exact evaluation cost (grid x atoms) dominated the estimator's time.

    ``mult`` 0 is the Gaussian fitted to the residuals (their mean and SD): where the residuals are
    Gaussian the kernel's width only widens them (a linear read-out of real LM states read 0.627 of
    0.796 nats with the kernels alone; a scikit-learn ridge with Gaussian residuals read 0.642)."""

    MAX_GRID = 1 << 18

    def __init__(self, resid: np.ndarray, mult: float) -> None:
        r = np.asarray(resid, dtype=np.float64)
        self.gaussian = (float(r.mean()), max(float(r.std()), 1e-6)) if mult == 0 else None
        if self.gaussian is not None:
            return
        iqr = np.subtract(*np.quantile(r, [0.75, 0.25]))
        scale = min(r.std(), iqr / 1.349) if iqr > 0 else r.std()
        self.h = mult * 0.9 * max(scale, 1e-6) * len(r) ** (-0.2)
        lo, hi = r.min() - 8 * self.h, r.max() + 8 * self.h
        step = max(self.h / 16, (hi - lo) / self.MAX_GRID)  # heavy tails: a coarser grid, not a huge one
        edges = np.arange(lo, hi + step, step)
        counts, _ = np.histogram(r, bins=edges)
        lags = np.arange(-int(np.ceil(8 * self.h / step)), int(np.ceil(8 * self.h / step)) + 1) * step
        kernel = np.exp(-0.5 * (lags / self.h) ** 2)
        density = fftconvolve(counts.astype(np.float64), kernel / kernel.sum(), mode="same")
        self.grid = edges[1:]  # the cumulated mass of bins <= g is the CDF at bin g's right edge
        self.cdf = np.clip(np.cumsum(np.clip(density, 0.0, None)) / len(r), 0.0, 1.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.gaussian is not None:
            return ndtr((x - self.gaussian[0]) / self.gaussian[1])
        return np.interp(x, self.grid, self.cdf, left=0.0, right=1.0)

    def bin_probs(self, mu: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """``P(mu_i + r in bin b)`` as ``(n, K)`` for ``mu (n,)`` and ``K - 1`` edges."""
        cum = self(edges[None, :] - mu[:, None])
        cum = np.concatenate([np.zeros((len(mu), 1)), cum, np.ones((len(mu), 1))], 1)
        return np.clip(np.diff(cum, axis=1), 0.0, 1.0)

    def code_probs(self, mu: np.ndarray, edges: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``P(mu_i + r in bin codes_i)`` ``(n,)``: the one entry of each row of :meth:`bin_probs` that a score
        reads, from two CDF readings per row instead of ``K - 1`` (the same arithmetic, so the same floats).
        ``codes (n,)`` in ``0 .. len(edges)``."""
        hi, lo = np.ones(len(mu)), np.zeros(len(mu))
        up, down = codes < len(edges), codes > 0
        hi[up] = self(edges[codes[up]] - mu[up])
        lo[down] = self(edges[codes[down] - 1] - mu[down])
        return np.clip(hi - lo, 0.0, 1.0)


def joint_probs(at_codes: list[np.ndarray]) -> np.ndarray:
    """``(n,)`` product over coordinates of each row's own bin probability ``at_codes[c] (n,)``
    (:meth:`ResidualCDF.code_probs`, or a row of :func:`cell_probs`'s tables), multiplied in coordinate order."""
    p = at_codes[0]
    for q in at_codes[1:]:
        p = p * q
    return p


def cell_probs(per_coord: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """``q(cell_i | z_i)`` ``(n,)``: the product of per-coordinate bin probabilities ``per_coord[c] (n, K_c)`` at
    each row's codes ``(n, c)``, before mixing with the cell frequencies (:func:`mixed_log_probs`)."""
    rows = np.arange(len(codes))
    return joint_probs([probs[rows, codes[:, c]] for c, probs in enumerate(per_coord)])


def mixed_log_probs(p: np.ndarray, weight: float, prior_rows: np.ndarray) -> np.ndarray:
    """``log((1 - weight) q_i + weight p_hat(cell_i))`` ``(n,)`` for cell probabilities ``p (n,)`` and each row's
    fit-set cell frequency ``prior_rows (n,)``; ``weight`` 1.0 is the no-information model."""
    return np.log((1.0 - weight) * p + weight * prior_rows)


def cell_log_probs(per_coord: list[np.ndarray], codes: np.ndarray, weight: float, bins: "Bins",
                   prior: np.ndarray) -> np.ndarray:
    """``log q(cell_i | z_i)`` ``(n,)``: the product of per-coordinate bin probabilities
    ``per_coord[c] (n, K_c)`` (:func:`cell_probs`) mixed at ``weight`` with the fit set's cell frequencies
    ``prior`` (``(n_cells,)``; near-uniform for quantile bins, not uniform when targets tie)
    (:func:`mixed_log_probs`)."""
    return mixed_log_probs(cell_probs(per_coord, codes), weight, prior[bins.cells(codes)])


def cell_prior(bins: "Bins", codes: np.ndarray) -> np.ndarray:
    """``(n_cells,)`` cell frequencies of fit-set codes ``(n, c)``, add-one-half smoothed."""
    counts = np.bincount(bins.cells(codes), minlength=bins.n_cells) + 0.5
    return counts / counts.sum()


def miller_madow(cells: np.ndarray) -> tuple[float, np.ndarray]:
    """Miller-Madow entropy (nats) of observed cell labels and the per-row plug-in ``-log p_hat``.

    ``H_MM = H_plugin + (m - 1) / (2 n)``, ``m`` the occupied cells; the per-row terms average
    to ``H_plugin``."""
    _, inv, counts = np.unique(cells, return_inverse=True, return_counts=True)
    neg_log = -np.log(counts[inv] / len(cells))
    return float(neg_log.mean() + (len(counts) - 1) / (2 * len(cells))), neg_log


def check_bins(y: np.ndarray, bins: tuple[int, ...] | None, n_eval: int, min_per_cell: int,
               grid: tuple[int, ...]) -> list[int]:
    """The bin counts (per coordinate) to try, or a one-line :class:`UserError`.

    Explicit ``bins`` must not exceed the distinct values of any target coordinate, and the
    joint cells must leave ``min_per_cell`` held-out examples each; the automatic ``grid`` is
    cut to what fits.
    """
    k = y.shape[1]
    distinct = min(len(np.unique(y[:, c])) for c in range(k))
    room = n_eval // min_per_cell  # cells the smallest held-out set can populate
    if bins:
        big = [b for b in bins if b > distinct]
        if big:
            raise UserError(f"{max(big)} bins but the target has only {distinct} distinct values; "
                            f"pass bins <= {distinct}")
        crowded = [b for b in bins if b ** k > room]
        if crowded:
            raise UserError(f"{max(crowded) ** k} bins for {n_eval} examples scored per model leaves fewer than "
                            f"{min_per_cell} per bin; pass bins <= {_root(room, k)} or more examples")
        return sorted(set(bins))
    fits = [b for b in grid if b <= distinct and b ** k <= room]
    if not fits:   # (several target columns are binned on their canonical directions: multitarget.py)
        raise UserError(f"too few examples for the binned estimate ({n_eval} scored per model, "
                        f"< {2 * min_per_cell} needed for 2 bins); pass more examples")
    return fits


def _root(room: int, k: int) -> int:
    return max(1, int(math.floor(room ** (1.0 / k) + 1e-9)))
