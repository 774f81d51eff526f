"""k-nearest-neighbour MI estimators on scikit-learn neighbours (max-norm).

* continuous ``Y``: Kraskov, Stoegbauer & Grassberger (2004), algorithm 1;
* discrete ``Y``: Ross (2014), "Mutual information between discrete and continuous
  data sets", PLoS ONE 9(2): e87357.

Both are sums of per-sample digamma terms; :func:`ksg_terms` returns those terms so
that the caller can bootstrap them. Nothing is trained, so every sample is used
(there is no held-out split).
"""
from __future__ import annotations

import numpy as np
from scipy.special import digamma
from sklearn.neighbors import KDTree, NearestNeighbors


def _kth_distance(x: np.ndarray, k: int) -> np.ndarray:
    """Max-norm distance from each row of ``x (n, d)`` to its k-th neighbour (self excluded)."""
    nn = NearestNeighbors(n_neighbors=k + 1, metric="chebyshev").fit(x)
    dist, _ = nn.kneighbors(x)
    return dist[:, -1]


def _count_within(x: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Number of *other* rows of ``x`` within max-norm ``radius`` (per row, inclusive)."""
    tree = KDTree(x, metric="chebyshev")
    return tree.query_radius(x, radius, count_only=True) - 1


def kraskov_terms(z: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per-sample KSG-1 terms ``psi(k) + psi(N) - psi(n_z + 1) - psi(n_y + 1)``; mean = MI.

    ``z (N, d)``, ``y (N, k_y)``, both already standardised.
    """
    n = len(z)
    eps = _kth_distance(np.hstack([z, y]), k)
    # strictly inside eps: shrink the radius by one ulp
    r = np.nextafter(eps, 0)
    nz = _count_within(z, r)
    ny = _count_within(y, r)
    return digamma(k) + digamma(n) - digamma(nz + 1) - digamma(ny + 1)


def ross_terms(z: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per-sample Ross (2014) terms ``psi(N) - psi(N_y) + psi(k) - psi(m)``; mean = MI.

    ``y (N,)`` integer codes. Samples of a class with at most ``k`` members cannot
    have ``k`` same-class neighbours and get a zero term (they carry no estimate).
    """
    n = len(z)
    radius = np.zeros(n)
    counts = np.bincount(y)
    usable = counts[y] > k
    for c in np.flatnonzero(counts > k):
        rows = np.flatnonzero(y == c)
        radius[rows] = _kth_distance(z[rows], k)
    m = np.ones(n)
    m[usable] = _count_within(z, radius)[usable]
    terms = digamma(n) - digamma(counts[y]) + digamma(k) - digamma(np.maximum(m, 1))
    terms[~usable] = 0.0
    return terms


def ksg_terms(z: np.ndarray, y: np.ndarray, discrete: bool, k: int) -> np.ndarray:
    """Per-sample k-NN terms for a discrete (Ross) or continuous (Kraskov) ``y``."""
    return ross_terms(z, y, k) if discrete else kraskov_terms(z, y, k)
