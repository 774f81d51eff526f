"""Quantiles from one sort: numpy's to the bit, and scikit-learn's QuantileTransformer fitted with them."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import QuantileTransformer

from mi_toolkit.estimators.quantiles import SortedQuantileTransformer, column_quantiles

CASES = [(4000, 5, "normal"), (1200, 3, "ties"), (500, 4, "heavy"), (37, 2, "normal")]


def _sample(n: int, d: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(n + d)
    return {"normal": rng.standard_normal, "heavy": rng.standard_cauchy}.get(kind, lambda s: np.round(
        rng.standard_normal(s), 1))((n, d))


@pytest.mark.parametrize("n, d, kind", CASES)
def test_column_quantiles_match_numpy_to_the_bit(n, d, kind):
    x = _sample(n, d, kind)
    levels = np.linspace(0.0, 1.0, min(1000, n))
    assert np.array_equal(column_quantiles(x, levels), np.quantile(x, levels, axis=0))


@pytest.mark.parametrize("n, d, kind", [*CASES, (12000, 2, "ties")])   # the last one is subsampled (10,000)
@pytest.mark.parametrize("dist", ["normal", "uniform"])
def test_the_transformer_fits_and_maps_as_scikit_learn_s(n, d, kind, dist):
    x = _sample(n, d, kind)
    new = _sample(300, d, kind) * 1.5   # beyond the fit rows' range too
    kw = {"n_quantiles": min(1000, n), "output_distribution": dist, "random_state": 3}
    ours, theirs = SortedQuantileTransformer(**kw).fit(x), QuantileTransformer(**kw).fit(x)
    assert np.array_equal(ours.quantiles_, theirs.quantiles_)   # to the bit
    assert np.array_equal(ours.transform(new), theirs.transform(new))
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x[:50])), x[:50], atol=1e-6)
