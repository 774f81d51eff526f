"""Pure losses on toy tensors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from predgen_common.errors import UserError
from predgen_core.methods import losses


@pytest.mark.parametrize("lw, ld", [(0.3, 2.5), (2.5, 0.3), (1.0, 1.0), (1e-3, 7.0), (4.2, 4.19)])
def test_wdal_equals_product(lw, ld):
    a, b = torch.tensor(lw), torch.tensor(ld)
    assert losses.wdal(a, b).item() == pytest.approx(lw * ld, rel=1e-5)


def test_wdal_gradient_matches_product():
    a = torch.tensor(0.7, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    losses.wdal(a, b).backward()
    assert a.grad.item() == pytest.approx(2.0, rel=1e-5)  # d(ab)/da = b
    assert b.grad.item() == pytest.approx(0.7, rel=1e-5)


def test_wdal_is_finite_at_zero_loss():
    a = torch.tensor(0.0, requires_grad=True)
    out = losses.wdal(a, torch.tensor(3.0))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(a.grad)
    assert out.item() == pytest.approx(0.0, abs=1e-6)


def test_ablation_combiners():
    a, b = torch.tensor(1.0), torch.tensor(3.0)
    assert losses.multiplicative(a, b).item() == pytest.approx(3.0)
    assert losses.adaptive(a, b).item() == pytest.approx((1 + 9) / 4)
    assert losses.adapter_only(a, b).item() == pytest.approx(3.0)
    x = torch.tensor(1.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    losses.adaptive(x, y).backward()  # weights are the detached shares
    assert x.grad.item() == pytest.approx(0.25) and y.grad.item() == pytest.approx(0.75)
    assert losses.LOSS_COMBINERS.list() == ["wdal", "multiplicative", "adaptive", "adapter-only"]
    with pytest.raises(UserError, match="wdal"):
        losses.LOSS_COMBINERS.get("sum")


def test_writer_loss_ignores_masked_positions():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 11)
    targets = torch.tensor([[1, 2, 3], [4, 5, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    expected = F.cross_entropy(logits[mask], targets[mask])
    assert losses.writer_loss(logits, targets, mask).item() == pytest.approx(expected.item(), rel=1e-6)
    garbage = logits.clone()
    garbage[1, 2] = 100.0  # a padded position must not change the loss
    assert losses.writer_loss(garbage, targets, mask).item() == pytest.approx(expected.item(), rel=1e-6)


def test_ordered_penalty_weights_leading_tokens_more():
    alphas = torch.tensor([1.67, 1.33, 1.01, 1.0])
    gold = torch.tensor([[0, 1, 2, 3]])
    mask = torch.ones(1, 4, dtype=torch.bool)

    def confident(tokens):
        return F.one_hot(torch.tensor([tokens]), 10).float() * 10

    wrong_first = losses.ordered_penalty(confident([5, 1, 2, 3]), gold, mask, alphas)
    wrong_third = losses.ordered_penalty(confident([0, 1, 5, 3]), gold, mask, alphas)
    assert wrong_first > wrong_third
    ce = losses.token_ce(confident([5, 1, 2, 3]), gold, mask)[0]
    assert wrong_first.item() == pytest.approx(float((ce * alphas).sum()), rel=1e-6)
    with pytest.raises(ValueError):
        losses.ordered_penalty(confident([0, 1, 2, 3]), gold, mask, alphas[:3])


def test_head_losses():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    assert losses.classification_loss(logits, torch.tensor([0, 1])).item() == pytest.approx(math.log(1 + math.exp(-2)))
    assert losses.regression_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([2.0, 3.0])).item() == pytest.approx(0.5)
