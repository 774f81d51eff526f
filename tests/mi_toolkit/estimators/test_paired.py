"""paired_difference and holm on toy arrays."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators.paired import holm, paired_difference
from predgen_common.errors import UserError


def test_paired_difference_sees_a_small_shift_two_intervals_would_miss():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(2000)             # large shared per-example spread
    a, b = base + 0.05 + 0.01 * rng.standard_normal(2000), base
    d = paired_difference(a, b, n_boot=500, seed=1)
    assert d.diff == pytest.approx(0.05, abs=0.005) and d.ci_low > 0.04 and d.p_greater < 0.01
    same = paired_difference(b, b + 0.01 * rng.standard_normal(2000), n_boot=500, seed=1)
    assert same.ci_low < 0 < same.ci_high and same.p_two_sided > 0.05
    assert paired_difference(a, b, n_boot=500, seed=1) == d     # deterministic for a seed


def test_paired_difference_needs_the_same_examples():
    with pytest.raises(UserError, match="same examples"):
        paired_difference(np.zeros(5), np.zeros(6))


def test_holm_adjusts_in_order():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    assert holm([0.6, 0.6]).max() <= 1.0
    with pytest.raises(UserError):
        holm([1.5])
