"""The input check at the library boundary for labels: integer ``(N,)`` and ``(N, m)`` (m labels read jointly),
float ``(N,)`` / ``(N, k)`` continuous."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.ground import entropy_nats
from mi_toolkit.validate import MAX_LABEL_COLUMNS, check_task
from predgen_common.errors import UserError

Z = np.random.default_rng(0).standard_normal((60, 3))


def test_integer_labels_of_several_columns_are_read_jointly():
    y = np.random.default_rng(1).integers(0, 3, (60, 2)) * np.array([10, 1])   # values 0/10/20 and 0/1/2
    c = check_task(Z, y)
    assert c.discrete and c.y.shape == (60,) and c.columns.shape == (60, 2)
    rows = [tuple(r) for r in y]
    assert len(c.classes) == len(set(rows)) and all(tuple(c.classes[k]) == r for k, r in zip(c.y, rows))
    assert c.ceiling == pytest.approx(entropy_nats(c.y))   # the entropy of the rows
    np.testing.assert_array_equal(c.columns, np.stack([y[:, 0] // 10, y[:, 1]], 1))


def test_one_label_column_is_one_label_and_one_dimensional_labels_are_unchanged():
    y = np.random.default_rng(2).integers(0, 3, 60)
    one, col = check_task(Z, y), check_task(Z, y[:, None])
    np.testing.assert_array_equal(one.y, col.y)
    assert one.columns is None and col.columns is None


@pytest.mark.parametrize("shape, match", [((60, MAX_LABEL_COLUMNS + 1), "9 columns, above the 8"),
                                          ((60, 2, 2), "shape")])
def test_too_many_label_columns_or_dimensions_are_refused_in_one_line(shape, match):
    y = np.random.default_rng(3).integers(0, 2, shape)
    with pytest.raises(UserError, match=match) as err:
        check_task(Z, y)
    assert "\n" not in str(err.value)


def test_float_targets_of_two_columns_stay_continuous():
    c = check_task(Z, np.random.default_rng(4).standard_normal((60, 2)))
    assert not c.discrete and c.y.shape == (60, 2) and c.columns is None
