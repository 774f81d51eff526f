"""PCA reductions of variable-length token states, in two forms.

Both are deterministic functions of an example's states Z ``(n, d)``, so the data
processing inequality applies: I(Y; PCA(Z)) <= I(Y; Z).

- **Token axis** (the default; the paper's "n x d -> 2 x d"): per example, the top-k
  principal directions of its n token vectors (centred over tokens), each scaled by its
  singular value, with a deterministic sign. Output ``(k, d)``. PCA_k is the first k
  rows of PCA_{k+1}, so the estimates of a sweep over k should not fall.
- **Feature axis**: scikit-learn ``PCA`` / ``IncrementalPCA`` fitted on the token
  vectors of the fit split reduces each token d -> k; the ``(n, k)`` result is
  zero-padded (or truncated) to a fixed number of tokens so every example has the
  same size. The fitted map is then applied unchanged to the evaluation split.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.utils.validation import check_is_fitted

from predgen_common.errors import UserError

AXES = ("token", "feature")


def _check_k(k: int, n_tokens: int, where: str = "") -> None:
    if k < 1:
        raise UserError(f"the number of PCA components must be at least 1, not {k}")
    if k > n_tokens:
        raise UserError(
            f"k={k} PCA components is larger than the number of tokens ({n_tokens}){where}; "
            f"choose k <= {n_tokens} or use the feature-axis PCA"
        )


def _flip_signs(vt: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of each row of ``vt`` (..., k, d) positive."""
    idx = np.abs(vt).argmax(axis=-1)[..., None]
    signs = np.sign(np.take_along_axis(vt, idx, axis=-1))
    signs[signs == 0] = 1.0
    return vt * signs


def token_pca(z: np.ndarray, k: int, *, center: bool = True) -> np.ndarray:
    """Token-axis PCA of one example: ``(n, d) -> (k, d)``, rows ``s_j * v_j``.

    ``v_j`` are the right singular vectors of the (token-centred) states, ``s_j`` their
    singular values, sorted descending, each ``v_j`` signed so its largest entry is
    positive.
    """
    return token_pca_batch([z], k, center=center)[0]


def token_pca_batch(states: Sequence[np.ndarray], k: int, *, center: bool = True,
                    offset: int = 0) -> np.ndarray:
    """Token-axis PCA of many examples ``[(n_i, d)] -> (N, k, d)`` float32.

    Examples of equal length go through one stacked SVD. ``offset`` only shifts the
    example index quoted in errors.
    """
    if not len(states):
        return np.zeros((0, k, 0), np.float32)
    d = states[0].shape[-1]
    out = np.empty((len(states), k, d), np.float32)
    by_len: dict[int, list[int]] = {}
    for i, z in enumerate(states):
        by_len.setdefault(z.shape[0], []).append(i)
    for n, idx in by_len.items():
        _check_k(k, n, f" of example {offset + idx[0]}")
        z = np.stack([np.asarray(states[i], np.float64) for i in idx])
        if center:
            z = z - z.mean(axis=1, keepdims=True)
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        vt = _flip_signs(vt[:, :k])
        out[idx] = (vt * s[:, :k, None]).astype(np.float32)
    return out


def token_pca_all(states: Iterable[np.ndarray], ks: Sequence[int], *, center: bool = True,
                  chunk: int = 1024) -> dict[int, np.ndarray]:
    """Token-axis PCA for several k at once: one SVD per example, ``{k: (N, k, d)}``.

    ``states`` is any iterable of ``(n_i, d)`` arrays (e.g. ``HiddenStates.iter_full()``);
    it is consumed in chunks so only the reduced arrays are held in memory.
    """
    kmax = max(ks)
    parts: list[np.ndarray] = []
    buf: list[np.ndarray] = []
    seen = 0
    for z in states:
        buf.append(np.asarray(z))
        if len(buf) == chunk:
            parts.append(token_pca_batch(buf, kmax, center=center, offset=seen))
            seen += len(buf)
            buf = []
    if buf:
        parts.append(token_pca_batch(buf, kmax, center=center, offset=seen))
    if not parts:
        raise UserError("no examples to reduce")
    full = np.concatenate(parts)
    return {k: np.ascontiguousarray(full[:, :k]) for k in ks}


class FeaturePCA(TransformerMixin, BaseEstimator):
    """Feature-axis PCA: each token d -> k, then a fixed length of ``n_tokens`` rows.

    Parameters
    ----------
    n_components: k, the components kept per token.
    n_tokens: rows of the output; None means the longest example seen in ``fit``.
    incremental: fit with ``IncrementalPCA`` in batches (memory flat in the fit split).
    batch_size: token vectors per ``partial_fit`` call when incremental.
    random_state: for ``PCA``'s randomized solver (ignored when incremental).

    ``fit`` takes an iterable of ``(n_i, d)`` arrays; ``transform`` a sequence of them
    and returns ``(N, n_tokens, k)`` float32. Fitted attributes: ``pca_``, ``n_tokens_``.
    """

    def __init__(self, n_components: int = 2, n_tokens: int | None = None, incremental: bool = True,
                 batch_size: int = 4096, random_state: int = 0) -> None:
        self.n_components = n_components
        self.n_tokens = n_tokens
        self.incremental = incremental
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, states: Iterable[np.ndarray], y=None) -> "FeaturePCA":
        if self.n_components < 1:
            raise UserError(f"the number of PCA components must be at least 1, not {self.n_components}")
        longest = 0
        if self.incremental:
            self.pca_ = IncrementalPCA(n_components=self.n_components)
            buf: list[np.ndarray] = []
            held = 0
            for z in states:
                buf.append(np.asarray(z, np.float32))
                held += len(z)
                longest = max(longest, len(z))
                if held >= max(self.batch_size, self.n_components):
                    self.pca_.partial_fit(np.concatenate(buf))
                    buf, held = [], 0
            if buf and (held >= self.n_components or not hasattr(self.pca_, "components_")):
                self._check_rows(held)
                self.pca_.partial_fit(np.concatenate(buf))
        else:
            rows = [np.asarray(z, np.float32) for z in states]
            longest = max((len(z) for z in rows), default=0)
            x = np.concatenate(rows) if rows else np.zeros((0, 1))
            self._check_rows(len(x))
            self.pca_ = PCA(n_components=self.n_components, random_state=self.random_state).fit(x)
        self.n_tokens_ = int(self.n_tokens or longest)
        return self

    def _check_rows(self, rows: int) -> None:
        if rows < self.n_components:
            raise UserError(f"k={self.n_components} feature components need at least {self.n_components} "
                            f"token vectors to fit on, got {rows}; lower k or use more examples")

    def transform(self, states: Iterable[np.ndarray]) -> np.ndarray:
        check_is_fitted(self, "pca_")
        rows = [np.asarray(z, np.float32) for z in states]
        out = np.zeros((len(rows), self.n_tokens_, self.n_components), np.float32)
        if not rows:
            return out
        lens = [min(len(z), self.n_tokens_) for z in rows]
        flat = self.pca_.transform(np.concatenate([z[:m] for z, m in zip(rows, lens)]))
        starts = np.concatenate([[0], np.cumsum(lens)])
        for i, m in enumerate(lens):
            out[i, :m] = flat[starts[i] : starts[i] + m]
        return out


class RowPCA(TransformerMixin, BaseEstimator):
    """Per-row feature PCA of fixed-shape representations: ``(N, r, d) -> (N, r, p)``.

    One scikit-learn ``PCA`` is fitted per row position (PCA component j, or a pooled
    state) on the fit split and applied unchanged elsewhere. Row j's map depends on
    row j alone, so the nestings the DPI report and the sweeps rely on survive: the
    reduced PCA_k is the first k rows of the reduced PCA_k', and a reduced pooled row
    is a row of the reduced ``full+pooled``. Fewer inputs per example let a critic
    trained on a few hundred examples generalise (see docs/reading-mi.md).

    Parameters: ``n_components`` p (capped at the fit split's size and d);
    ``random_state`` for the solver. Fitted attributes: ``pcas_``, ``n_rows_``.
    """

    def __init__(self, n_components: int = 32, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    @staticmethod
    def _as_rows(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.ndim == 2:
            x = x[:, None, :]
        if x.ndim != 3:
            raise UserError(f"RowPCA needs (N, rows, d) or (N, d) arrays, got shape {x.shape}")
        return x

    def fit(self, x: np.ndarray, y=None) -> "RowPCA":
        x = self._as_rows(x)
        if self.n_components < 1:
            raise UserError(f"--row-dim must be at least 1, not {self.n_components}")
        p = min(self.n_components, x.shape[0], x.shape[2])
        self.pcas_ = [PCA(n_components=p, svd_solver="full", random_state=self.random_state).fit(x[:, j])
                      for j in range(x.shape[1])]
        self.n_rows_ = x.shape[1]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "pcas_")
        x = self._as_rows(x)
        if x.shape[1] != self.n_rows_:
            raise UserError(f"RowPCA was fitted on {self.n_rows_} rows, got {x.shape[1]}")
        return np.stack([pca.transform(x[:, j]) for j, pca in enumerate(self.pcas_)], axis=1).astype(np.float32)


def reduce_rows(fit: np.ndarray, ev: np.ndarray, row_dim: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, eval)`` with every row reduced to ``row_dim`` by a :class:`RowPCA` fitted on ``fit``;
    unchanged when ``row_dim`` is None. Shapes ``(N, r, d) -> (N, r, p)``, ``(N, d) -> (N, p)``."""
    if row_dim is None:
        return fit, ev
    rp = RowPCA(row_dim).fit(fit)
    out_fit, out_ev = rp.transform(fit), rp.transform(ev)
    if np.ndim(fit) == 2:
        return out_fit[:, 0], out_ev[:, 0]
    return out_fit, out_ev
