"""Paired comparison of two estimates scored on the same examples, and Holm's correction.

Two :class:`~mi_toolkit.estimators.result.MIResult` with ``pointwise`` values over the same
examples (same inputs' rows, e.g. two representations of the same sentences cross-fitted
with the same seed) differ by the mean of the per-example differences; resampling the
examples jointly keeps the pairing, so the interval is much tighter than two separate
intervals would suggest.

What the interval covers depends on what the two results carry:

- both probe results with a selection record (:mod:`~mi_toolkit.estimators.reselect`): the
  select-and-score step is resampled jointly for both (the same resampled examples, the same
  re-dealt folds for a held-out set, every fold's candidate re-chosen), so the interval covers
  which examples were drawn, how they fell into folds and which candidate each fold chose;
- otherwise (plain arrays, or results from estimators without one): the examples only, resampled
  within the scoring folds when both share them (conditional on the fold assignment and the
  candidates chosen).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.estimators.reselect import compatible, reselect_draws


@dataclass(frozen=True)
class PairedDifference:
    """``mean(a_i - b_i)`` in nats with a 95% paired bootstrap interval and two p-values.

    ``p_greater``: one-sided, H0 "a does not exceed b"; ``p_two_sided``: H0 "no difference".
    Both come from Student's t on the standard error of the paired difference: the spread of the
    select-and-score draws when those are resampled, else the paired standard error of the mean
    (within scoring folds when both results share them, as the bootstrap resamples): they have no floor, so a large
    difference reaches a verdict in a family of any size after Holm's correction. A bootstrap
    p-value cannot go below ``2 / (n_boot + 1)``, which Holm multiplies by the family size: with
    B = 2,000 no comparison could pass at 0.05 in a family of more than 50. The interval stays
    the percentile bootstrap's.
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
    """Mean paired difference ``a - b`` over examples, with a paired bootstrap of the select-and-score step
    when both results carry its record, else of the examples (within scoring folds).

    ``a``, ``b``: ``(n,)`` per-example values, or results with ``pointwise`` (and ``fold_ids``,
    ``selection``), scored on the same ``n`` examples in the same order.
    """
    va, vb = _values(a), _values(b)
    if va.shape != vb.shape:
        raise UserError(f"paired comparison needs the same examples: got {len(va)} and {len(vb)} values; "
                        "estimate both on the same rows")
    if len(va) < 2 or n_boot < 1:
        raise UserError("paired comparison needs at least 2 examples and n_boot >= 1")
    d = va - vb
    records = [getattr(a, "selection", None), getattr(b, "selection", None)]
    if compatible(records):
        return _reselected(d, records, n_boot, seed)
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
    p_greater, p_two = t_pvalues(d, strata)
    return PairedDifference(float(d.mean()), float(lo), float(hi), p_greater, p_two, len(d), n_boot)


def _reselected(d: np.ndarray, records: list, n_boot: int, seed: int) -> PairedDifference:
    """The paired difference with the select-and-score step of both results resampled jointly; p-values
    from Student's t on the draws' standard error (no floor from ``n_boot``)."""
    from scipy.stats import t as student

    draws = reselect_draws(records, n_boot, seed)
    boot = draws[:, 0] - draws[:, 1]
    lo, hi = np.quantile(boot, [0.025, 0.975])
    mean, se = float(d.mean()), float(boot.std(ddof=1))
    if se <= 1e-15 * max(1.0, abs(mean)):   # the same candidate's values in every draw: no difference, or certain
        p_greater, p_two = (0.0 if mean > 0 else 1.0), (0.0 if mean != 0 else 1.0)
    else:
        z, df = mean / se, max(len(d) - 1, 1)
        p_greater, p_two = float(student.sf(z, df)), float(min(1.0, 2 * student.sf(abs(z), df)))
    return PairedDifference(mean, float(lo), float(hi), p_greater, p_two, len(d), n_boot)


def t_pvalues(d: np.ndarray, strata: np.ndarray) -> tuple[float, float]:
    """``(p_greater, p_two_sided)`` of ``mean(d) > 0`` and ``!= 0``: Student's t on the standard error of
    the mean of ``d`` ``(n,)``, stratified by ``strata`` ``(n,)`` (the variance of a stratified mean)."""
    from scipy.stats import t as student

    n = len(d)
    var = sum(np.sum(strata == s) * np.var(d[strata == s], ddof=1) if np.sum(strata == s) > 1 else 0.0
              for s in np.unique(strata))
    se = float(np.sqrt(var)) / n
    mean = float(d.mean())
    if se <= 1e-15 * max(1.0, abs(mean)):  # identical differences: certain, either way
        return (0.0 if mean > 0 else 1.0), (0.0 if mean != 0 else 1.0)
    df = max(n - len(np.unique(strata)), 1)
    z = mean / se
    return float(student.sf(z, df)), float(min(1.0, 2 * student.sf(abs(z), df)))


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
