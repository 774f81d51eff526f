"""Stacked ("batched") critics: ``K`` independent networks trained as one model.

Each layer holds its weights as one ``(K, d_in, d_out)`` tensor and runs as a single
``torch.baddbmm``, so ``K`` critics (seeds, PCA sizes, layers of a sweep) cost one
kernel launch per layer on CPU or CUDA. Inputs of different widths are zero-padded
to the widest; the zero columns receive zero gradient, so a padded critic is exactly
the narrower one.

A critic exposes a two-stage interface so that a fixed, trained critic can re-score
permuted labels without another forward pass:

* ``embed_z(z) -> zf`` and ``embed_y(y) -> yf`` (per-sample features),
* ``pair(zf, yf) -> (K, B)`` the joint scores ``T(z_i, y_i)``,
* ``matrix(zf, yf_cand) -> (K, B, M)`` the scores ``T(z_i, y'_j)`` against candidates.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class StackedMLP(nn.Module):
    """``K`` MLPs ``d_in -> hidden x n_hidden -> d_out`` (ReLU) plus a linear skip path.

    ``(K, B, d_in) -> (K, B, d_out)``. The skip (initialised at zero) makes the
    linear part of a critic, which is all an optimal critic needs for Gaussian
    classes or a linear-Gaussian target, exact rather than approximated by ReLUs.
    """

    def __init__(self, n_critics: int, d_in: int, d_out: int, hidden: int, n_hidden: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        dims = [d_in] + [hidden] * n_hidden + [d_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(a)  # PyTorch's nn.Linear default range
            w = (torch.rand(n_critics, a, b, generator=generator) * 2 - 1) * bound
            bias = (torch.rand(n_critics, 1, b, generator=generator) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(bias))
        self.skip = nn.Parameter(torch.zeros(n_critics, d_in, d_out))

    def forward(self, x: Tensor) -> Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
        return torch.baddbmm(h, x, self.skip)


class DiscreteCritic(nn.Module):
    """``T(z, c) = f(z)_c`` for every class at once; ``y`` are class indices ``(K, B)``.

    With ``normalise=True`` (the ``classifier`` estimator) the scores are
    ``log softmax(f(z))_c - log p(c)``: a normalised log density ratio.
    """

    def __init__(self, n_critics: int, d_in: int, n_classes: int, hidden: int, n_hidden: int,
                 generator: torch.Generator, log_prior: Tensor, normalise: bool) -> None:
        super().__init__()
        self.net = StackedMLP(n_critics, d_in, n_classes, hidden, n_hidden, generator)
        self.register_buffer("log_prior", log_prior)  # (K, 1, C)
        self.normalise = normalise

    @torch.no_grad()
    def start_at_null(self, null_score: float = 0.0) -> None:
        """Start at the constant critic ``T = null_score`` whose bound is exactly 0 (``T = 0`` for
        DV/InfoNCE/SMILE, ``T = 1`` for NWJ, whose ``E_P[T] - E_Q[e^(T-1)]`` is ``-1/e`` at ``T = 0``),
        or at ``q(y|z) = p(y)`` (classifier): the no-information critic, which early stopping then
        keeps unless training beats it on validation (so independent data reads 0 rather than a
        slightly negative overfit)."""
        self.net.weights[-1].zero_()
        if self.normalise:
            self.net.biases[-1].copy_(self.log_prior.clamp_min(-30.0))
        else:
            self.net.biases[-1].fill_(null_score)

    def embed_z(self, z: Tensor) -> Tensor:
        s = self.net(z)
        if self.normalise:
            # absent classes have log_prior -inf; keep them out of the softmax
            s = s.masked_fill(~torch.isfinite(self.log_prior), -1e9)
            s = torch.log_softmax(s, -1) - self.log_prior.clamp_min(-1e9)
        return s

    def embed_y(self, y: Tensor) -> Tensor:
        return y

    def pair(self, zf: Tensor, yf: Tensor) -> Tensor:
        return zf.gather(-1, yf.unsqueeze(-1)).squeeze(-1)

    def matrix(self, zf: Tensor, yf_cand: Tensor | None = None) -> Tensor:
        return zf


class SeparableCritic(nn.Module):
    """``T(z, y) = g(z) . h(y)`` for continuous ``y`` ``(K, B, k)``; all pairs in one bmm."""

    def __init__(self, n_critics: int, d_in: int, d_y: int, hidden: int, n_hidden: int,
                 embed: int, generator: torch.Generator, null_score: float = 0.0) -> None:
        super().__init__()
        self.g = StackedMLP(n_critics, d_in, embed, hidden, n_hidden, generator)
        self.h = StackedMLP(n_critics, d_y, embed, hidden, n_hidden, generator)
        self.scale = 1.0 / math.sqrt(embed)
        # a learned constant, started where the bound's no-information value is 0 (NWJ: T = 1);
        # DV and InfoNCE are invariant to it, so it is only added when non-zero
        self.offset = nn.Parameter(torch.full((n_critics, 1), float(null_score))) if null_score else None

    def _shift(self, t: Tensor) -> Tensor:
        if self.offset is None:
            return t
        return t + (self.offset if t.dim() == 2 else self.offset[:, :, None])

    def embed_z(self, z: Tensor) -> Tensor:
        return self.g(z) * self.scale

    def embed_y(self, y: Tensor) -> Tensor:
        return self.h(y)

    def pair(self, zf: Tensor, yf: Tensor) -> Tensor:
        return self._shift((zf * yf).sum(-1))

    def matrix(self, zf: Tensor, yf_cand: Tensor | None = None) -> Tensor:
        return self._shift(torch.bmm(zf, yf_cand.transpose(1, 2)))


class GaussianCritic(nn.Module):
    """Gaussian predictive density for continuous ``y`` (the ``classifier`` estimator).

    ``T(z, y) = log N(y; mu(z), diag sigma^2) - log N(y; 0, Sigma_y)``: the
    conditional minus the marginal log density (``y`` is Gaussianised per
    coordinate before training and ``Sigma_y`` is its training covariance).
    ``sigma`` is one scale per target dimension (homoscedastic), in closed form:
    the RMS residual of the minibatch while training (detached) and of the
    validation slice of the fit split at read-out (:meth:`refit_scale`; the train
    residuals of a critic with more inputs than examples are near zero, and an
    overconfident density put held-out STS-B estimates at -65 nats). A learned ``sigma(z)`` head
    overfitted within a few epochs at d=128 in our runs (the held-out density
    went to -inf), and a learned global ``sigma`` moved too slowly under Adam.
    """

    def __init__(self, n_critics: int, d_in: int, d_y: int, hidden: int, n_hidden: int,
                 generator: torch.Generator, marginal_precision: Tensor, marginal_logdet: Tensor) -> None:
        super().__init__()
        self.net = StackedMLP(n_critics, d_in, d_y, hidden, n_hidden, generator)
        self.register_buffer("log_sd", torch.zeros(n_critics, 1, d_y))
        self.d_y = d_y
        self.register_buffer("prec", marginal_precision)  # (K, k, k)
        self.register_buffer("logdet", marginal_logdet)  # (K, 1)

    def embed_z(self, z: Tensor) -> Tensor:
        mu = self.net(z)
        return torch.cat([mu, self.log_sd.clamp(-7.0, 5.0).expand_as(mu)], -1)

    def embed_y(self, y: Tensor) -> Tensor:
        return y

    def _log_marginal(self, y: Tensor) -> Tensor:
        quad = torch.einsum("kbi,kij,kbj->kb", y, self.prec, y)
        return -0.5 * (quad + self.logdet + self.d_y * math.log(2 * math.pi))

    @torch.no_grad()
    def warm_start(self, coef: Tensor) -> None:
        """Start from a linear fit ``coef (K, d_in, k)`` (ridge on the train split) with the
        nonlinear branch silenced; it then only has to learn the residual. Without this, at
        d=128 the ReLU branch memorised noise before the linear part had converged."""
        self.net.skip.copy_(coef)
        self.net.weights[-1].zero_()
        self.net.biases[-1].zero_()

    @torch.no_grad()
    def refit_scale(self, z: Tensor, y: Tensor) -> None:
        """Set ``sigma`` to the RMS residual on ``(z (K, n, d), y (K, n, k))`` (the validation slice)."""
        mu = self.net(z)
        self.log_sd.copy_(0.5 * torch.log(((y - mu) ** 2).mean(1, keepdim=True) + 1e-8))

    def pair(self, zf: Tensor, yf: Tensor) -> Tensor:
        mu, log_sd = zf[..., : self.d_y], zf[..., self.d_y:]
        if self.training:
            log_sd = (0.5 * torch.log(((yf - mu) ** 2).mean(1, keepdim=True) + 1e-8)).detach().expand_as(mu)
        resid = (yf - mu) * torch.exp(-log_sd)
        log_cond = -0.5 * (resid ** 2).sum(-1) - log_sd.sum(-1) - 0.5 * self.d_y * math.log(2 * math.pi)
        return log_cond - self._log_marginal(yf)

    def matrix(self, zf: Tensor, yf_cand: Tensor | None = None) -> Tensor:
        # (K, B, 1, .) against (K, 1, M, .): only used for pointwise scoring
        mu = zf[..., : self.d_y].unsqueeze(2)
        log_sd = zf[..., self.d_y:].unsqueeze(2)
        y = yf_cand.unsqueeze(1)
        resid = (y - mu) * torch.exp(-log_sd)
        log_cond = -0.5 * (resid ** 2).sum(-1) - log_sd.sum(-1) - 0.5 * self.d_y * math.log(2 * math.pi)
        return log_cond - self._log_marginal(yf_cand).unsqueeze(1)
