"""From extracted states to the arrays an estimator sees.

Representations of one example's states Z ``(n, d)`` (all deterministic functions of Z):

- ``full``: the token states Z themselves, ``TokenStates`` ``(N, n_max, d)`` with a mask (the
  ``probe`` estimator reads them with its sequence probe; it contains every pooling);
- ``token-pca``: Z reduced by PCA (token axis: ``(k, d)``; feature axis: ``(n_max, k)``), the
  paper's Z_r. The token-axis PCA centres each example's tokens, so it does NOT contain the
  mean or the last token state;
- ``pooled``: g(Z) for g in first / mean / last over the prompt tokens, ``(d,)``;
- ``full+pooled``: the token-axis PCA rows stacked with the three pooled rows,
  ``(k + 3, d)``. Every pooled g(Z) is a function of it, so the DPI orders
  I(Y; full+pooled) >= I(Y; g(Z)); it does NOT order I(Y; PCA_k(Z)) against I(Y; g(Z)).

``mi_toolkit.measures.estimate`` estimates them on fixed fit / evaluation splits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.ground import TokenStates, entropy_nats
from mi_toolkit.states.extract import HiddenStates
from mi_toolkit.states.pca import AXES, FeaturePCA, token_pca_all

KINDS = ("full", "token-pca", "pooled", "full+pooled")


@dataclass
class Representation:
    """Which representation of the states to estimate on.

    kind: ``full`` (token states) | ``token-pca`` | ``pooled`` | ``full+pooled``; pooling: first | mean | last (for
    ``pooled``); pca_k: PCA components; pca_axis: ``token`` (default) | ``feature``.
    """

    kind: str = "full"
    pooling: str = "last"
    pca_k: int = 2
    pca_axis: str = "token"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"unknown representation {self.kind!r}; choose one of: {', '.join(KINDS)}")
        if self.pooling not in POOLINGS:
            raise UserError(f"unknown pooling {self.pooling!r}; choose one of: {', '.join(POOLINGS)}")
        if self.pca_axis not in AXES:
            raise UserError(f"unknown PCA axis {self.pca_axis!r}; choose one of: {', '.join(AXES)}")
        if self.pca_k < 1:
            raise UserError(f"--pca-k must be at least 1, got {self.pca_k}")

    @property
    def label(self) -> str:
        if self.kind == "pooled":
            return f"pooled ({self.pooling})"
        if self.kind == "full":
            return "full (token states)"
        axis = "" if self.pca_axis == "token" else ", feature axis"
        return f"{self.kind} (PCA k={self.pca_k}{axis})"


def build(rep: Representation, fit: HiddenStates, ev: HiddenStates) -> tuple[np.ndarray, np.ndarray]:
    """``(Z_fit, Z_eval)`` arrays for ``rep``: ``(N, d)``, ``(N, k, d)`` or ``(N, n_max, k)``."""
    if fit.d != ev.d:
        raise UserError(f"fit and evaluation states differ in width ({fit.d} vs {ev.d}); extract both from one checkpoint")
    if rep.kind == "pooled":
        return fit.pooled(rep.pooling), ev.pooled(rep.pooling)
    if rep.kind == "full":
        return token_states(fit), token_states(ev)
    if rep.pca_axis == "feature":
        if rep.kind == "full+pooled":
            raise UserError("full+pooled needs the token-axis PCA; drop --pca-axis feature")
        longest = int(max(fit.lengths().max(), ev.lengths().max()))
        fpca = FeaturePCA(n_components=rep.pca_k, n_tokens=longest).fit(fit.iter_full())
        return fpca.transform(list(fit.iter_full())), fpca.transform(list(ev.iter_full()))
    zf, ze = token_pca_all(fit.iter_full(), [rep.pca_k])[rep.pca_k], token_pca_all(ev.iter_full(), [rep.pca_k])[rep.pca_k]
    if rep.kind == "full+pooled":
        zf = np.concatenate([zf, pooled_rows(fit)], axis=1)
        ze = np.concatenate([ze, pooled_rows(ev)], axis=1)
    return zf, ze


def token_states(states: HiddenStates) -> TokenStates:
    """``(N, n_max, d)`` token states with their mask, from an extraction (float32)."""
    return TokenStates.from_list([np.asarray(z, np.float32) for z in states.iter_full()])


def pooled_rows(states: HiddenStates) -> np.ndarray:
    """``(N, 3, d)``: first, mean and last pooled states stacked."""
    return np.stack([states.pooled(g) for g in POOLINGS], axis=1)


def labels_array(labels: np.ndarray) -> np.ndarray:
    """Integer labels stay discrete; float targets become ``(N,)`` float (continuous)."""
    arr = np.asarray(labels)
    return arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float64)


def plugin_entropy(y: np.ndarray) -> float | None:
    """Plug-in H(Y) in nats for discrete labels (the ceiling of I(Y; anything)); None if continuous."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        return None
    return entropy_nats(np.unique(y, return_inverse=True)[1].ravel())
