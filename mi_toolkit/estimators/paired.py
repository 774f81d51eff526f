"""Paired comparison of two estimates scored on the same examples, and Holm's correction.

Two :class:`~mi_toolkit.estimators.result.MIResult` with ``pointwise`` values over the same
examples (same inputs' rows, e.g. two representations of the same sentences cross-fitted
with the same seed) differ by the mean of the per-example differences; resampling the
examples jointly keeps the pairing, so the interval is much tighter than two separate
intervals would suggest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from predgen_core.errors import UserError


@dataclass(frozen=True)
class PairedDifference:
    """``mean(a_i - b_i)`` in nats with a 95% paired bootstrap interval and two p-values.

    ``p_greater``: one-sided, H0 "a does not exceed b"; ``p_two_sided``: H0 "no difference".
    Both are bootstrap p-values (the share of resampled means on the other side of 0),
    floored at ``1 / (n_boot + 1)``.
    """

    diff: float
    ci_low: float
    ci_high: float
    p_greater: float
    p_two_sided: float
    n: int
    n_boot: int


def _values(x: Any) -> np.ndarray:
    arr = getattr(x, "pointwise", x)
    if arr is None:
        raise UserError("this result carries no per-example values; use an estimator that scores "
                        "each example (e.g. 'probe')")
    return np.asarray(arr, dtype=np.float64).ravel()


def paired_difference(a: Any, b: Any, *, n_boot: int = 2000, seed: int = 0) -> PairedDifference:
    """Mean paired difference ``a - b`` over examples, with a paired bootstrap (within scoring folds).

    ``a``, ``b``: ``(n,)`` per-example values, or results with ``pointwise`` (and ``fold_ids``),
    scored on the same ``n`` examples in the same order.
    """
    va, vb = _values(a), _values(b)
    if va.shape != vb.shape:
        raise UserError(f"paired comparison needs the same examples: got {len(va)} and {len(vb)} values; "
                        "estimate both on the same rows")
    if len(va) < 2 or n_boot < 1:
        raise UserError("paired comparison needs at least 2 examples and n_boot >= 1")
    d = va - vb
    rng = np.random.default_rng(seed)
    # Cross-fitted results scored with the same folds are resampled within each fold, so the
    # interval keeps the fold structure; otherwise (arrays, or different folds) over all examples.
    fa, fb = getattr(a, "fold_ids", None), getattr(b, "fold_ids", None)
    same_folds = fa is not None and fb is not None and np.array_equal(fa, fb)
    strata = np.asarray(fa) if same_folds else np.zeros(len(d), int)
    boot = np.zeros(n_boot)
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        boot += d[rows][rng.integers(0, len(rows), (n_boot, len(rows)))].sum(axis=1)
    boot /= len(d)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    floor = 1.0 / (n_boot + 1)
    below = (1 + np.sum(boot <= 0)) / (n_boot + 1)
    above = (1 + np.sum(boot >= 0)) / (n_boot + 1)
    return PairedDifference(float(d.mean()), float(lo), float(hi), float(max(floor, min(1.0, below))),
                            float(max(floor, min(1.0, 2 * min(below, above)))), len(d), n_boot)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given), each at most 1."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1 or ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise UserError("holm() takes a list of p-values in [0, 1]")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
