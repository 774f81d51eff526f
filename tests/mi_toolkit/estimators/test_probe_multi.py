"""Several discrete labels read at once (integer ``Y (N, m)``): the joint code beside the factorised candidate."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit import estimate, estimate_many
from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.probe_multi import (FACTORISED, ColumnScores, factorised_candidate, factorised_name,
                                               split_labels)
from mi_toolkit.validate import MAX_LABEL_COLUMNS, check_task
from predgen_common.errors import UserError

FAST = ProbeConfig(n_bootstrap=200, folds=3)
N, K = 240, 6   # 36 joint classes at 240 rows: about 4 training rows per joint class


def _bins(v: np.ndarray, k: int) -> np.ndarray:
    """``(N,)`` codes ``0..k-1``: ``v`` cut at its quantiles (a deterministic, balanced label)."""
    return np.searchsorted(np.quantile(v, np.linspace(0, 1, k + 1)[1:-1]), v)


@pytest.fixture(scope="module")
def blocks():
    """Features ``(N, 6)``; each label column a function of its own block (columns 0-2, 3-5)."""
    z = np.random.default_rng(0).standard_normal((N, 6))
    return z, _bins(z[:, 0], K), _bins(z[:, 3], K)


def test_factorised_reads_about_the_sum_of_its_columns_where_the_joint_code_cannot(blocks):
    z, ya, yb = blocks
    one, two = (estimate(z, y, config=FAST, device="cpu") for y in (ya, yb))
    joint = estimate(z, K * ya + yb, config=FAST, device="cpu")
    both = estimate(z, np.stack([ya, yb], 1), config=FAST, device="cpu")
    assert both.chosen.startswith(f"{FACTORISED}: col0 ") and "; col1 " in both.chosen, both.chosen
    # scored against the columns' prior product (the joint prior overfits 36 classes at 160 training rows), the
    # pair reads about the sum of its columns
    assert abs(both.mi - (one.mi + two.mi)) < 0.1, (both.describe(), one.mi, two.mi)
    assert both.mi > joint.mi + 0.8 and both.ci_low > joint.ci_high, (both.describe(), joint.describe())
    assert both.n_classes == len(np.unique(K * ya + yb)) and both.ci_low < both.mi < both.ci_high
    # the marginal term: the columns' prior product, below the joint prior's held-out cross-entropy here
    assert both.ceiling < joint.ceiling
    assert "2 columns" in both.interval_method and both.selection is not None
    names = [row["name"] for row in both.candidates]
    assert names[0] == "prior" and names[-1].startswith(FACTORISED) and both.chosen in names


def test_independent_labels_read_not_detected():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((N, 6)), rng.integers(0, 3, (N, 2))
    both = estimate(z, y, config=FAST, device="cpu")
    joint = estimate(z, 3 * y[:, 0] + y[:, 1], config=FAST, device="cpu")
    assert not both.detected and not joint.detected, (both.describe(), joint.describe())
    factorised = [row for row in both.candidates if row["name"].startswith(FACTORISED)]
    assert len(factorised) == 1 and factorised[0]["cv_mi"] < 0.02, factorised


def test_contains_parts_reach_every_column():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    y = np.stack([_bins(a[:, 0], 3), _bins(b[:, 0], 3)], 1)
    noise = rng.standard_normal((N, 4))   # the container reads nothing; each column only from its part
    res = estimate(noise, y, config=FAST, device="cpu", contains={"a": a, "b": b})
    assert res.chosen.startswith(f"{FACTORISED}: col0 a:") and "; col1 b:" in res.chosen, res.chosen
    assert res.detected and res.mi > 1.2, res.describe()
    assert res.config["parts"] == ["a", "b"]


def test_many_columns_are_refused_in_one_line():
    z = np.random.default_rng(3).standard_normal((60, 2))
    y = np.random.default_rng(3).integers(0, 2, (60, MAX_LABEL_COLUMNS + 1))
    with pytest.raises(UserError, match=f"9 columns, above the {MAX_LABEL_COLUMNS}") as err:
        estimate(z, y, device="cpu")
    assert "\n" not in str(err.value) and "code some together" in str(err.value)


def test_an_explicit_held_out_set_reads_both_ways(blocks):
    z, ya, yb = blocks
    y = np.stack([ya, yb], 1)
    for select_on in ("test", "fit"):
        cfg = ProbeConfig(n_bootstrap=200, folds=3, select_on=select_on)
        res = estimate_many([(z[:160], y[:160])], "probe", config=cfg, test=[(z[160:], y[160:])], device="cpu")[0]
        assert res.n_eval == 80 and np.isfinite(res.pointwise).all(), select_on
        assert res.chosen.startswith(FACTORISED) and res.mi > 1.5, (select_on, res.describe())


def test_other_estimators_read_the_joint_code(blocks):
    z, ya, yb = blocks
    cols = estimate(z, np.stack([ya, yb], 1), "ksg", device="cpu")
    code = estimate(z, K * ya + yb, "ksg", device="cpu")
    assert cols.mi == pytest.approx(code.mi) and cols.n_classes == code.n_classes


def test_split_labels_codes_rows_as_the_input_check_does():
    y = np.tile([[5, 1], [2, 0], [5, 0], [2, 0], [2, 1]], (5, 1))   # 25 rows: the check needs 20
    codes, cols = split_labels(y)
    np.testing.assert_array_equal(codes, check_task(np.random.default_rng(0).standard_normal((25, 2)), y).y)
    np.testing.assert_array_equal(codes[:5], [3, 0, 2, 0, 1])
    np.testing.assert_array_equal(cols[:5], [[1, 1], [0, 0], [1, 0], [0, 0], [0, 1]])
    flat, none = split_labels(np.array([2, 0, 1]))
    assert none is None and flat.tolist() == [2, 0, 1]


def test_rows_where_every_column_reads_its_prior_read_the_joint_prior():
    n = 4
    col = lambda v: ColumnScores({"m": np.full(n, v)}, np.full(n, -1.0), set())  # noqa: E731
    fold = np.array([0, 0, 1, 1])
    joint_prior = np.full(n, -1.5)
    out = factorised_candidate([col(-0.1), col(-0.2)], [(fold, ["m", "prior", "m"]), (fold, ["prior", "prior", "m"])],
                               joint_prior, "prior")
    (name, vals), = out.items()
    assert name == factorised_name(["m", "m"]) == "factorised: col0 m; col1 m"
    # fold 0: col0 m + col1 prior; fold 1: both priors -> the joint prior (reads 0)
    np.testing.assert_allclose(vals, [-1.1, -1.1, -1.5, -1.5])


def test_fit_critic_refuses_several_label_columns_in_one_line():
    from mi_toolkit import fit_critic

    rng = np.random.default_rng(5)
    with pytest.raises(UserError, match="fit_critic reads one label"):
        fit_critic(rng.standard_normal((60, 3)), rng.integers(0, 2, (60, 2)), device="cpu")
