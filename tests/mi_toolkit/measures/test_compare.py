"""Paired comparisons: fold-stratified paired bootstrap, Holm over a family, the four verdicts."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators.result import MIResult
from mi_toolkit.measures.compare import VERDICTS, adjust, compare, paired_bootstrap
from mi_toolkit.reports.html import comparison_table
from predgen_common.errors import UserError


def res(values, folds=None):
    v = np.asarray(values, float)
    rng = np.random.default_rng(0)
    lo, hi = np.quantile(v[rng.integers(0, len(v), (200, len(v)))].mean(1), [0.025, 0.975])
    return MIResult(mi=float(v.mean()), ci_low=float(lo), ci_high=float(hi), estimator="probe", ceiling=0.69,
                    above_ceiling=False, n_train=10, n_test=len(v), p_value=0.5, seconds=0.0, seed=0,
                    pointwise=v, fold_ids=folds)


def test_pairing_sees_a_small_shift_that_separate_intervals_miss():
    rng = np.random.default_rng(0)
    base = rng.normal(0.2, 1.0, 400)           # large per-example spread shared by both
    a, b = res(base + 0.05), res(base)
    assert a.ci_low < b.ci_high                 # the separate intervals overlap
    c = adjust([compare("within", "a", a, "b", b)])[0]
    assert c.verdict == "reads higher" and c.ci_low > 0 and abs(c.diff - 0.05) < 1e-9
    assert "reads higher than" in c.sentence() and "keeps" not in c.sentence()


def test_holm_turns_a_marginal_family_member_into_no_difference():
    rng = np.random.default_rng(1)
    base = rng.normal(0.3, 1.0, 300)
    fam = [compare("across", f"m{i}", res(base + rng.normal(0.012, 0.1, 300)), "ref", res(base)) for i in range(6)]
    raw = [c.p_two_sided for c in fam]
    adjust(fam)
    assert all(c.p_holm >= p for c, p in zip(fam, raw))
    assert {c.verdict for c in fam} <= set(VERDICTS)
    assert any(p < 0.05 for p in raw) or all(c.verdict == "no difference detected at this n" for c in fam)


def test_two_readings_of_nothing_are_not_detected_and_bad_pairs_fail():
    rng = np.random.default_rng(2)
    a, b = res(rng.normal(0, 0.1, 200)), res(rng.normal(0, 0.1, 200))
    assert not a.detected and not b.detected
    c = adjust([compare("within", "a", a, "b", b)])[0]
    assert c.verdict == "not detected"
    assert c.holm() == "-" and "Holm p" not in c.sentence()  # not a test: no p beside the verdict
    assert "<td>-</td>" in comparison_table([c], "a", "b", "diff")
    with pytest.raises(UserError, match="same examples"):
        paired_bootstrap(res(np.ones(10)), res(np.ones(12)))


def test_cross_fitted_results_are_resampled_within_folds():
    folds = np.repeat(np.arange(4), 50)
    v = np.where(folds % 2 == 0, 1.0, -1.0)      # fold-level differences dominate
    a = res(v + 0.1, folds)
    b = res(np.zeros(200), folds)
    diff, lo, hi, _ = paired_bootstrap(a, b, n_boot=300)
    assert abs(diff - 0.1) < 1e-12 and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


def test_a_large_difference_reaches_a_verdict_in_a_family_of_60():
    """No p-value floor: a bootstrap p (>= 2/(B+1)) times Holm's 60 could never pass at 0.05 with B = 2,000."""
    rng = np.random.default_rng(5)
    fam = []
    for i in range(60):
        base = rng.normal(0.3, 0.3, 600)
        shift = 0.2 if i == 17 else 0.0
        fam.append(compare("sweep", f"a{i}", res(base + shift + rng.normal(0, 0.05, 600)), f"b{i}", res(base)))
    adjust(fam)
    assert fam[17].verdict == "reads higher" and fam[17].p_holm < 1e-6
    assert sum(c.verdict != "no difference detected at this n" for c in fam) == 1
    # the t p-value agrees with the bootstrap interval on the same example
    assert fam[17].ci_low > 0.18 and fam[17].p_two_sided < 1e-10
