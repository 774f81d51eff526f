"""Preprocessing for the probe's array candidates, fitted on each split's train rows only.

* ``std``: standardise each feature;
* ``gauss``: standardise, but Gaussianise heavy-tailed features (excess kurtosis > 3) with a
  per-feature quantile transform (:func:`mi_toolkit.estimators.train.feature_transform`);
* ``pca``: PCA of the raw features (the few high-variance directions of LM states stay on
  top), components whitened;
* ``spca``: standardise first, then PCA (spreads the variance: other directions survive).

Both PCA orders are kept because they keep different directions (lesson 2 of the probing
notes). The PCA is one top-``k_max`` solve per split and order
(:func:`mi_toolkit.estimators.probe_pca.top_components`: only the components the candidates use,
from the ``n x n`` Gram matrix when the split has fewer rows than features); ``PCA_k`` is its first
``k`` components, so ``PCA_k`` contains ``PCA_{k-1}`` exactly, and every ``k`` and head of one split
shares the solve.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mi_toolkit.estimators.probe_pca import whiten
from mi_toolkit.estimators.train import excess_kurtosis, feature_transform

PREPS = ("std", "gauss", "pca", "spca")
Split = tuple[np.ndarray, np.ndarray]


def _standardise(train: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (train - mu) / sd, (score - mu) / sd


def transform(X: np.ndarray, prep: str, k: int | None, split_id: int, split: Split, seed: int,
              cache: dict[Any, tuple[np.ndarray, np.ndarray]], k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train (n_tr, p), score (n_sc, p))`` float32 features of one split for one preprocessing.

    ``X (N, d)``; ``split = (train_idx, score_idx)``, ``split_id`` its number in this run; ``k``
    components for the PCA preps (``cache``, one per input and run, keeps the ``k_max``-component
    version per split, sliced for smaller ``k``).
    """
    tr, sc = split
    key = (prep, split_id)
    if key not in cache:
        a, b = X[tr].astype(np.float64), X[sc].astype(np.float64)
        if prep == "std":
            out = _standardise(a, b)
        elif prep == "gauss":
            ft = feature_transform(a, seed)
            out = ft.transform(a), ft.transform(b)
        elif prep == "pca":
            out = whiten(a, b, k_max, seed=seed)
        elif prep == "spca":
            out = whiten(*_standardise(a, b), k_max, seed=seed)
        else:
            raise ValueError(f"unknown preprocessing {prep!r}")
        cache[key] = (out[0].astype(np.float32), out[1].astype(np.float32))
    a, b = cache[key]
    return (a[:, :k], b[:, :k]) if k is not None else (a, b)


def has_heavy_tails(X: np.ndarray, limit: float = 3.0) -> bool:
    """Whether some feature has excess kurtosis above ``limit`` (label-free, so it may look at all rows)."""
    return bool((excess_kurtosis(X) > limit).any())


class GridFamily:
    """What every candidate family shares: a grid of head settings (field ``GRID``), one candidate each."""

    GRID = "grid"

    @property
    def size(self) -> int:
        """Grid values (candidates) in the family."""
        return len(getattr(self, self.GRID))

    def one(self, g: int) -> Any:
        """The family of grid value ``g`` alone (a stand-alone candidate)."""
        from dataclasses import replace

        return replace(self, **{self.GRID: (getattr(self, self.GRID)[g],)})


def split_log_prior(y: np.ndarray, n_classes: int) -> np.ndarray:
    """``(C,)`` log class frequencies of ``y`` (+0.5 to every count if a class is absent, so all stay finite)."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    if counts.min() == 0:
        counts += 0.5
    return np.log(counts / counts.sum())
