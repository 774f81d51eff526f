"""Generative-classifier heads for the probe's array candidates: LDA, regularised QDA, Gaussian naive Bayes.

A generative head models ``p(z | y)`` as a Gaussian per class and reads ``q(y | z)`` by Bayes' rule
(scikit-learn's :class:`~sklearn.discriminant_analysis.LinearDiscriminantAnalysis` with Ledoit-Wolf
shrinkage, :class:`~sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis` with ``reg_param``,
:class:`~sklearn.naive_bayes.GaussianNB`). They are closed-form fits, cheap beside the L-BFGS heads, and
at small ``n`` on near-Gaussian features often the best probe: a class-dependent variance, which a
linear logistic head cannot see and an MLP must learn, is one parameter per feature and class to them
(on a 64-d, 4-class mixture with per-class variances the engine read 0.645 where naive Bayes read
0.878, truth 0.901; ``benchmarks/bench_generative.py``).

A :class:`GenerativeFamily` is one preprocessing view (the same ``std``/``gauss``/``pca{k}``/``spca{k}``
views as the logistic heads, from :func:`~mi_toolkit.estimators.probe_prep.transform` with the same
per-split cache, so the PCA solve is shared) and one head over its grid; it has the
:class:`~mi_toolkit.estimators.probe_family.ArrayFamily` interface (``member_name``, ``one``,
``score_splits``), so the engine cross-fits and selects its members like every other candidate.

Classes too rare in a split's fit rows to be modelled (absent; one row; QDA: no more rows than
dimensions) keep their prior probability (the split's smoothed class frequency) and the modelled
classes share the rest, so every row's ``q`` stays a distribution over all ``C`` classes. Log-probabilities
are clipped at :data:`LOG_FLOOR` (the engine's clip), and a row the model cannot score (a non-finite value,
e.g. a constant feature) gets the prior.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB

from predgen_common.registry import Registry

from mi_toolkit.estimators.probe_prep import GridFamily, split_log_prior, transform
from mi_toolkit.estimators.specs import ProbeConfig

LOG_FLOOR = -50.0   # the engine's clip of log q(y_i | z_i): one wild example cannot read -inf
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class GenerativeHead:
    """How to build one generative head and where it is well posed.

    ``build(value)``: an unfitted scikit-learn classifier for one grid value; ``label(value)``: the head's
    part of a candidate name; ``grid(cfg)``: its grid values; ``max_width(cfg)``: the widest view it reads;
    ``min_rows(width)``: fit rows a class needs to be modelled at that width.
    """

    build: Callable[[Any], Any]
    label: Callable[[Any], str]
    grid: Callable[[ProbeConfig], tuple]
    max_width: Callable[[ProbeConfig], int]
    min_rows: Callable[[int], int]


HEADS: Registry[GenerativeHead] = Registry("generative head")
HEADS.register("lda")(GenerativeHead(
    build=lambda s: LinearDiscriminantAnalysis(solver="lsqr", shrinkage=s),
    label=lambda s: f"lda(shrink={s if isinstance(s, str) else format(s, 'g')})",
    grid=lambda cfg: tuple(cfg.lda_shrinkages), max_width=lambda cfg: cfg.generative_max_dim,
    min_rows=lambda width: 2))
HEADS.register("gnb")(GenerativeHead(
    build=lambda v: GaussianNB(var_smoothing=v), label=lambda v: f"gnb(vs={v:g})",
    grid=lambda cfg: tuple(cfg.gnb_smoothings), max_width=lambda cfg: cfg.generative_max_dim,
    min_rows=lambda width: 2))
# scikit-learn's QDA needs more rows than dimensions in every class (rank of the class covariance)
HEADS.register("qda")(GenerativeHead(
    build=lambda r: QuadraticDiscriminantAnalysis(reg_param=r), label=lambda r: f"qda(reg={r:g})",
    grid=lambda cfg: tuple(cfg.qda_regs), max_width=lambda cfg: cfg.qda_max_dim,
    min_rows=lambda width: width + 1))


def fit_log_proba(head: GenerativeHead, value: Any, train: np.ndarray, y_train: np.ndarray, score: np.ndarray,
                  n_classes: int, log_prior: np.ndarray) -> np.ndarray:
    """``(n_score, C)`` log q(y | z) of ``head`` at ``value`` fitted on ``train (n_tr, p)``, ``y_train (n_tr,)``.

    ``log_prior (C,)``: the split's smoothed log class frequencies, kept by the classes the head cannot
    model and by rows it cannot score; clipped at :data:`LOG_FLOOR`.
    """
    out = np.tile(log_prior, (len(score), 1))
    counts = np.bincount(y_train, minlength=n_classes)
    modelled = np.flatnonzero(counts >= head.min_rows(train.shape[1]))
    if len(modelled) < 2:          # nothing to tell apart: the no-information model
        return out
    keep = np.isin(y_train, modelled)
    try:
        with warnings.catch_warnings():   # collinear or constant features: the non-finite check below decides
            warnings.simplefilter("ignore")
            est = head.build(value).fit(train[keep].astype(np.float64), y_train[keep])
            lp = est.predict_log_proba(score.astype(np.float64))      # columns: modelled classes, in order
    except np.linalg.LinAlgError:
        return out
    rest = np.setdiff1d(np.arange(n_classes), modelled)
    mass = float(np.exp(log_prior[rest]).sum())     # the unmodelled classes keep their prior share
    ok = np.isfinite(lp).all(1)
    out[np.ix_(ok, modelled)] = np.log1p(-mass) + lp[ok]
    return np.maximum(out, LOG_FLOOR)


@dataclass(frozen=True)
class GenerativeFamily(GridFamily):
    """One preprocessing view and one generative head over its grid (each grid value one candidate)."""

    prep: str
    k: int | None
    head: str
    grid: tuple
    k_max: int = 0          # components the PCA is computed to (shared with the view's logistic families)

    def member_name(self, g: int) -> str:
        pre = f"{self.prep}{self.k}" if self.k else self.prep
        return f"{pre}+{HEADS.get(self.head).label(self.grid[g])}"

    def score_splits(self, X: np.ndarray, y: np.ndarray, splits: Sequence[Split], n_classes: int, seed: int,
                     device: torch.device, cache: dict) -> list[list[np.ndarray]]:
        """``out[g][f]``: ``(n_score_f, C)`` log-probabilities of grid value ``g`` fitted on split ``f``'s
        train rows, on its score rows. ``X (N, p)``, ``y (N,)`` codes; scikit-learn fits on the CPU."""
        del device

        X, head = np.asarray(X), HEADS.get(self.head)
        out: list[list[np.ndarray]] = [[] for _ in self.grid]
        for f, (tr, sc) in enumerate(splits):
            a, b = transform(X, self.prep, self.k, f, (tr, sc), seed, cache, max(self.k_max, self.k or 0))
            prior = split_log_prior(y[tr], n_classes)
            for g, value in enumerate(self.grid):
                out[g].append(fit_log_proba(head, value, a, y[tr], b, n_classes, prior))
        return out


def generative_families(d: int | None, cfg: ProbeConfig, heavy: bool, ks: Sequence[int],
                        k_max: int) -> list[GenerativeFamily]:
    """The generative families for an ``(N, d)`` array: every head on the all-features view (``gauss`` if
    ``heavy``, else ``std``; ``d`` known and within the head's width) and on ``pca{k}``/``spca{k}`` for the
    logistic heads' PCA sizes ``ks`` within the head's width. None unless ``cfg.generative``."""
    if not cfg.generative:
        return []
    views: list[tuple[str, int | None, int]] = [(p, k, k) for k in ks for p in ("pca", "spca")]
    if d is not None:
        views.insert(0, ("gauss" if heavy else "std", None, d))
    return [GenerativeFamily(prep, k, name, HEADS.get(name).grid(cfg), k_max)
            for prep, k, width in views for name in HEADS
            if width <= HEADS.get(name).max_width(cfg) and HEADS.get(name).grid(cfg)]
