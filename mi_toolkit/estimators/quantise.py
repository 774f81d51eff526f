"""Quantisers of a multi-dimensional continuous target: ``q(Y)``, fitted on fit rows only.

``I(Z; q(Y)) <= I(Z; Y)`` for any fixed function ``q`` of ``Y`` (the data-processing inequality), so a
classifier of ``q(Y)`` from ``Z`` scored on rows that neither it nor ``q`` saw gives a lower bound
(``mi_toolkit.estimators.multitarget``). Every quantiser here

1. Gaussianises each coordinate of ``Y`` by its ranks (a quantile map of the fit rows): monotone
   per-coordinate transforms of ``Y`` (normal CDF, half-cube, asinh, heavy tails) then read the same;
2. maps the result to a few features (a *projection*, by registry name):

   * ``kmeans``: the Gaussianised coordinates themselves (their top 16 principal components when wider);
   * ``canonical``: the top ``dims`` canonical variates of ``[g, g^2 - 1]`` against the same expansion
     of the Gaussianised features ``Z`` (regularised CCA on the fit rows): the directions of ``Y`` that
     ``Z`` predicts, linearly or through a shared scale (the squares; a Student-t's information is
     all in its radius);
3. cuts the features into cells: quantile bins for one feature, k-means for several.

Which projection, how many directions and how many cells are chosen by held-out code length on an
inner split of the fit rows (``multitarget``), never on the rows the bound is read on.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import ndtri
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from predgen_common.registry import Registry

from mi_toolkit.estimators.probe_pca import top_components
from mi_toolkit.estimators.quantiles import column_quantiles

MAX_FEATURES = 512      # Gaussianised coordinates kept (top principal components) before the projections
KMEANS_DIMS = 16        # k-means runs on at most this many principal components
CCA_SHRINK = 0.05       # CCA: covariances shrunk toward the identity at least this far (more when wide: p / n)

PROJECTIONS: Registry[Callable] = Registry("target projection")


class Gaussianiser:
    """Per-coordinate rank Gaussianisation (the fit rows' quantiles, linear in between, ties read at their
    middle rank), then the top ``max_dims`` whitened principal components. ``fit(x (n, d))``,
    ``transform(x) -> (m, p)``. (scikit-learn's QuantileTransformer does the first step at about ten
    times the cost: a per-column percentile loop.)"""

    def __init__(self, max_dims: int = MAX_FEATURES, seed: int = 0) -> None:
        self.max_dims, self.seed = max_dims, seed

    def fit(self, x: np.ndarray) -> "Gaussianiser":
        return self.fit_margins(x).fit_ranked(self.ranks(x))

    def fit_margins(self, x: np.ndarray) -> "Gaussianiser":
        """The rank step alone: each column's quantiles on the fit rows ``x (n, d)``."""
        n = len(x)
        self.levels_ = np.linspace(0.0, 1.0, min(1000, n))
        self.quantiles_ = column_quantiles(x, self.levels_)           # (n_q, d)
        self.clip_ = 0.5 / n
        return self

    def fit_ranked(self, g: np.ndarray) -> "Gaussianiser":
        """The projection step alone, on fit rows already through :meth:`ranks` ``(n, d)``: so that one rank
        step can serve Gaussianisers that keep different numbers of components."""
        self.mean_ = g.mean(0)
        comps, var = top_components(g - self.mean_, min(self.max_dims, g.shape[1]), seed=self.seed)
        keep = var > 1e-12 * max(var.max(), 1e-300)
        self.proj_ = comps[:, keep] / np.sqrt(var[keep])
        return self

    def ranks(self, x: np.ndarray) -> np.ndarray:
        """``(m, d)`` each column of ``x`` through its fitted quantiles, then the normal quantile function."""
        lv = self.levels_
        out = np.empty(x.shape)
        for j in range(x.shape[1]):
            q = self.quantiles_[:, j]
            # forward and backward interpolation averaged: a run of tied quantiles maps to its middle
            up = np.interp(x[:, j], q, lv)
            down = -np.interp(-x[:, j], -q[::-1], -lv[::-1])
            out[:, j] = 0.5 * (up + down)
        return ndtri(np.clip(out, self.clip_, 1.0 - self.clip_))

    def project(self, g: np.ndarray) -> np.ndarray:
        """``(m, p)`` rows already through :meth:`ranks`, centred and whitened onto the kept components."""
        return (g - self.mean_) @ self.proj_

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.project(self.ranks(x))


def quadratic(g: np.ndarray) -> np.ndarray:
    """``[g, g^2 - 1]`` ``(n, 2p)``: linear and scale (radius) features of Gaussianised ``g (n, p)``."""
    return np.hstack([g, g ** 2 - 1.0])


@PROJECTIONS.register("kmeans")
def _kmeans_projection(g: np.ndarray, zq: np.ndarray, dims: int, seed: int) -> tuple[Callable, np.ndarray]:
    """The Gaussianised coordinates (top :data:`KMEANS_DIMS` principal components); ``dims`` unused."""
    del zq, dims
    comps, _ = top_components(g - g.mean(0), min(KMEANS_DIMS, g.shape[1]), seed=seed)
    return (lambda x: x @ comps), np.ones(comps.shape[1])


@PROJECTIONS.register("canonical")
def _canonical_projection(g: np.ndarray, zq: np.ndarray, dims: int, seed: int) -> tuple[Callable, np.ndarray]:
    """The top ``dims`` canonical variates of ``g`` against ``zq (n, q)`` (linear relations); also returns
    the canonical correlations (sample values, so biased upward by the width)."""
    del seed
    wy, _, rho = canonical_weights(g, zq, dims)
    return (lambda x: x @ wy), rho


@PROJECTIONS.register("quadratic")
def _quadratic_projection(g: np.ndarray, zq: np.ndarray, dims: int, seed: int) -> tuple[Callable, np.ndarray]:
    """The top ``dims`` canonical variates of ``quadratic(g)``: also a shared scale (a Student-t's radius)."""
    del seed
    wy, _, rho = canonical_weights(quadratic(g), zq, dims)
    return (lambda x: quadratic(x) @ wy), rho


def canonical_weights(a: np.ndarray, b: np.ndarray, dims: int, shrink: float = CCA_SHRINK
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regularised CCA of ``a (n, p)`` and ``b (n, q)``: ``(weights (p, dims), weights (q, dims),
    correlations (dims,))``, the weights for the raw columns. Each (standardised) covariance is shrunk
    toward the identity by at least ``shrink`` and by ``width / n`` when wider (a wide side's sample
    covariance is far from its truth: 100 target columns from 480 rows read 0.14 of 1.0 nats with 0.05)."""
    a, b = a - a.mean(0), b - b.mean(0)
    sa, sb = a.std(0) + 1e-12, b.std(0) + 1e-12
    a, b = a / sa, b / sb
    n = len(a)
    ra, rb = (min(0.5, max(shrink, x.shape[1] / n)) for x in (a, b))
    la = np.linalg.cholesky((1 - ra) * (a.T @ a) / n + ra * np.eye(a.shape[1]))
    lb = np.linalg.cholesky((1 - rb) * (b.T @ b) / n + rb * np.eye(b.shape[1]))
    m = np.linalg.solve(la, np.linalg.solve(lb, (b.T @ a) / n).T)  # La^-1 Cab Lb^-T
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    k = min(dims, len(s))
    wa, wb = np.linalg.solve(la.T, u[:, :k]), np.linalg.solve(lb.T, vt[:k].T)
    return wa / sa[:, None], wb / sb[:, None], s[:k]


def held_out_canonical_nats(a_fit: np.ndarray, b_fit: np.ndarray, a_held: np.ndarray, b_held: np.ndarray,
                            dims: int) -> float:
    """``sum_k -1/2 log(1 - r_k^2)`` over the top ``dims`` canonical pairs fitted on the fit rows, ``r_k``
    their correlation on the held rows (negative ones count 0): the Gaussian information the directions
    carry out of sample, to compare projections by."""
    wa, wb, _ = canonical_weights(a_fit, b_fit, dims)
    r = [np.corrcoef(a_held @ wa[:, k], b_held @ wb[:, k])[0, 1] for k in range(wa.shape[1])]
    return float(sum(-0.5 * np.log1p(-min(max(v, 0.0), 0.999) ** 2) for v in np.nan_to_num(r)))


@dataclass(frozen=True)
class QuantiserSpec:
    """One candidate quantiser: a projection (registry name), its directions and its number of cells."""

    projection: str
    dims: int
    cells: int

    @property
    def name(self) -> str:
        dirs = f" {self.dims}-d" if self.projection != "kmeans" else ""
        return f"{self.projection}{dirs}, {self.cells} cells"


class TargetProjection:
    """``Y (n, k) -> (n, m)`` standardised features: rank Gaussianisation then a registered projection.

    ``fit(y, zq, gauss)``: ``zq (n, q)`` the fit rows' expanded features of ``Z`` (``canonical``
    only); ``gauss`` an already fitted :class:`Gaussianiser` of these rows (fitted here if None).
    Fitted: ``gauss_``, ``map_``, ``rho_`` (canonical correlations), ``centre_``, ``scale_``.
    """

    def __init__(self, projection: str = "kmeans", dims: int = 0, seed: int = 0) -> None:
        self.projection, self.dims, self.seed = projection, dims, seed

    def fit(self, y: np.ndarray, zq: np.ndarray | None = None, gauss: Gaussianiser | None = None, *,
            g: np.ndarray | None = None) -> "TargetProjection":
        """``g``: ``gauss.transform(y)`` where the caller has it already (the same rows are Gaussianised once)."""
        self.gauss_ = gauss if gauss is not None else Gaussianiser(seed=self.seed).fit(y)
        g = self.gauss_.transform(y) if g is None else g
        self.map_, self.rho_ = PROJECTIONS.get(self.projection)(g, zq, self.dims, self.seed)
        f = self.map_(g)
        self.centre_, self.scale_ = f.mean(0), f.std(0) + 1e-12
        return self

    def transform(self, y: np.ndarray, *, g: np.ndarray | None = None) -> np.ndarray:
        """``(n, m)``; ``g``: ``gauss_.transform(y)`` where the caller has it already."""
        return (self.map_(self.gauss_.transform(y) if g is None else g) - self.centre_) / self.scale_


class TargetQuantiser:
    """``q: Y (n, k) -> codes (n,)`` in ``0 .. n_cells_ - 1``, fitted on fit rows only.

    Quantile bins of a one-feature projection, k-means cells of a wider one. Fitted: ``proj_``
    (:class:`TargetProjection`), ``edges_`` or ``kmeans_``, ``n_cells_`` (distinct cells among the fit
    rows, at most ``spec.cells``: ties can merge quantile bins).
    """

    def __init__(self, spec: QuantiserSpec, seed: int = 0) -> None:
        self.spec, self.seed = spec, seed

    def fit(self, y: np.ndarray, zq: np.ndarray | None = None, gauss: Gaussianiser | None = None, *,
            g: np.ndarray | None = None) -> "TargetQuantiser":
        """``g``: ``gauss.transform(y)`` where the caller has it already (see :class:`TargetProjection`)."""
        gauss = gauss if gauss is not None else Gaussianiser(seed=self.seed).fit(y)
        g = gauss.transform(y) if g is None else g
        self.proj_ = TargetProjection(self.spec.projection, self.spec.dims, self.seed).fit(y, zq, gauss, g=g)
        f = self.proj_.transform(y, g=g)
        if f.shape[1] == 1:
            self.edges_ = np.unique(np.quantile(f[:, 0], np.arange(1, self.spec.cells) / self.spec.cells))
            self.kmeans_ = None
        else:
            with warnings.catch_warnings():   # tied targets: fewer distinct cells than asked, counted below
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.kmeans_ = KMeans(self.spec.cells, n_init=1, random_state=self.seed).fit(f)
        raw = self._raw(f)
        used = np.unique(raw)
        self.lookup_ = np.full(int(raw.max()) + 1, -1)
        self.lookup_[used] = np.arange(len(used))
        self.n_cells_ = len(used)
        return self

    def _raw(self, f: np.ndarray) -> np.ndarray:
        if self.kmeans_ is None:
            return np.searchsorted(self.edges_, f[:, 0], side="right")
        return self.kmeans_.predict(f.astype(self.kmeans_.cluster_centers_.dtype))

    def predict(self, y: np.ndarray, *, g: np.ndarray | None = None) -> np.ndarray:
        """``(n,)`` codes; ``g``: the Gaussianised ``y`` where the caller has it already."""
        raw = np.minimum(self._raw(self.proj_.transform(y, g=g)), len(self.lookup_) - 1)
        codes = self.lookup_[raw]
        # a quantile bin no fit row fell in (possible only with ties): the nearest used one above it
        return np.where(codes >= 0, codes, self.n_cells_ - 1)
