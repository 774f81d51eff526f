"""Pure loss functions of the three training methods (no state, no model).

Every function takes tensors and returns a scalar tensor; shapes are in the
docstrings. ``LOSS_COMBINERS`` is the registry of ways PredGen joins its writer
loss ``L_W`` and director loss ``L_D``.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from predgen_common.registry import Registry

IGNORE_INDEX = -100
EPS = 1e-8

Combiner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSS_COMBINERS: Registry[Combiner] = Registry("loss combiner")


def token_ce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-position cross-entropy, zero where ``mask`` is False.

    logits ``(B, m, V)`` already aligned so that ``logits[:, i]`` predicts
    ``targets[:, i]``; targets ``(B, m)`` int; mask ``(B, m)`` bool. Returns ``(B, m)``.
    """
    ce = F.cross_entropy(logits.transpose(1, 2).float(), targets.masked_fill(~mask, 0), reduction="none")
    return ce * mask


def writer_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Teacher-forced CE averaged over the target tokens only (the prompt never enters).

    Shapes as :func:`token_ce`; returns a scalar.
    """
    n = mask.sum().clamp_min(1)
    return token_ce(logits, targets, mask).sum() / n


def ordered_penalty(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, alphas: torch.Tensor
) -> torch.Tensor:
    """The paper's regression director loss ``L_D = sum_i alpha_i CE(Y~_i, Y_i)`` (appendix D.2).

    ``alphas`` ``(m,)`` decreasing weights: a wrong leading digit costs more than a
    wrong trailing one. Summed over positions, averaged over the batch; scalar.
    """
    if alphas.shape[0] != targets.shape[1]:
        raise ValueError(f"need {targets.shape[1]} alphas, got {alphas.shape[0]}")
    per_pos = token_ce(logits, targets, mask) * alphas.to(logits.device, torch.float32)
    return per_pos.sum(dim=1).mean()


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Head CE. logits ``(B, C)``, labels ``(B,)`` int; scalar."""
    return F.cross_entropy(logits.float(), labels.long())


def regression_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Head MSE. pred ``(B,)`` or ``(B, 1)``, target ``(B,)``; scalar."""
    return F.mse_loss(pred.float().reshape(-1), target.float().reshape(-1))


def _safe_log(x: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.log(x.clamp_min(eps))


@LOSS_COMBINERS.register("wdal")
def wdal(l_w: torch.Tensor, l_d: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Writer-Director Alignment Loss, in the paper's form (section 4, appendix A).

    ``max(L_W^2, L_D^2) * exp(-|log L_W - log L_D|)``, equal to ``L_W * L_D`` for
    positive losses; ``eps`` keeps the logs finite when a loss reaches 0.
    """
    authority = torch.maximum(l_w * l_w, l_d * l_d)
    alignment = torch.exp(-(_safe_log(l_w, eps) - _safe_log(l_d, eps)).abs())
    return authority * alignment


@LOSS_COMBINERS.register("multiplicative")
def multiplicative(l_w: torch.Tensor, l_d: torch.Tensor) -> torch.Tensor:
    """The plain product ``L_W * L_D`` (ablation)."""
    return l_w * l_d


@LOSS_COMBINERS.register("adaptive")
def adaptive(l_w: torch.Tensor, l_d: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Ablation: a sum weighted by each loss's detached share of the total.

    ``w_W = L_W / (L_W + L_D)`` (no gradient through the weights), so the larger
    loss gets the larger weight, like WDAL's authority term, but the sum never lets
    a near-zero loss switch off the other's gradient as a product can.
    Value: ``(L_W^2 + L_D^2) / (L_W + L_D)``.
    """
    total = (l_w + l_d).detach().clamp_min(eps)
    return (l_w.detach() / total) * l_w + (l_d.detach() / total) * l_d


@LOSS_COMBINERS.register("adapter-only")
def adapter_only(l_w: torch.Tensor, l_d: torch.Tensor) -> torch.Tensor:
    """Ablation: the director loss alone; the writer gets no direct signal."""
    return l_d
