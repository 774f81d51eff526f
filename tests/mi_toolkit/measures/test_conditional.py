"""Conditional usable information I_V(Y; R | B): known answers, pairing, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.views import TokenStates
from mi_toolkit.measures.conditional import conditional_information, joint_input
from mi_toolkit.measures.estimate import Estimation
from predgen_common.errors import UserError

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=200)


def make(n=500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    return X[:, :1], X[:, 1:], y


def test_what_r_adds_beyond_b_is_detected_and_a_copy_of_b_adds_nothing():
    b, r, y = make()
    adds = conditional_information(r, b, y, how=Estimation(config=FAST))
    assert adds.detected and adds.value > 0.1
    assert np.isclose(adds.value, adds.h_given - adds.h_joint, atol=1e-6)      # the two cross-entropies
    assert np.isclose(adds.pointwise.mean(), adds.value) and adds.n == 500
    same = conditional_information(b.copy(), b, y, how=Estimation(config=FAST))
    assert not same.detected and abs(same.value) < 0.02
    assert "nothing detected beyond" in same.describe()


def test_conditioning_on_other_examples_is_one_line():
    b, r, y = make()
    with pytest.raises(UserError, match="has 499 examples"):
        conditional_information(r, b[:499], y, how=Estimation(config=FAST))
    ids = np.arange(500)
    other = ids.copy()
    other[7] = 9999
    with pytest.raises(UserError, match="example ids differ"):
        conditional_information(r, b, y, ids=(ids, other), how=Estimation(config=FAST))
    with pytest.raises(UserError, match="read by the probe, not 'ksg'"):
        conditional_information(r, b, y, how=Estimation("ksg"))


def test_joint_input_appends_a_pooled_baseline_to_every_real_token():
    tokens = TokenStates(np.ones((3, 4, 2), np.float32), np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool))
    pooled = np.arange(6, dtype=np.float32).reshape(3, 2)
    j = joint_input(pooled, tokens)
    assert j.z.shape == (3, 4, 4) and np.array_equal(j.mask, tokens.mask)
    assert np.array_equal(j.z[1, 3, 2:], pooled[1]) and not j.z[0, 3, 2:].any()
    assert joint_input(pooled, pooled).shape == (3, 4)
