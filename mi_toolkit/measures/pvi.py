"""Pointwise V-information of token states, with sentences kept whole.

PVI (Ethayarajh et al. 2022, in nats): ``PVI(z -> y) = log q(y | z) - log p(y)``, where
``q`` is a probe fitted on (token state, label) pairs and ``p`` the label prior of its fit
pairs. Its mean over held-out pairs is the usable information of a token state about the
label (H(Y) minus the probe's held-out cross-entropy).

Every token of a sentence shares the sentence's label, so pairs are split by sentence
(``GroupKFold``): a probe never scores a token of a sentence it was fitted on, and the
interval is a bootstrap over sentences (a cluster bootstrap), not over tokens.

The probe: PCA (fitted on the training pairs) -> standardise -> L2 logistic regression,
penalty chosen by grouped cross-validated log-loss (per scored fold on the other folds,
like the ``probe`` estimator's cross-fitting); the reported model is refitted on all pairs
with the penalty chosen on all folds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predgen_common.errors import UserError

from mi_toolkit.estimators.probe_family import split_log_prior
from mi_toolkit.estimators.result import is_detection

CS = (0.001, 0.01, 0.1, 1.0)   # inverse L2 strengths tried (scikit-learn's C)


NO_P_VALUE = "no null test is run: the interval is a bootstrap over sentences (detected = its low end above 0)"


@dataclass
class HeldOut:
    """Held-out usable information of token states in nats, sentence-bootstrap 95% interval."""

    mi: float
    ci_low: float
    ci_high: float
    n_pairs: int
    n_sentences: int
    n_folds: int
    chosen_c: float
    estimator: str = "grouped token probe (PCA + logistic regression)"
    interval_method: str = ("95% percentile bootstrap over sentences (each sentence's token pairs resampled "
                            "together), of pairs scored by probes fitted on the other sentences' folds")

    @property
    def detected(self) -> bool:
        return is_detection(self.ci_low)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "detected": self.detected, "n_train": self.n_pairs, "n_test": self.n_pairs,
                "n_eval": self.n_pairs, "p_value": None, "p_value_reason": NO_P_VALUE, "seed": None}


def _pipeline(c: float, k: int, seed: int):
    return make_pipeline(PCA(k, random_state=seed), StandardScaler(),
                         LogisticRegression(C=c, max_iter=500))


def _log_q(est: Any, Z: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, C)`` log-probabilities in code order, every class present."""
    out = np.full((len(Z), n_classes), -50.0)
    out[:, est.classes_] = est.predict_log_proba(Z)
    return out - np.logaddexp.reduce(out, axis=1, keepdims=True)


class GroupedProbe:
    """Fit on ``(Z (P, d), y (P,), groups (P,))``; :meth:`pvi` scores new token states."""

    def __init__(self, n_classes: int, *, folds: int = 5, k: int = 64, seed: int = 0, n_boot: int = 1000) -> None:
        self.n_classes, self.folds, self.k, self.seed, self.n_boot = n_classes, folds, k, seed, n_boot

    def fit(self, Z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> "GroupedProbe":
        n_groups = len(np.unique(groups))
        if n_groups < self.folds:
            raise UserError(f"token probe needs at least {self.folds} sentences, got {n_groups}; raise --max-samples")
        k = int(min(self.k, Z.shape[1], len(Z) // 2))
        splits = list(GroupKFold(self.folds).split(Z, y, groups))
        lp = np.zeros((len(CS), len(y)))       # out-of-fold log q(y_i|z_i) - log p(y_i), per C
        for tr, sc in splits:
            prior = split_log_prior(y[tr], self.n_classes)
            for j, c in enumerate(CS):
                est = _pipeline(c, k, self.seed).fit(Z[tr], y[tr])
                lp[j, sc] = np.maximum(_log_q(est, Z[sc], self.n_classes)[np.arange(len(sc)), y[sc]], -50) - prior[y[sc]]
        fold = np.empty(len(y), int)
        for f, (_, sc) in enumerate(splits):
            fold[sc] = f
        point = np.empty(len(y))
        for f in range(self.folds):   # each fold's C chosen on the other folds only
            other = fold != f
            point[fold == f] = lp[int(np.argmax(lp[:, other].mean(1))), fold == f]
        best = int(np.argmax(lp.mean(1)))
        self.held_out = self._interval(point, groups, k, CS[best])
        self.pointwise = point
        self.model = _pipeline(CS[best], k, self.seed).fit(Z, y)
        self.log_prior = split_log_prior(y, self.n_classes)
        return self

    def _interval(self, point: np.ndarray, groups: np.ndarray, k: int, c: float) -> HeldOut:
        _, g = np.unique(groups, return_inverse=True)
        sums, counts = np.bincount(g, weights=point), np.bincount(g).astype(float)
        rng = np.random.default_rng(self.seed + 7919)
        draw = rng.integers(0, len(sums), (self.n_boot, len(sums)))
        boot = sums[draw].sum(1) / counts[draw].sum(1)
        lo, hi = np.quantile(boot, [0.025, 0.975])
        return HeldOut(float(point.mean()), float(lo), float(hi), len(point), len(sums), self.folds, c)

    def pvi(self, Z: np.ndarray) -> np.ndarray:
        """``(T, C)``: ``log q(c | z_t) - log p(c)`` in nats for every token state and class."""
        return _log_q(self.model, np.asarray(Z, np.float64), self.n_classes) - self.log_prior[None, :]
