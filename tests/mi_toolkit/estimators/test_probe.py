"""The probe estimator: cross-fitting, held-out path, nesting, null behaviour, determinism, bad input."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from mi_toolkit import estimate, estimate_many
from mi_toolkit.bench.synthetic import BenchTask
from mi_toolkit.estimators import KSGConfig, NeuralConfig, ProbeConfig
from mi_toolkit.estimators.views import TokenStates
from predgen_common.errors import UserError

FAST = ProbeConfig(n_bootstrap=200)
MIX = BenchTask("mix-d4-c3", "mix", True, 4, (3, 2.5))


@pytest.fixture(scope="module")
def mix():
    z, y = MIX.sample(1000, seed=1)
    return z, y, estimate(z, y, "probe", config=FAST, device="cpu")


def test_cross_fit_scores_every_example_once(mix):
    z, y, res = mix
    assert abs(res.mi - MIX.truth) < 0.08 and res.detected
    assert res.pointwise.shape == (1000,) and res.mi == pytest.approx(res.pointwise.mean())
    assert sorted(np.unique(res.fold_ids)) == [0, 1, 2, 3, 4] and res.n_folds == 5
    assert res.n_eval == 1000 and res.n_fit == 800
    assert res.ci_low < res.mi < res.ci_high and res.p_value < 0.01
    assert res.chosen in {row["name"] for row in res.candidates} and "prior" in {r["name"] for r in res.candidates}
    assert "cross-fitted" in res.interval_method
    # the ceiling is H(Y) under the prior the estimate uses, so the estimate can never pass it
    assert res.ceiling == pytest.approx(math.log(3), abs=0.01) and not res.above_ceiling
    json.dumps(res.to_dict(per_example=True))


def test_deterministic_for_a_seed(mix):
    z, y, res = mix
    again = estimate(z, y, "probe", config=FAST, device="cpu")
    np.testing.assert_array_equal(res.pointwise, again.pointwise)
    assert (res.mi, res.ci_low, res.chosen) == (again.mi, again.ci_low, again.chosen)


def test_independent_labels_read_not_detected():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((1000, 40)), rng.integers(0, 2, 1000)
    res = estimate(z, y, "probe", config=FAST, device="cpu")
    assert abs(res.mi) <= 0.02 and not res.detected
    text = res.describe()
    assert text.startswith("no information detected at this n") and "0.000 [0.000, 0.000]" not in text


def test_a_constant_input_is_not_detected_even_when_a_model_ties_the_prior():
    # e.g. layer 0 of an LM read at the prompt's fixed last token: every row the same
    y = np.random.default_rng(4).integers(0, 2, 600)
    z = np.ones((600, 8))
    (res,) = estimate_many([(z[:400], y[:400])], "probe", config=FAST, device="cpu", test=[(z[400:], y[400:])])
    assert abs(res.mi) < 1e-4 and not res.detected
    assert res.describe().startswith("no information detected at this n")


def test_explicit_held_out_set_fits_on_fit_and_selects_on_other_held_out_folds(mix):
    z, y, _ = mix
    (res,) = estimate_many([(z[:700], y[:700])], "probe", config=FAST, device="cpu", test=[(z[700:], y[700:])])
    assert res.n_eval == 300 and res.n_fit == 700 and res.n_folds == 0
    assert sorted(np.unique(res.fold_ids)) == [0, 1, 2, 3, 4] and abs(res.mi - MIX.truth) < 0.12
    assert "held-out" in res.interval_method and "other held-out folds" in res.interval_method
    (old,) = estimate_many([(z[:700], y[:700])], "probe", config=replace(FAST, select_on="fit"), device="cpu",
                           test=[(z[700:], y[700:])])
    assert (old.fold_ids == -1).all() and "CV log-loss on the fit set" in old.interval_method


def _shifted(seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A weak real signal (column 0) and a column that tracks the label on the fit set only."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 1400)
    real = (2 * y - 1) * 0.5 + rng.standard_normal(1400)
    spurious = np.where(np.arange(1400) < 1000, 2 * y - 1, rng.choice([-1, 1], 1400)) + 0.3 * rng.standard_normal(1400)
    Z = np.stack([real, spurious], axis=1)
    return Z[:1000], y[:1000], Z[1000:], y[1000:]


def test_selection_on_held_out_folds_keeps_a_container_above_its_part_under_shift():
    zf, yf, zt, yt = _shifted()
    part = {"real": (zf[:, :1], zt[:, :1])}
    runs = {}
    for how in ("fit", "test"):
        cfg = replace(FAST, select_on=how)
        (alone,) = estimate_many([(zf[:, :1], yf)], "probe", config=cfg, device="cpu", test=[(zt[:, :1], yt)])
        (both,) = estimate_many([(zf, yf)], "probe", config=cfg, device="cpu", test=[(zt, yt)], contains=[part])
        runs[how] = (alone.mi, both.mi)
    # selected on the fit set, the container trusts the spurious column and reads far below its part
    assert runs["fit"][1] < runs["fit"][0] - 0.1
    assert runs["test"][1] >= runs["test"][0] - 0.02


def test_unknown_selection_is_a_user_error(mix):
    z, y, _ = mix
    with pytest.raises(UserError, match="select_on"):
        estimate(z, y, "probe", config=replace(FAST, select_on="both"), device="cpu")


def test_container_cannot_read_below_its_part():
    # the label sits in 2 of 202 dims; the container alone needs a strong penalty, its part does not
    rng = np.random.default_rng(5)
    part = rng.standard_normal((600, 2))
    y = (part[:, 0] + 0.5 * rng.standard_normal(600) > 0).astype(int)
    Z = np.concatenate([rng.standard_normal((600, 200)) * 3, part], axis=1)
    alone = estimate(part, y, "probe", config=FAST, device="cpu")
    nested = estimate(Z, y, "probe", config=FAST, device="cpu", contains={"part": lambda X: X[:, -2:]})
    assert any(r["name"].startswith("part:") for r in nested.candidates)
    assert nested.mi >= alone.mi - 0.03


def test_nonlinear_label_on_the_top_variance_direction():
    # lesson 2: a label set by |top PC| is invisible to a linear probe, visible to the MLP on raw PCs
    rng = np.random.default_rng(7)
    z = rng.standard_normal((1500, 100))
    z[:, 0] *= 10
    y = (np.abs(z[:, 0]) > 8).astype(int)
    res = estimate(z, y, "probe", config=FAST, device="cpu")
    assert "mlp" in res.chosen and res.mi > 0.3


def test_token_states_are_read_with_pooled_candidates():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((400, 6, 8)).astype(np.float32)
    mask = np.ones((400, 6), bool)
    mask[::2, 4:] = False
    y = (z[:, 0, 0] > 0).astype(int)
    res = estimate(TokenStates(z, mask), y, "probe", config=ProbeConfig(n_bootstrap=100, sequence=False), device="cpu")
    assert res.detected and res.chosen.startswith("first:")


@pytest.mark.parametrize("call, words", [
    (lambda z, y: estimate(z, y, "ksg", config=NeuralConfig()), ["NeuralConfig", "ksg"]),
    (lambda z, y: estimate(z, y, "probe", config=KSGConfig()), ["KSGConfig", "probe"]),
    (lambda z, y: estimate(z, y, "mine", config=NeuralConfig()), ["NeuralConfig", "mine"]),
    (lambda z, y: estimate(z, y.astype(float), "probe"), ["probe", "continuous"]),
    (lambda z, y: estimate(z, y, "classifier", contains={"a": z}), ["contains"]),
    (lambda z, y: estimate([np.zeros((3, 4))] * 10 + [np.zeros((5, 4))] * 10, np.arange(20) % 2, "probe"),
     ["varying length", "mask"]),
    (lambda z, y: TokenStates(np.zeros((3, 2, 4)), np.array([[1, 1], [0, 0], [1, 0]])), ["all-zero", "mask"]),
])
def test_bad_input_is_one_line(mix, call, words):
    z, y, _ = mix
    with pytest.raises(UserError) as err:
        call(z[:100], y[:100])
    msg = str(err.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_plain_3d_array_is_read_as_fixed_length_token_states():
    """A (N, n, d) ndarray without a mask goes to the sequence probe (every token real), not a flat head."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 4, 8)).astype(np.float32)
    y = (z[:, 2, 0] > 0).astype(int)   # set by one position's state
    res = estimate(z, y, "probe", seed=0)
    assert res.detected and res.mi > 0.3
