"""Read-out of fixed critics on the held-out split: estimate, bootstrap interval, permutation p-value."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mi_toolkit.estimators.specs import CriticSpec, KSGConfig, NeuralConfig
from mi_toolkit.estimators.knn import ksg_terms
from mi_toolkit.estimators.train import Prepared, marginal_terms, stack

BOOTSTRAP_NOTE = ("95% percentile bootstrap over the held-out samples of the fixed trained critic's "
                  "per-sample terms (B={b}); training/seed variability is not included")
KNN_NOTE = ("95% percentile bootstrap of the per-sample k-NN terms (B={b}); neighbour counts are held "
            "fixed, so the interval is approximate")


@dataclass
class HeldOut:
    """Per-critic held-out read-out. Tensors are ``(K,)`` unless noted."""

    mi: Tensor
    ci_low: Tensor
    ci_high: Tensor
    p_value: Tensor
    log_norm: Tensor      # log E_{p(z)p(y)} e^T on the held-out split (pointwise-MI offset)
    n_test: int


def _bootstrap(spec: CriticSpec, t: Tensor, log_m: Tensor, n_boot: int, gen: torch.Generator):
    n = t.shape[-1]
    idx = torch.randint(0, n, (n_boot, n), generator=gen).to(t.device)
    vals = spec.bound(t[:, idx], log_m[:, idx])  # (K, n_boot)
    q = torch.quantile(vals.double(), torch.tensor([0.025, 0.975], dtype=torch.float64, device=t.device), dim=-1)
    return q[0].float(), q[1].float()


@torch.no_grad()
def evaluate_critics(spec: CriticSpec, cfg: NeuralConfig, critic: torch.nn.Module,
                     preps: list[Prepared], device: torch.device, seed: int) -> HeldOut:
    """Evaluate ``K`` fixed critics on their held-out splits.

    The permutation null permutes ``y`` among the held-out samples and re-scores
    them with the *same* critic: valid because the critic never saw these samples.
    """
    gen = torch.Generator().manual_seed(seed + 7919)
    z, y = stack(preps, "test", device)
    n = z.shape[1]
    zf, yf = critic.embed_z(z), critic.embed_y(y)
    t = critic.pair(zf, yf)
    discrete = preps[0].discrete
    if discrete:
        scores = critic.matrix(zf)
        log_w, mask = critic.log_prior, None
    else:
        pool = torch.randperm(n, generator=gen)[: cfg.max_pool].to(device)
        scores = critic.matrix(zf, yf[:, pool])
        log_w, mask = None, pool[None, :] == torch.arange(n, device=device)[:, None]
    log_m = marginal_terms(spec, cfg, t, scores, log_w, mask)
    mi = spec.bound(t, log_m)
    lo, hi = _bootstrap(spec, t, log_m, cfg.n_bootstrap, gen)
    # the DV normaliser, computed with the (self-excluding) marginal whatever the bound
    excl = marginal_terms(_as_exclusive(spec), cfg, t, scores, log_w, mask)
    log_norm = torch.logsumexp(excl, -1) - math.log(n)
    if spec.marginal == "inclusive" and not discrete:
        lse_excl = excl + torch.log((~mask).sum(-1).float())
        cnt = (~mask).sum(-1).float()
    exceed = torch.zeros_like(mi)
    for _ in range(cfg.n_permutations):
        perm = torch.randperm(n, generator=gen).to(device)
        tp = critic.pair(zf, yf[:, perm])
        lm = log_m
        if spec.marginal == "inclusive" and not discrete:
            lm = torch.logaddexp(tp, lse_excl) - torch.log(cnt + 1)
        exceed += (spec.bound(tp, lm) >= mi).float()
    p = (1 + exceed) / (1 + cfg.n_permutations)
    return HeldOut(mi, lo, hi, p, log_norm, n)


def _as_exclusive(spec: CriticSpec) -> CriticSpec:
    from dataclasses import replace

    return replace(spec, marginal="exclusive")


def evaluate_knn(z: np.ndarray, y: np.ndarray, discrete: bool, cfg: KSGConfig, seed: int):
    """``(mi, ci_low, ci_high, p_value)`` of the k-NN estimator on all samples.

    ``z`` and continuous ``y`` are standardised; a 1e-10 jitter breaks exact ties
    (which k-NN estimators assume away).
    """
    rng = np.random.default_rng(seed)
    zs = (z - z.mean(0)) / np.where(z.std(0) > 0, z.std(0), 1.0)
    zs = zs + 1e-10 * rng.standard_normal(zs.shape)
    if not discrete:
        y = (y - y.mean(0)) / y.std(0)
        y = y + 1e-10 * rng.standard_normal(y.shape)
    terms = ksg_terms(zs, y, discrete, cfg.k)
    mi = float(terms.mean())
    boot = terms[rng.integers(0, len(terms), (cfg.n_bootstrap, len(terms)))].mean(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    null = [ksg_terms(zs, y[rng.permutation(len(y))], discrete, cfg.k).mean()
            for _ in range(cfg.n_permutations)]
    p = (1 + sum(v >= mi for v in null)) / (1 + cfg.n_permutations)
    return mi, float(lo), float(hi), float(p)
