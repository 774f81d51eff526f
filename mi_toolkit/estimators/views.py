"""Inputs a probe reads, and the protocol every probe candidate follows.

Two kinds of input reach the probe engine:

- a plain array ``(N, d)`` (a pooled state, a flattened PCA block, ...);
- :class:`TokenStates`: variable-length token states ``(N, n_max, d)`` with a
  ``(N, n_max)`` mask, e.g. prompt plus generated tokens of each example.

A :class:`ProbeCandidate` turns a seed into an unfitted scikit-learn-style estimator
with ``fit(X, y_codes) -> self`` and ``predict_log_proba(X) -> (n, C)`` (all ``C``
classes, in code order, even when a fold lacks one). The engine selects among
candidates by cross-validated log-loss on the same folds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from predgen_core.errors import UserError
from predgen_core.methods.heads import POOLINGS  # one list of poolings for training heads and probes


@dataclass
class TokenStates:
    """Token states of ``N`` examples, padded on the right.

    ``z``: float ``(N, n_max, d)``, zero where ``mask`` is False;
    ``mask``: bool ``(N, n_max)``, True on real tokens. Every row has at least one
    real token. Indexing with an index array returns the selected examples.
    """

    z: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        self.z = np.asarray(self.z)
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.z.ndim != 3:
            raise UserError(f"token states must be (N, n, d), got shape {self.z.shape}; "
                            "pass 2-D arrays as plain (N, d) features")
        if self.mask.shape != self.z.shape[:2]:
            raise UserError(f"token mask has shape {self.mask.shape} but the states are {self.z.shape[:2]} "
                            "(N, n); pass one mask entry per token")
        empty = np.flatnonzero(~self.mask.any(axis=1))
        if len(empty):
            raise UserError(f"{len(empty)} example(s) have an all-zero token mask (first: row {int(empty[0])}); "
                            "drop them or mark at least one real token")
        if not np.isfinite(self.z[self.mask]).all():
            raise UserError("token states hold NaN or inf; check the extraction that produced them")

    @classmethod
    def from_list(cls, rows: Sequence[np.ndarray], dtype=np.float32) -> "TokenStates":
        """From per-example ``(n_i, d)`` arrays (variable ``n_i``)."""
        if not len(rows):
            raise UserError("no token states given; pass at least one (n_i, d) array")
        widths = {np.asarray(r).shape[-1] for r in rows}
        if len(widths) != 1 or any(np.asarray(r).ndim != 2 for r in rows):
            raise UserError("token states must be (n_i, d) arrays of one width d; "
                            f"got widths {sorted(widths)}")
        n_max = max(len(r) for r in rows)
        z = np.zeros((len(rows), n_max, widths.pop()), dtype=dtype)
        mask = np.zeros((len(rows), n_max), dtype=bool)
        for i, r in enumerate(rows):
            z[i, :len(r)] = r
            mask[i, :len(r)] = True
        return cls(z, mask)

    def __len__(self) -> int:
        return len(self.z)

    def __getitem__(self, idx: Any) -> "TokenStates":
        return TokenStates(self.z[idx], self.mask[idx])

    @property
    def d(self) -> int:
        return int(self.z.shape[2])

    def lengths(self) -> np.ndarray:
        """``(N,)`` real tokens per example."""
        return self.mask.sum(axis=1)

    def pooled(self, how: str) -> np.ndarray:
        """``(N, d)``: the first, mean or last real token state."""
        if how == "first":
            return self.z[np.arange(len(self)), self.mask.argmax(axis=1)]
        if how == "last":
            last = self.mask.shape[1] - 1 - self.mask[:, ::-1].argmax(axis=1)
            return self.z[np.arange(len(self)), last]
        if how == "mean":
            m = self.mask[..., None]
            return (self.z * m).sum(axis=1) / m.sum(axis=1)
        raise UserError(f"unknown pooling {how!r}; choose one of: {', '.join(POOLINGS)}")


def as_input(Z: Any, mask: Any = None) -> "np.ndarray | TokenStates":
    """The boundary check for probe inputs.

    ``(N, d)`` stays an array; ``(N, n, d)`` with a mask, or a list of ``(n_i, d)``
    arrays, becomes :class:`TokenStates`; ``(N, n, d)`` without a mask is taken as
    fixed-length (all tokens real).
    """
    if isinstance(Z, TokenStates):
        return Z
    if isinstance(Z, (list, tuple)) and len(Z) and np.asarray(Z[0]).ndim == 2:
        lengths = {len(r) for r in Z}
        if len(lengths) > 1 and mask is None:
            return TokenStates.from_list(Z)
        Z = np.stack([np.asarray(r) for r in Z])
    arr = np.asarray(Z)
    if arr.ndim == 3:
        m = np.ones(arr.shape[:2], dtype=bool) if mask is None else mask
        return TokenStates(arr, m)
    if mask is not None:
        raise UserError("a token mask was given for 2-D features; pass (N, n, d) token states with it")
    return arr


class Estimator(Protocol):
    def fit(self, X: Any, y: np.ndarray) -> "Estimator": ...
    def predict_log_proba(self, X: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class ProbeCandidate:
    """One probe the engine may choose: a name (kept in the result) and a factory.

    ``make(seed, n_classes)`` returns an unfitted estimator; ``view`` (optional) maps the
    engine's input to what this candidate reads (e.g. a part of a container), so that a
    container's candidate set can include each part's candidates (nesting by construction).
    """

    name: str
    make: Callable[[int, int], Estimator]
    view: Callable[[Any], Any] | None = None

    def read(self, X: Any) -> Any:
        return X if self.view is None else self.view(X)
