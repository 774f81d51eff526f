"""The probe's array candidates: preprocessing x head x hyper-parameter grid, scored in batches.

A :class:`ArrayFamily` is one preprocessing (``std``, ``gauss``, ``pca``/``spca`` to ``k``
components) and one head (L2 logistic regression, or a one-hidden-layer MLP with a linear
skip path) over a grid of penalties; each grid value is one candidate. The engine scores
a whole family on every cross-fitting split in one batched fit
(:mod:`mi_toolkit.estimators.probe_heads`). Each candidate's ``make`` is a
:class:`FamilyMember`, a callable that also builds a stand-alone estimator
(``fit`` / ``predict_log_proba``), so the candidates follow the
:class:`~mi_toolkit.estimators.views.ProbeCandidate` protocol and work inside other candidate
sets (e.g. the sequence probe's pooled views). Generative heads (LDA, QDA, naive Bayes) on the same
views are families of their own with the same interface (:mod:`mi_toolkit.estimators.probe_generative`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from mi_toolkit.estimators.probe_generative import GenerativeFamily, generative_families
from mi_toolkit.estimators.probe_heads import fit_heads, predict_heads, stack_rows
from mi_toolkit.estimators.probe_prep import GridFamily, split_log_prior, transform  # noqa: F401 (re-export)
from mi_toolkit.estimators.specs import ProbeConfig
from mi_toolkit.estimators.views import ProbeCandidate

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ArrayFamily(GridFamily):
    """One preprocessing and one head over a penalty grid (``hidden = 0``: logistic)."""

    GRID = "penalties"
    prep: str
    k: int | None
    hidden: int
    penalties: tuple[float, ...]
    max_iter: int
    k_max: int = 0          # components the PCA is computed to (shared by the family's k's)

    def member_name(self, g: int) -> str:
        pre = f"{self.prep}{self.k}" if self.k else self.prep
        head = f"mlp{self.hidden}(wd={self.penalties[g]:g})" if self.hidden else f"logreg(l2={self.penalties[g]:g})"
        return f"{pre}+{head}"

    def score_splits(self, X: np.ndarray, y: np.ndarray, splits: list[Split], n_classes: int, seed: int,
                     device: torch.device, cache: dict) -> list[list[np.ndarray]]:
        """``out[g][f]``: ``(n_score_f, C)`` log-probabilities of grid value ``g`` fitted on split ``f``'s
        train rows, on its score rows. ``X (N, p)``, ``y (N,)`` codes."""
        X = np.asarray(X)
        feats = [transform(X, self.prep, self.k, i, s, seed, cache, max(self.k_max, self.k or 0))
                 for i, s in enumerate(splits)]
        x, mask = stack_rows([a for a, _ in feats], device)
        yt = torch.zeros(mask.shape, dtype=torch.long, device=device)
        for f, (tr, _) in enumerate(splits):
            yt[f, : len(tr)] = torch.from_numpy(y[tr]).to(device)
        w = mask.float() / mask.sum(1, keepdim=True)
        prior = torch.tensor(np.stack([split_log_prior(y[tr], n_classes) for tr, _ in splits]),
                             dtype=torch.float32, device=device)
        pen = torch.tensor(self.penalties, dtype=torch.float32, device=device)
        model = fit_heads(x, yt, w, prior, pen, self.hidden, self.max_iter, seed)  # C: the prior's width
        preds = predict_heads(model, [torch.from_numpy(b).to(device) for _, b in feats])
        return [[p[g].double().cpu().numpy() for p in preds] for g in range(len(self.penalties))]


class FamilyMember:
    """``make(seed, n_classes)`` of one family candidate (an :class:`ArrayFamily` or a
    :class:`~mi_toolkit.estimators.probe_generative.GenerativeFamily`); carries ``family``/``index`` so the
    engine can batch members of one family, and builds a stand-alone estimator otherwise."""

    def __init__(self, family: ArrayFamily | GenerativeFamily, index: int, device: str = "cpu") -> None:
        self.family, self.index, self.device = family, index, device

    def __call__(self, seed: int, n_classes: int) -> "MemberEstimator":
        return MemberEstimator(self, seed, n_classes)


class MemberEstimator:
    """One family candidate as a scikit-learn-style estimator (fit on all given rows)."""

    def __init__(self, member: FamilyMember, seed: int, n_classes: int) -> None:
        self.member, self.seed, self.n_classes = member, seed, n_classes

    def fit(self, X: Any, y: np.ndarray) -> "MemberEstimator":
        self.X_, self.y_ = np.asarray(X, dtype=np.float64), np.asarray(y)
        return self

    def predict_log_proba(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n = len(self.X_)
        allx = np.concatenate([self.X_, X])
        ally = np.concatenate([self.y_, np.zeros(len(X), dtype=self.y_.dtype)])
        one = self.member.family.one(self.member.index)
        split = (np.arange(n), np.arange(n, len(allx)))
        return one.score_splits(allx, ally, [split], self.n_classes, self.seed,
                                torch.device(self.member.device), {})[0][0]


def array_candidates(n_classes: int, d: int | None = None, cfg: Any = None, heavy: bool = False,
                     device: str = "cpu") -> list[ProbeCandidate]:
    """The candidate set for an ``(N, d)`` array (``cfg``: a :class:`~mi_toolkit.estimators.specs.ProbeConfig`).

    Always standardise + logistic over the penalty grid; with heavy tails (``heavy``) the
    Gaussianised version too; for ``d >= cfg.pca_ratio * k``: raw-PCA and standardise-PCA to ``k``
    + logistic; an MLP head on all features (Gaussianised if ``heavy``, else standardised) when
    ``d <= cfg.mlp_max_dim``, else on the top raw PCs (``cfg.nonlinear_ks``; lesson 2: a nonlinear
    label on the top-variance direction); with ``cfg.generative``, LDA, naive Bayes and (narrow views)
    QDA heads on the same views (:func:`~mi_toolkit.estimators.probe_generative.generative_families`).
    ``d=None``: every PCA size.
    """
    cfg = cfg or ProbeConfig()
    del n_classes  # the head sizes come from the labels at fit time
    ks = [k for k in cfg.pca_ks if d is None or k * cfg.pca_ratio <= d]
    nks = [k for k in cfg.nonlinear_ks if d is None or (k * cfg.pca_ratio <= d and d > cfg.mlp_max_dim)]
    gks = [k for k in cfg.generative_pca_ks      # the generative heads' own PCA sizes (QDA needs narrow views)
           if cfg.generative and k not in ks and (d is None or k * cfg.pca_ratio <= d)]
    k_max = max(ks + nks + gks + [0])
    lin = lambda prep, k: ArrayFamily(prep, k, 0, tuple(cfg.penalties), cfg.max_iter_linear, k_max)  # noqa: E731
    mlp = lambda prep, k: ArrayFamily(prep, k, cfg.hidden, tuple(cfg.mlp_decays), cfg.max_iter_mlp, k_max)  # noqa: E731
    fams = [lin("std", None)] + ([lin("gauss", None)] if heavy else [])
    fams += [lin(p, k) for k in ks for p in ("pca", "spca")]
    if d is not None and d <= cfg.mlp_max_dim:
        fams += [mlp("gauss", None)] if heavy else [mlp("std", None)]
    fams += [mlp("pca", k) for k in nks]
    fams += generative_families(d, cfg, heavy, sorted(ks + gks), k_max)
    return [ProbeCandidate(f.member_name(g), FamilyMember(f, g, device)) for f in fams
            for g in range(f.size)]
