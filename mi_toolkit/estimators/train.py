"""Data preparation and the batched training loop shared by every neural estimator.

Protocol: a stratified (discrete ``Y``) train/test split, a validation slice of the
train split for early stopping, inputs standardised (heavy-tailed features
Gaussianised, see :func:`feature_transform`) with statistics of the train split only (continuous ``Y`` too). A per-coordinate quantile Gaussianisation of
``Y`` was tried and dropped: its noisy tails capped the estimate near 2.4 nats on a
3-nat linear-Gaussian task.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler
from torch import Tensor

from predgen_common.errors import UserError

from mi_toolkit.estimators.specs import CriticSpec, NeuralConfig
from mi_toolkit.estimators.bounds import js_objective, log_marginal, mine_surrogate
from mi_toolkit.estimators.critics import DiscreteCritic, GaussianCritic, SeparableCritic
from mi_toolkit.estimators.quantiles import SortedQuantileTransformer


class EstimatorDiverged(UserError):
    """Training produced NaN/inf even at the reduced learning rates."""


@dataclass
class Prepared:
    """One task, split and transformed. Arrays are numpy; ``y`` int codes or float ``(n, k)``."""

    z: dict[str, np.ndarray]        # "train" | "val" | "test" -> (n, d)
    y: dict[str, np.ndarray]
    discrete: bool
    n_classes: int | None
    log_prior: np.ndarray | None    # (C,) log p(c) from the train split
    y_cov: np.ndarray | None        # (k, k) covariance of transformed train y
    transforms: tuple               # (z scaler, y transform or None)


def split_indices(y: np.ndarray, discrete: bool, test_size: float, val_fraction: float,
                  seed: int, n_fit: int | None = None) -> dict[str, np.ndarray]:
    """Train / val / test index arrays; stratified on ``y`` when every class has >= 2 samples.

    ``n_fit``: rows ``n_fit:`` are a given held-out set (``test_size`` unused) and the
    validation slice is drawn from rows ``:n_fit``.
    """
    idx = np.arange(len(y))

    def strat(sub: np.ndarray) -> np.ndarray | None:
        if not discrete:
            return None
        _, counts = np.unique(y[sub], return_counts=True)
        return y[sub] if counts.min() >= 2 else None

    if n_fit is None:
        train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=strat(idx))
    else:
        train, test = idx[:n_fit], idx[n_fit:]
    train, val = train_test_split(train, test_size=val_fraction, random_state=seed + 1, stratify=strat(train))
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


HEAVY_KURTOSIS = 3.0


def excess_kurtosis(X: np.ndarray) -> np.ndarray:
    """Per-feature excess kurtosis ``(d,)``; a constant feature reads 0 (scipy's NaN and its precision
    warning for near-constant columns are expected here: such a column has no tail to Gaussianise)."""
    import warnings

    from scipy.stats import kurtosis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nan_to_num(kurtosis(X, axis=0), nan=0.0)


def feature_transform(z_fit: np.ndarray, seed: int) -> ColumnTransformer:
    """Standardise each feature; Gaussianise heavy-tailed ones (excess kurtosis > 3 on the fit
    split) with a per-feature quantile transform instead.

    Both maps are invertible per coordinate, so I(Y; Z) is unchanged; without the
    quantile branch a Cauchy-tailed feature put single held-out points at -60 nats.
    """
    kurt = excess_kurtosis(z_fit)
    heavy = np.flatnonzero(kurt > HEAVY_KURTOSIS)
    light = np.flatnonzero(kurt <= HEAVY_KURTOSIS)
    quant = SortedQuantileTransformer(n_quantiles=min(1000, len(z_fit)), output_distribution="normal",
                                      random_state=seed)
    return ColumnTransformer([("heavy", quant, heavy), ("light", StandardScaler(), light)]).fit(z_fit)


def prepare(z: np.ndarray, y: np.ndarray, discrete: bool, test_size: float, val_fraction: float,
            seed: int, n_classes: int | None = None, n_fit: int | None = None) -> Prepared:
    """Split ``z (N, d)``, ``y`` and fit the transforms on the train split only."""
    parts = split_indices(y, discrete, test_size, val_fraction, seed, n_fit)
    fit_idx = np.concatenate([parts["train"], parts["val"]])
    scaler = feature_transform(z[fit_idx], seed)
    zs = {k: scaler.transform(z[v]).astype(np.float32) for k, v in parts.items()}
    if discrete:
        counts = np.bincount(y[fit_idx], minlength=n_classes).astype(np.float64)
        if counts.min() == 0:  # a class seen only in the test split must keep finite log p
            counts += 0.5
        log_prior = np.log(counts / counts.sum())
        ys = {k: y[v].astype(np.int64) for k, v in parts.items()}
        return Prepared(zs, ys, True, n_classes, log_prior, None, (scaler, None))
    y2 = y.reshape(len(y), -1).astype(np.float64)
    qt = StandardScaler().fit(y2[fit_idx])
    ys = {k: qt.transform(y2[v]).astype(np.float32) for k, v in parts.items()}
    cov = np.atleast_2d(np.cov(ys["train"], rowvar=False)) + 1e-6 * np.eye(y2.shape[1])
    return Prepared(zs, ys, False, None, None, cov, (scaler, qt))


def stack(preps: list[Prepared], part: str, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(K, n, d_max)`` zero-padded features and ``(K, n)`` / ``(K, n, k)`` targets."""
    d_max = max(p.z[part].shape[1] for p in preps)
    z = np.zeros((len(preps), len(preps[0].z[part]), d_max), np.float32)
    for i, p in enumerate(preps):
        z[i, :, : p.z[part].shape[1]] = p.z[part]
    y = np.stack([p.y[part] for p in preps])
    return torch.from_numpy(z).to(device), torch.from_numpy(y).to(device)


def build_critic(spec: CriticSpec, cfg: NeuralConfig, preps: list[Prepared], d_in: int,
                 generator: torch.Generator) -> torch.nn.Module:
    """The stacked critic for ``len(preps)`` tasks of one kind of ``Y``."""
    k = len(preps)
    if preps[0].discrete:
        log_prior = torch.tensor(np.stack([p.log_prior for p in preps]), dtype=torch.float32)[:, None, :]
        critic = DiscreteCritic(k, d_in, preps[0].n_classes, cfg.hidden, cfg.n_hidden, generator,
                                log_prior, normalise=spec.critic == "density")
        critic.start_at_null(spec.null_score)
        return critic
    d_y = preps[0].y["train"].shape[1]
    if spec.critic == "density":
        covs = np.stack([p.y_cov for p in preps])
        prec = torch.tensor(np.linalg.inv(covs), dtype=torch.float32)
        logdet = torch.tensor(np.linalg.slogdet(covs)[1], dtype=torch.float32)[:, None]
        critic = GaussianCritic(k, d_in, d_y, cfg.hidden, cfg.n_hidden, generator, prec, logdet)
        critic.warm_start(torch.from_numpy(np.stack([_ridge(p, d_in) for p in preps])))
        return critic
    return SeparableCritic(k, d_in, d_y, cfg.hidden, cfg.n_hidden, cfg.embed, generator, spec.null_score)


RIDGE_ALPHAS = np.logspace(-3, 5, 17)
# RidgeCV's leave-one-out by one SVD of the design (then O(n d) per penalty): with more rows than features its
# "auto" takes the eigen-decomposition of the covariance and an O(n d^2) diagonal per penalty, 0.51 s against
# 0.21 s at 1,500 x 576 (real LM states), the same penalties and coefficients
GCV_MODE = "svd"


def _ridge(prep: Prepared, d_in: int) -> np.ndarray:
    """Ridge coefficients ``(d_in, k)`` of train ``y`` on train ``z`` (zero rows for padding), the
    penalty chosen per target by leave-one-out CV: with more features than examples (576-wide
    hidden states, a few hundred sentences) a fixed small penalty interpolates the train split."""
    from sklearn.linear_model import RidgeCV

    z, y = prep.z["train"].astype(np.float64), prep.y["train"].astype(np.float64)
    coef = RidgeCV(alphas=RIDGE_ALPHAS, fit_intercept=False, alpha_per_target=True,
                   gcv_mode=GCV_MODE).fit(z, y).coef_.T
    out = np.zeros((d_in, y.shape[1]), np.float32)
    out[: len(coef)] = coef.reshape(len(coef), -1)
    return out


def marginal_terms(spec: CriticSpec, cfg: NeuralConfig, t: Tensor, scores: Tensor,
                   log_w: Tensor | None, self_mask: Tensor | None) -> Tensor:
    """Per-sample marginal term ``log_m`` (``(K, B)``) for ``spec.marginal``.

    Discrete ``Y``: ``log_w`` is ``log p(c)``; the marginal over classes is exact and
    already contains the positive class, so ``inclusive`` equals ``exclusive``.
    Continuous ``Y``: candidates are a pool of samples; ``self_mask (B, M)`` marks
    each row's own sample, which is left out (``exclusive``) or put back once as
    the positive (``inclusive``, InfoNCE).
    """
    if spec.marginal == "none":
        return torch.zeros_like(t)
    clip = getattr(cfg, "tau", None) if spec.marginal == "clipped" else None
    if log_w is not None:
        return log_marginal(scores, log_w, clip)
    count = (~self_mask).sum(-1).to(scores.dtype)  # (B,)
    masked = scores.masked_fill(self_mask, float("-inf"))
    if spec.marginal == "inclusive":
        lse = torch.logsumexp(torch.cat([t.unsqueeze(-1), masked], -1), -1)
        return lse - torch.log(count + 1)
    return log_marginal(masked, -torch.log(count)[:, None], clip)


def batch_terms(spec: CriticSpec, cfg: NeuralConfig, critic: torch.nn.Module, z: Tensor,
                y: Tensor, log_prior: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(t, log_m)``, each ``(K, B)``, for a minibatch whose own ``y`` are the candidates."""
    zf, yf = critic.embed_z(z), critic.embed_y(y)
    t = critic.pair(zf, yf)
    if spec.marginal == "none":
        return t, torch.zeros_like(t)
    if log_prior is not None:
        return t, marginal_terms(spec, cfg, t, critic.matrix(zf), log_prior, None)
    eye = torch.eye(z.shape[1], dtype=torch.bool, device=z.device)
    return t, marginal_terms(spec, cfg, t, critic.matrix(zf, yf), None, eye)


def js_batch(critic: torch.nn.Module, z: Tensor, y: Tensor, log_prior: Tensor | None) -> Tensor:
    """SMILE's training objective (``(K,)``) on a minibatch; the marginal excludes each self-pair."""
    zf, yf = critic.embed_z(z), critic.embed_y(y)
    t = critic.pair(zf, yf)
    if log_prior is not None:
        return js_objective(t, critic.matrix(zf), log_prior)
    b = z.shape[1]
    eye = torch.eye(b, dtype=torch.bool, device=z.device)
    log_w = torch.full((b, b), -math.log(b - 1), device=z.device).masked_fill(eye, float("-inf"))
    return js_objective(t, critic.matrix(zf, yf), log_w)


class _Diverged(Exception):
    pass


def _round_batches(n: int, cfg: NeuralConfig, gen: torch.Generator, device) -> list[Tensor]:
    """Minibatch indices for one training round between validations: at least one epoch and
    at least ``cfg.min_steps`` steps (small data would otherwise early-stop after a handful
    of updates). A tail batch under a quarter of ``batch_size`` is dropped: its marginal
    term is too noisy."""
    bs = min(cfg.batch_size, n)
    batches: list[Tensor] = []
    while len(batches) < cfg.min_steps or not batches:
        order = torch.randperm(n, generator=gen).to(device)
        batches += [b for b in order.split(bs) if len(b) >= max(2, bs // 4)]
    return batches


def _objective(spec, cfg, critic, z, y, log_prior, log_ema):
    """The per-critic training objective ``(K,)`` to maximise, and the updated MINE average."""
    if spec.trainer == "js":
        return js_batch(critic, z, y, log_prior), log_ema
    t, log_m = batch_terms(spec, cfg, critic, z, y, log_prior)
    if spec.trainer == "mine":
        return mine_surrogate(t, log_m, log_ema, cfg.ema_rate)
    return spec.bound(t, log_m), log_ema


def _validate(spec, cfg, critic, val, log_prior) -> Tensor:
    """The bound on the validation slice, per critic ``(K,)``; raises ``_Diverged`` on NaN/inf."""
    critic.eval()  # read-out mode: the scale is refitted below, never from the batch's own residuals
    if hasattr(critic, "refit_scale"):
        # train residuals understate the error of a critic that fits its train split (d > n)
        critic.refit_scale(*val)
    with torch.no_grad():
        out = spec.bound(*batch_terms(spec, cfg, critic, *val, log_prior))
    critic.train()
    if not torch.isfinite(out).all():
        raise _Diverged
    return out


def _train_once(spec, cfg, preps, device, seed, lr):
    gen = torch.Generator().manual_seed(seed)
    ztr, ytr = stack(preps, "train", device)
    zva, yva = stack(preps, "val", device)
    critic = build_critic(spec, cfg, preps, ztr.shape[-1], gen).to(device)
    log_prior = getattr(critic, "log_prior", None) if spec.critic == "ratio" else None
    opt = torch.optim.AdamW(critic.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    n, k = ztr.shape[1], ztr.shape[0]
    # round 0 is the untrained critic (the null for discrete Y, the ridge fit for the
    # Gaussian density): training must beat it on validation to be kept
    best = _validate(spec, cfg, critic, (zva, yva), log_prior)
    best_params = [p.detach().clone() for p in critic.parameters()]
    stale = torch.zeros(k, dtype=torch.long, device=device)
    log_ema = torch.full((k,), -math.inf, device=device)
    curve: list[list[float]] = [best.tolist()]
    for _epoch in range(cfg.max_epochs):
        for batch in _round_batches(n, cfg, gen, device):
            obj, log_ema = _objective(spec, cfg, critic, ztr[:, batch], ytr[:, batch], log_prior, log_ema)
            if not torch.isfinite(obj).all():
                raise _Diverged
            opt.zero_grad(set_to_none=True)
            (-obj.sum()).backward()
            opt.step()
        val = _validate(spec, cfg, critic, (zva, yva), log_prior)
        improved = val > best + cfg.min_delta
        with torch.no_grad():
            for keep, p in zip(best_params, critic.parameters()):
                mask = improved.view(-1, *([1] * (p.dim() - 1)))
                keep.copy_(torch.where(mask, p, keep))
        best = torch.where(improved, val, best)
        stale = torch.where(improved, torch.zeros_like(stale), stale + 1)
        curve.append(val.tolist())
        if bool((stale >= cfg.patience).all()):
            break
    with torch.no_grad():
        for keep, p in zip(best_params, critic.parameters()):
            p.copy_(keep)
    critic.eval()
    if hasattr(critic, "refit_scale"):
        critic.refit_scale(zva, yva)
    return critic, curve


def train_critics(spec: CriticSpec, cfg: NeuralConfig, preps: list[Prepared],
                  device: torch.device, seed: int) -> tuple[torch.nn.Module, list[list[float]], float]:
    """Train ``len(preps)`` critics as one stacked model; returns ``(critic, curve, lr)``.

    ``curve[e][k]`` is critic ``k``'s validation bound after epoch ``e``. A NaN/inf
    objective restarts all critics at a quarter of the learning rate, at most
    ``cfg.max_retries`` times; then :class:`EstimatorDiverged` is raised.
    """
    lr = cfg.lr
    for _attempt in range(cfg.max_retries + 1):
        try:
            critic, curve = _train_once(spec, cfg, preps, device, seed, lr)
            return critic, curve, lr
        except _Diverged:
            lr /= 4
    raise EstimatorDiverged(
        f"estimator {spec.name!r} diverged (NaN/inf) even at learning rate {lr * 4:.2e}; "
        "try --estimator classifier or ksg, or check the features for extreme values"
    )
