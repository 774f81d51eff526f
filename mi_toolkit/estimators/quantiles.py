"""Per-column quantiles from one sort, and scikit-learn's QuantileTransformer fitted with them.

``QuantileTransformer.fit`` takes ``np.nanpercentile`` of every column at 1,000 levels, which selects each
level by partitioning: 13 ms a column at 4,000 rows, a seventh of the ``binned`` bound's time on a 3 x 3
Student-t task (cProfile). One sort per column gives the same quantiles, to the bit.
"""
from __future__ import annotations

import numpy as np
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils import resample


def column_quantiles(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``(len(levels), d)`` quantiles of each column of ``x (n, d)``: ``np.quantile(x, levels, axis=0)`` to the
    bit (numpy's "linear" rule and its interpolation, written out), from one sort per column. numpy selects
    each of 1,000 levels by partitioning: about 100 times slower at 4,000 x 50 (270 ms against 3 ms)."""
    n = len(x)
    ordered = np.sort(x, axis=0)
    virtual = (n - 1) * np.asarray(levels, dtype=np.float64)
    below = np.floor(virtual)
    gamma = (virtual - below)[:, None]
    lo = below.astype(np.intp)
    hi = lo + 1
    top = virtual >= n - 1
    lo[top], hi[top] = n - 1, n - 1
    a, b = ordered[lo], ordered[hi]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=np.broadcast_to(gamma >= 0.5, out.shape))
    return out


class SortedQuantileTransformer(QuantileTransformer):
    """scikit-learn's ``QuantileTransformer`` whose dense fit takes the quantiles from :func:`column_quantiles`
    (subsampled as scikit-learn subsamples); everything else is scikit-learn's. Finite inputs only: the
    callers validate them (``nanpercentile`` would skip a NaN, a sort would not)."""

    def _dense_fit(self, X: np.ndarray, random_state: np.random.RandomState) -> None:
        if self.subsample is not None and self.subsample < len(X):
            X = resample(X, replace=False, n_samples=self.subsample, random_state=random_state)
        # nanpercentile's levels are the percents divided back by 100: the same floats, so the same quantiles
        self.quantiles_ = column_quantiles(X, np.true_divide(self.references_ * 100, 100))
