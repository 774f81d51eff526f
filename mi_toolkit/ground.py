"""The ground floor of mi_toolkit: the input types and small helpers every floor above may use.

- :class:`TokenStates`: variable-length token states ``(N, n_max, d)`` with a ``(N, n_max)`` mask;
- :func:`as_input`: an array or a list of per-example arrays as a probe reads it;
- :func:`entropy_nats`: the plug-in entropy of integer codes;
- :func:`resolve_device`: ``auto`` / ``cpu`` / ``cuda[:N]`` to a torch device.

This module imports nothing else of mi_toolkit (and no torch at import time), so the states,
the estimators and the boundary checks (``validate``) can all stand on it without importing
one another; ``.importlinter`` holds it to that (tested by ``tests/test_architecture.py``).
The old homes (``estimators.views``, ``validate``) re-export these names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

# The names of predgen_core.methods.heads.POOLINGS, which imports torch; a test keeps the two equal.
POOLINGS = ("first", "mean", "last")


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


def entropy_nats(codes: np.ndarray) -> float:
    """Plug-in entropy ``H(Y)`` of integer codes ``(N,)`` (non-negative), in nats."""
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def resolve_device(device: str):
    """``auto`` -> CUDA when available else CPU; ``cuda`` without CUDA is a :class:`UserError`."""
    import torch  # on use, deliberately: the ground floor stays importable without torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("--device cuda requested but CUDA is not available; use --device cpu or auto")
        return torch.device(device)
    raise UserError(f"unknown device {device!r}; choose one of: auto, cpu, cuda")
