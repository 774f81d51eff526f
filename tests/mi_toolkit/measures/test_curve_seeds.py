"""mi curve over seeds (measures.curve_seeds): a group of checkpoints per method, read on one pool; the mean
over seeds with its two-level interval and both spreads at every size; method verdicts only from >= 3 seeds."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.measures.curve import CurveConfig, learning_curve
from mi_toolkit.measures.curve_seeds import per_example_means, seed_curves
from mi_toolkit.measures.dpi import NO_METHOD_VERDICT, ONE_RUN
from mi_toolkit.reports.curve import seed_curves_html
from predgen_common.errors import UserError

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=200)
SIZES = (40, 320)
N = 400


def _signal(n=N):
    rng = np.random.default_rng(0)
    s = rng.standard_normal(n)
    return s, (s + 0.7 * rng.standard_normal(n) > 0).astype(np.int64)


@lru_cache(maxsize=None)
def _curve(group: str, k: int, sizes=SIZES, seed=0):
    """One "trained seed": the label signal scaled by the method's gain times a seed effect, plus seed noise,
    beside three pure-noise columns (the representation ``noise``)."""
    s, y = _signal()
    gain = {"strong": 1.0, "weak": 0.3}[group] * (0.9, 1.0, 1.1)[k]     # the seed effect: known, not drawn
    r = np.random.default_rng(100 * k + len(group))
    x = np.c_[gain * s + 0.5 * r.standard_normal(N),
              r.standard_normal((N, 3))].astype(np.float32)
    return learning_curve({"x": x, "noise": x[:, 1:]}, y, config=CurveConfig(sizes=sizes, probe=FAST), seed=seed)


def _groups(k_strong: int, k_weak: int):
    curves, groups = {}, {}
    for g, k in (("strong", k_strong), ("weak", k_weak)):
        groups[g] = [f"{g}/seed-{i}" for i in range(k)]
        curves.update({f"{g}/seed-{i}": _curve(g, i) for i in range(k)})
    return curves, groups


def test_means_over_seeds_carry_a_two_level_interval_both_spreads_and_a_method_verdict():
    curves, groups = _groups(3, 3)
    sc = seed_curves(curves, groups, unfinished={"weak": ["seed-3.trainer"]})
    assert sc.sizes == list(SIZES) and sc.seeds() == {"strong": 3, "weak": 3}
    top = sc.readings["strong"]["x"][-1]
    per_seed = [curves[m].results["x"][-1] for m in groups["strong"]]
    assert abs(top.mean - np.mean([r.mi for r in per_seed])) < 1e-9      # the mean over seeds
    assert top.ci_low < top.mean < top.ci_high and top.n_seeds == (3,) and top.n_examples == N
    # the spreads apart (retraining moves the reading; one checkpoint's SE over examples), then combined
    assert top.between_seed_sd == pytest.approx(np.std([r.mi for r in per_seed], ddof=1), rel=1e-6)
    assert top.between_seed_sd > 0.005 and top.within_seed_se > 0.005
    assert top.total_se ** 2 >= top.between_seed_sd ** 2 / 3
    # wider than any one checkpoint's interval: it covers the seeds as well as the examples
    assert top.ci_high - top.ci_low > min(r.ci_high - r.ci_low for r in per_seed)
    by = {(c.representation, c.n): c for c in sc.comparisons}
    assert set(by) == {(r, n) for r in ("x", "noise") for n in SIZES}
    big = by[("x", SIZES[-1])]
    assert big.verdict == "reads higher" and big.comparison.summary.n_seeds == (3, 3) and not big.one_run
    assert by[("noise", SIZES[0])].verdict == "not detected"      # two readings of nothing are not compared
    assert sc.has_method_verdict and "weak: 3 seeds (left out, no finished checkpoint: seed-3.trainer)" in \
        sc.stands_on()
    d = json.loads(json.dumps(sc.to_dict()))
    assert set(d["per_seed"]) == set(curves) and d["per_seed"]["weak/seed-2"]["sizes"] == list(SIZES)
    assert d["over_seeds"]["readings"]["strong"]["x"][1]["n"] == SIZES[-1] and d["over_seeds"]["has_method_verdict"]
    assert d["over_seeds"]["no_method_verdict"] is None and d["unfinished"] == {"weak": ["seed-3.trainer"]}
    page = seed_curves_html(sc, per_example=per_example_means(sc))
    assert "two-level" in page and "strong x (3 seeds)" in page and "Each mean stands on" in page
    assert NO_METHOD_VERDICT not in page and "0.000 [0.000, 0.000]" not in page


def test_one_checkpoint_per_method_compares_two_checkpoints_and_gives_no_method_verdict():
    curves, groups = _groups(1, 1)
    sc = seed_curves(curves, groups)
    c = next(c for c in sc.comparisons if (c.representation, c.n) == ("x", SIZES[-1]))
    assert c.one_run and ONE_RUN in c.sentence() and c.verdict.startswith("no method verdict")
    assert c.comparison.summary.ci_low > 0       # the checkpoints do differ; that is not a method difference
    assert not sc.has_method_verdict and sc.to_dict()["over_seeds"]["no_method_verdict"] == NO_METHOD_VERDICT
    page = seed_curves_html(sc)
    assert "compares two checkpoints, not two methods" in page and "No method verdict" in page
    assert "none (1 seed)" in page
    two = seed_curves(*_groups(2, 2))        # two seeds each: still no method verdict, and not "one run"
    c = next(c for c in two.comparisons if (c.representation, c.n) == ("x", SIZES[-1]))
    assert c.verdict.startswith("no method verdict") and not c.one_run and not two.has_method_verdict


def test_curves_not_measured_alike_are_one_line():
    curves, groups = _groups(1, 1)
    with pytest.raises(UserError, match="differ in sizes"):
        seed_curves({**curves, "weak/seed-0": _curve("weak", 0, sizes=(40, 160))}, groups)
    with pytest.raises(UserError, match="different pools or folds"):
        seed_curves({**curves, "weak/seed-0": _curve("weak", 0, seed=3)}, groups)
    with pytest.raises(UserError, match="without a curve"):
        seed_curves(curves, {**groups, "other": ["other/seed-0"]})
