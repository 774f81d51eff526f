"""Accuracy on small ground-truth tasks, determinism, batching, divergence, pointwise critics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit import ESTIMATORS, estimate, estimate_many, fit_critic
from mi_toolkit.bench.synthetic import BenchTask
from mi_toolkit.estimators import MineConfig, NeuralConfig
from mi_toolkit.estimators.train import EstimatorDiverged
from predgen_common.errors import UserError

FAST = dict(n_bootstrap=200, n_permutations=50, max_epochs=40)
MIX = BenchTask("mix-d4-c3", "mix", True, 4, (3, 2.5))


@pytest.fixture(scope="module")
def mix_data():
    return MIX.sample(1200, seed=1)


def test_classifier_is_accurate_on_a_gaussian_mixture(mix_data):
    z, y = mix_data
    res = estimate(z, y, "classifier", config=NeuralConfig(**FAST), device="cpu")
    assert abs(res.mi - MIX.truth) < 0.08
    assert res.ci_low < res.mi < res.ci_high
    assert res.p_value < 0.05
    assert res.ceiling == pytest.approx(math.log(3), abs=0.01) and not res.above_ceiling
    assert res.n_train + res.n_test == 1200 and res.n_test == 360


@pytest.mark.parametrize("name", ["infonce", "smile", "mine", "nwj"])
def test_critic_bounds_are_accurate_on_a_gaussian_mixture(mix_data, name):
    z, y = mix_data
    cfg = ESTIMATORS.get(name).config_cls(**FAST)
    res = estimate(z, y, name, config=cfg, device="cpu")
    assert abs(res.mi - MIX.truth) < 0.12, (name, res.mi, MIX.truth)


def test_ksg_ross_on_low_dimensional_mixture(mix_data):
    z, y = mix_data
    res = estimate(z, y, "ksg")
    assert 0.05 < res.mi < MIX.truth + 0.1 and res.n_train == 0
    z2, y2 = BenchTask("m", "mix", True, 2, (2, 2.0)).sample(2000, 0)
    assert abs(estimate(z2, y2, "ksg").mi - BenchTask("m", "mix", True, 2, (2, 2.0)).truth) < 0.06


@pytest.mark.parametrize("name, d", [("classifier", 4), ("infonce", 4), ("ksg", 1)])
def test_continuous_gaussian(name, d):
    # KSG is biased low as the joint dimension grows (0.84 at d=4 here), so it gets d=1
    z, y = BenchTask("g", "gauss", False, d, (1.0,)).sample(1500, seed=2)
    cfg = ESTIMATORS.get(name).config_cls(**({"n_bootstrap": 200, "n_permutations": 20}
                                             | ({"max_epochs": 40} if name != "ksg" else {})))
    res = estimate(z, y, name, config=cfg, device="cpu")
    assert abs(res.mi - 1.0) < 0.12, (name, res.mi)
    assert res.ceiling is None and res.discrete is False


def test_continuous_target_with_more_features_than_examples_stays_calibrated():
    # 300 examples of 600 features, as hidden states of a few hundred sentences: a critic that
    # fits its train split must not report an overconfident density (this read -65 nats once)
    rng = np.random.default_rng(5)
    z = rng.standard_normal((300, 600))
    noise_only = estimate(z, rng.standard_normal(300), "classifier", config=NeuralConfig(**FAST), device="cpu")
    assert -0.1 < noise_only.mi < 0.05
    y = z[:, 0] + 0.5 * rng.standard_normal(300)      # I = 0.5 log(1 + 4) = 0.80 nats
    signal = estimate(z, y, "classifier", config=NeuralConfig(**FAST), device="cpu")
    # a lower bound: 180 train rows recover little of one coefficient among 600, but above 0
    assert signal.ci_low > 0 and signal.mi < 0.8


def test_independent_label_gives_about_zero_and_a_large_p_value():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((1500, 8)), rng.integers(0, 2, 1500)
    res = estimate(z, y, "classifier", config=NeuralConfig(**{**FAST, "n_permutations": 200}), device="cpu")
    assert abs(res.mi) < 0.03
    assert res.p_value > 0.01
    assert res.ci_low <= 0.0 <= res.ci_high + 1e-3


def test_training_must_beat_the_null_critic_on_validation():
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((1500, 32)), rng.integers(0, 3, 1500)
    res = estimate(z, y, "infonce", config=NeuralConfig(**FAST), device="cpu")
    # round 0 is the no-information critic; its validation value is exactly 0
    assert res.curve[0] == pytest.approx(0.0, abs=1e-6)
    assert res.mi >= -1e-6 and res.mi < 0.02


def test_same_seed_same_result_other_seed_other_split(mix_data):
    z, y = mix_data[0][:600], mix_data[1][:600]
    cfg = MineConfig(**{**FAST, "max_epochs": 10})
    a = estimate(z, y, "mine", config=cfg, seed=5, device="cpu")
    b = estimate(z, y, "mine", config=cfg, seed=5, device="cpu")
    c = estimate(z, y, "mine", config=cfg, seed=6, device="cpu")
    assert (a.mi, a.ci_low, a.p_value, a.curve) == (b.mi, b.ci_low, b.p_value, b.curve)
    assert a.mi != c.mi


def test_estimate_many_trains_a_sweep_as_one_batched_model(mix_data):
    z, y = mix_data
    # a "PCA sweep": the same samples at three widths (zero-padded inside the batch)
    tasks = [(z[:, :w], y) for w in (1, 2, 4)]
    results = estimate_many(tasks, "classifier", config=NeuralConfig(**FAST), device="cpu")
    assert [r.config["batched_with"] for r in results] == [3, 3, 3]
    mis = [r.mi for r in results]
    assert mis[0] < mis[2] and abs(mis[2] - MIX.truth) < 0.08
    # each critic early-stops on its own curve but they share the epoch count
    assert len({len(r.curve) for r in results}) == 1


def test_divergence_is_retried_then_reported_never_nan(mix_data):
    z, y = mix_data
    with pytest.raises(EstimatorDiverged, match="diverged"):
        estimate(z, y, "mine", config=MineConfig(lr=1e12, **FAST), device="cpu")


def test_fit_critic_gives_pointwise_mi_for_each_class(mix_data):
    z, y = mix_data
    fc = fit_critic(z, y, config=NeuralConfig(**FAST), device="cpu")
    assert fc.log_norm == pytest.approx(0.0, abs=1e-5)  # a normalised density ratio
    pmi = fc.pmi(z[:200])
    assert pmi.shape == (200, 3)
    # the true class scores highest on most points; its mean pmi is the MI estimate's scale
    assert (pmi.argmax(1) == y[:200]).mean() > 0.6
    assert abs(pmi[np.arange(200), y[:200]].mean() - fc.result.mi) < 0.25
    assert fc.pmi(z[:5], [2, 0]).shape == (5, 2)
    with pytest.raises(UserError, match="unknown label"):
        fc.pmi(z[:5], [7])


def test_fit_critic_with_a_ratio_critic_normalises_by_the_marginal(mix_data):
    z, y = mix_data
    fc = fit_critic(z, y, "infonce", config=NeuralConfig(**FAST), device="cpu")
    p = np.bincount(y) / len(y)
    # E_{p(z)p(y)} exp(pmi) is 1 by construction on held-out data; close to 1 on any sample
    assert abs(np.mean(np.exp(fc.pmi(z)) @ p) - 1.0) < 0.15


def test_registry_rejects_a_duplicate_and_lists_names_on_unknown():
    with pytest.raises(ValueError, match="already registered"):
        ESTIMATORS.register("mine")(ESTIMATORS.get("mine"))
    with pytest.raises(UserError, match="classifier"):
        ESTIMATORS.get("nope")


def test_cuda_without_cuda_is_a_user_error(mix_data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    z, y = mix_data
    with pytest.raises(UserError, match="CUDA is not available"):
        estimate(z, y, device="cuda")


def test_explicit_held_out_sets(mix_data):
    z, y = mix_data
    fit, held = (z[:900], y[:900]), (z[900:], y[900:])
    res = estimate_many([fit], "classifier", config=NeuralConfig(**FAST), device="cpu", test=[held])[0]
    assert res.n_test == 300 and res.n_train == 900
    assert abs(res.mi - MIX.truth) < 0.1
    knn = estimate_many([fit], "ksg", device="cpu", test=[held])[0]
    assert knn.n_test == 300
    with pytest.raises(UserError, match="one per task"):
        estimate_many([fit, fit], "classifier", device="cpu", test=[held])


def test_default_for_discrete_labels_is_the_probe_and_fit_critic_keeps_a_critic():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((300, 3))
    y = (z[:, 0] > 0).astype(int)
    assert estimate(z, y, config=None, device="cpu").estimator == "probe"
    assert fit_critic(z, y, config=NeuralConfig(**FAST), device="cpu").spec.name == "classifier"
