"""Variational MI bounds as pure functions of critic scores.

Every neural estimator scores, for each sample ``i``, its own pair ``T(z_i, y_i)``
(the *joint* term ``t``, shape ``(..., B)``) and a row of candidate pairs
``T(z_i, y'_j)`` (shape ``(..., B, M)``) with log-weights ``log_w`` that describe the
product of marginals ``p(z) p(y)``:

* discrete ``Y``: the candidates are the ``C`` classes and ``log_w[c] = log p(c)``
  (the plug-in label marginal), so ``E_{p(z)p(y)}`` is exact over ``y``;
* continuous ``Y``: the candidates are a pool of other samples' ``y`` with uniform
  weights (the sample itself excluded by ``-inf``).

:func:`log_marginal` reduces a row to ``log_m_i = log sum_j w_ij exp T(z_i, y'_j)``,
a per-sample term, so that each bound below is an aggregate of per-sample terms
``(t_i, log_m_i)``. That is what lets the held-out bootstrap and the permutation
test re-use the scores of a fixed critic. Leading dimensions ``...`` index stacked
critics (one value per critic).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def log_marginal(scores: Tensor, log_w: Tensor, clip: float | None = None) -> Tensor:
    """``log sum_j exp(T_ij + log_w_ij)`` per row: ``(..., B, M) -> (..., B)``.

    ``clip`` clamps the scores to ``[-clip, clip]`` first (SMILE's clipped ratio).
    """
    if clip is not None:
        scores = scores.clamp(-clip, clip)
    return torch.logsumexp(scores + log_w, dim=-1)


def _log_mean_exp(x: Tensor) -> Tensor:
    """``log mean exp`` over the last axis: ``(..., B) -> (...)``."""
    return torch.logsumexp(x, dim=-1) - math.log(x.shape[-1])


def dv_bound(t: Tensor, log_m: Tensor) -> Tensor:
    """Donsker-Varadhan: ``E_P[T] - log E_Q[e^T]``. ``(..., B), (..., B) -> (...)``."""
    return t.mean(-1) - _log_mean_exp(log_m)


def nwj_bound(t: Tensor, log_m: Tensor) -> Tensor:
    """Nguyen-Wainwright-Jordan (MINE-f): ``E_P[T] - E_Q[e^(T-1)]``."""
    return t.mean(-1) - torch.exp(log_m - 1.0).mean(-1)


def infonce_bound(t: Tensor, log_m: Tensor) -> Tensor:
    """InfoNCE: ``E_i[T_ii - log m_i]`` where ``m_i`` is the weighted mean of ``e^T``
    over a candidate set that *includes* the positive (so it is at most ``log M``
    for a pool of ``M``; with the exact discrete marginal it has no such cap)."""
    return (t - log_m).mean(-1)


def smile_bound(t: Tensor, log_m_clipped: Tensor) -> Tensor:
    """SMILE (Song & Ermon 2020): the DV bound with ``e^T`` clipped to ``[e^-tau, e^tau]``
    in the marginal term. Pass ``log_m`` computed by :func:`log_marginal` with ``clip=tau``."""
    return dv_bound(t, log_m_clipped)


def density_ratio_estimate(t: Tensor, log_m: Tensor) -> Tensor:
    """Difference of cross-entropies: ``E_i[log q(y_i|z_i) - log p(y_i)]`` where the critic
    already *is* the normalised log ratio (the ``classifier`` estimator); ``log_m`` unused."""
    del log_m
    return t.mean(-1)


def mine_surrogate(t: Tensor, log_m: Tensor, log_ema: Tensor, rate: float) -> tuple[Tensor, Tensor]:
    """MINE's bias-corrected training objective (Belghazi et al. 2018, sec. 3.2).

    The minibatch gradient of ``log E_Q[e^T]`` is biased; MINE replaces its
    denominator by a moving average ``ema`` of ``E_Q[e^T]``. The surrogate
    ``E_P[T] - E_Q[e^T] / sg(ema)`` has exactly that gradient. Kept in log space so
    large scores cannot overflow. Returns ``(surrogate (...), new log_ema (...))``.
    """
    batch_lme = _log_mean_exp(log_m)
    new = torch.logaddexp(
        log_ema + math.log1p(-rate), batch_lme.detach() + math.log(rate)
    )
    new = torch.where(torch.isfinite(log_ema), new, batch_lme.detach())
    surrogate = t.mean(-1) - torch.exp(batch_lme - new.detach())
    return surrogate, new


def js_objective(t: Tensor, scores: Tensor, log_w: Tensor) -> Tensor:
    """Jensen-Shannon f-GAN objective ``E_P[-softplus(-T)] - E_Q[softplus(T)]``.

    Not an MI bound itself: SMILE trains its critic with it (its optimum is the log
    density ratio, like DV's, but its gradients stay bounded) and reports
    :func:`smile_bound`. ``scores (..., B, M)`` with marginal ``log_w`` (rows sum to 1).
    """
    neg = (torch.exp(log_w) * torch.nn.functional.softplus(scores)).sum(-1)
    return (-torch.nn.functional.softplus(-t) - neg).mean(-1)
