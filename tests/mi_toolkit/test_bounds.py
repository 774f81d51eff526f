"""The bound functions on toy tensors with exactly known values."""
from __future__ import annotations

import math

import pytest
import torch

from mi_toolkit.estimators import bounds

# a 2x2 joint p(x, y) = [[0.4, 0.1], [0.1, 0.4]], as 100 equally weighted samples
JOINT = torch.tensor([[0.4, 0.1], [0.1, 0.4]], dtype=torch.float64)
TRUE_MI = float((JOINT * torch.log(JOINT / (JOINT.sum(1, keepdim=True) * JOINT.sum(0)))).sum())


def _samples():
    x, y = [], []
    for i in range(2):
        for j in range(2):
            count = int(round(float(JOINT[i, j]) * 100))
            x += [i] * count
            y += [j] * count
    return torch.tensor(x), torch.tensor(y)


def _optimal_scores(shift: float = 0.0):
    """Scores T(x_i, c) = log p(c|x_i)/p(c) + shift for every class, the true y index, log p(c)."""
    x, y = _samples()
    p_y = JOINT.sum(0)
    log_ratio = torch.log(JOINT / JOINT.sum(1, keepdim=True) / p_y)  # (x, c)
    return log_ratio[x] + shift, y, torch.log(p_y)[None, :].expand(len(x), 2)


def _terms(shift=0.0, clip=None):
    scores, y, log_w = _optimal_scores(shift)
    t = scores.gather(1, y[:, None]).squeeze(1)
    return t, bounds.log_marginal(scores, log_w, clip)


def test_true_mi_value_is_the_textbook_one():
    assert TRUE_MI == pytest.approx(0.8 * math.log(0.4 / 0.25) + 0.2 * math.log(0.1 / 0.25), abs=1e-12)
    assert TRUE_MI == pytest.approx(0.19274, abs=1e-4)


@pytest.mark.parametrize("fn", [bounds.dv_bound, bounds.infonce_bound])
def test_optimal_critic_attains_the_true_mi(fn):
    t, log_m = _terms()
    assert float(fn(t, log_m)) == pytest.approx(TRUE_MI, abs=1e-9)


def test_dv_is_invariant_to_a_constant_shift_but_nwj_is_not():
    assert float(bounds.dv_bound(*_terms(shift=3.0))) == pytest.approx(TRUE_MI, abs=1e-9)
    # NWJ's optimum is T* = 1 + log ratio
    assert float(bounds.nwj_bound(*_terms(shift=1.0))) == pytest.approx(TRUE_MI, abs=1e-9)
    assert float(bounds.nwj_bound(*_terms(shift=3.0))) < TRUE_MI - 0.1


def test_smile_equals_dv_when_the_clip_is_loose_and_differs_when_tight():
    t, _ = _terms()
    assert float(bounds.smile_bound(t, _terms(clip=10.0)[1])) == pytest.approx(TRUE_MI, abs=1e-9)
    assert float(bounds.smile_bound(t, _terms(clip=0.1)[1])) != pytest.approx(TRUE_MI, abs=1e-3)


def test_zero_critic_gives_zero_dv_and_minus_one_over_e_nwj():
    t, log_m = torch.zeros(3, 50), torch.zeros(3, 50)
    assert torch.allclose(bounds.dv_bound(t, log_m), torch.zeros(3))
    assert torch.allclose(bounds.nwj_bound(t, log_m), torch.full((3,), -math.exp(-1)))


def test_bounds_keep_leading_critic_dimensions():
    t, log_m = torch.randn(4, 7, 32), torch.randn(4, 7, 32)
    for fn in (bounds.dv_bound, bounds.nwj_bound, bounds.infonce_bound, bounds.density_ratio_estimate):
        assert fn(t, log_m).shape == (4, 7)


def test_log_marginal_clip_and_weights():
    scores = torch.tensor([[0.0, 100.0]])
    log_w = torch.log(torch.tensor([[0.5, 0.5]]))
    assert float(bounds.log_marginal(scores, log_w, clip=1.0)) == pytest.approx(math.log(0.5 + 0.5 * math.e))


def test_mine_surrogate_gradient_uses_the_moving_average():
    t = torch.zeros(1, 4)
    log_m = torch.zeros(1, 4, requires_grad=True)
    log_ema = torch.tensor([math.log(2.0)])
    sur, new = bounds.mine_surrogate(t, log_m, log_ema, rate=0.5)
    # E_Q e^T = 1 on this batch; the average moves half-way from 2 to 1
    assert float(new) == pytest.approx(math.log(1.5))
    sur.sum().backward()
    # d/dlog_m_i of -mean(e^log_m)/ema = -(1/4) * 1 / 1.5
    assert torch.allclose(log_m.grad, torch.full((1, 4), -1 / (4 * 1.5)))


def test_mine_surrogate_starts_the_average_at_the_first_batch():
    _, new = bounds.mine_surrogate(torch.zeros(2, 3), torch.full((2, 3), 0.7), torch.full((2,), -math.inf), 0.01)
    assert torch.allclose(new, torch.full((2,), 0.7))


def test_js_objective_of_a_zero_critic_is_minus_two_log_two():
    t = torch.zeros(5)
    scores = torch.zeros(5, 3)
    log_w = torch.log(torch.full((5, 3), 1 / 3))
    assert float(bounds.js_objective(t, scores, log_w)) == pytest.approx(-2 * math.log(2))


def test_nwj_critic_starts_at_its_zero():
    """The untrained NWJ critic is T = 1, whose bound is exactly 0 (at T = 0 it would be -1/e)."""
    import numpy as np

    from mi_toolkit.estimators import ESTIMATORS
    from mi_toolkit.estimators.critics import DiscreteCritic

    log_prior = torch.log(torch.tensor([[[0.3, 0.7]]]))
    critic = DiscreteCritic(1, 4, 2, 8, 1, torch.Generator().manual_seed(0), log_prior, normalise=False)
    critic.start_at_null(ESTIMATORS.get("nwj").null_score)
    z, y = torch.randn(1, 50, 4), torch.from_numpy(np.random.default_rng(0).integers(0, 2, (1, 50)))
    zf = critic.embed_z(z)
    t, log_m = critic.pair(zf, y), bounds.log_marginal(critic.matrix(zf), log_prior)
    assert float(bounds.nwj_bound(t, log_m)) == pytest.approx(0.0, abs=1e-6)
