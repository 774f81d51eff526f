"""Sequence probes for token states (:class:`TokenStates`, ``(N, n, d)`` with a mask).

:func:`sequence_candidates` gives the probe engine's candidate set for token states:

* **fixed poolings**: for each of first / mean / last, the standard array candidates read
  through ``view = X.pooled(g)``. The full states therefore contain every pooling by
  construction (nesting: they cannot read below a pooling except by selection noise).
* **attention pooling** (:class:`AttentionProbe`): tokens are reduced to ``k`` principal
  components (fitted on the fit rows' real tokens only; default ``k = 64``, raw states,
  so the few high-variance LM directions survive: lesson 2 of the probing notes), then
  ``heads`` learned queries, each with a learned bias per position from the start and
  from the end, attend over the real tokens (masked softmax); the pooled vectors feed a
  linear or one-hidden-layer head. Trained with cross-entropy plus an L2 penalty, a grid
  of penalties trained *together* as one batched model, each early-stopped on an inner
  split; the best is refitted on all fit rows for its best number of epochs.
* **position-aware reader** (:class:`PositionReader`), for fixed windows (every row has
  the same length): per-position PCA fitted on the fit rows, positions concatenated,
  standardised, then L2 logistic regression with the penalty chosen by CV log-loss
  (lesson 3: position-blind poolings lose position-specific information).

Every estimator follows the protocol of :mod:`mi_toolkit.estimators.views`:
``fit(X, y_codes) -> self`` and ``predict_log_proba(X) -> (n, C)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegressionCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mi_toolkit.estimators.views import POOLINGS, ProbeCandidate, TokenStates, as_input
from predgen_common.errors import UserError

# scikit-learn 1.9's explicit L2 (no FutureWarning): l1_ratios=(0,) and the new fitted attributes
LOGREG_QUIET = {"l1_ratios": (0.0,), "use_legacy_attributes": False}
MAX_TOKENS_FOR_PCA = 20_000  # fit rows' tokens sampled for the PCA (bounds its cost, not its rank)


def _full_log_proba(log_p: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Spread ``(n, len(classes))`` log-probabilities into ``(n, n_classes)`` (absent classes: -inf-ish)."""
    out = np.full((len(log_p), n_classes), -50.0)
    out[:, classes] = log_p
    return out - np.logaddexp.reduce(out, axis=1, keepdims=True)


class _TokenPCA:
    """PCA of the real tokens of the fit rows, then each component scaled to unit variance."""

    def __init__(self, k: int, seed: int) -> None:
        self.k, self.seed = k, seed

    def fit(self, X: TokenStates) -> "_TokenPCA":
        tokens = X.z[X.mask]
        if len(tokens) > MAX_TOKENS_FOR_PCA:
            pick = np.random.default_rng(self.seed).choice(len(tokens), MAX_TOKENS_FOR_PCA, replace=False)
            tokens = tokens[np.sort(pick)]
        tokens = tokens.astype(np.float64)
        # eigenvectors of the d x d covariance: exact, deterministic, and faster than a randomized SVD at d <= ~2k
        self.mean = tokens.mean(0)
        centred = tokens - self.mean
        evals, evecs = np.linalg.eigh(centred.T @ centred / max(1, len(tokens) - 1))
        k = min(self.k, tokens.shape[1], len(tokens) - 1)
        top = np.argsort(evals)[::-1][:k]
        signs = np.sign(evecs[np.abs(evecs[:, top]).argmax(0), top])  # a fixed sign per component
        self.components = (evecs[:, top] * signs).astype(np.float32)
        self.scale = np.sqrt(np.maximum(evals[top], 1e-12)).astype(np.float32)
        self.mean = self.mean.astype(np.float32)
        return self

    def transform(self, X: TokenStates) -> np.ndarray:
        """``(N, n, k)`` float32, zero on padding."""
        flat = X.z.reshape(-1, X.d).astype(np.float32)
        h = ((flat - self.mean) @ self.components) / self.scale
        return (h.reshape(len(X), X.z.shape[1], -1) * X.mask[..., None]).astype(np.float32)


@dataclass
class AttentionConfig:
    """Hyper-parameters of :class:`AttentionProbe` (defaults measured on 2,500 x 10-16 x 576 states)."""

    k: int = 64                      # PCA width of each token before attention
    heads: int = 2                   # learned queries
    head: str = "linear"             # "linear" or "mlp" (one hidden layer)
    hidden: int = 64                 # MLP width
    # L2 grid (the loss is mean CE + lam * |W|^2 / n_fit, i.e. lam = 1 / (2 C) in scikit-learn's terms),
    # trained as one batch of models
    penalties: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    max_positions: int = 32          # learned position biases (from start and from end)
    lr: float = 5e-2
    batch_size: int = 4096           # full batch up to here: fewer, cheaper steps on CPU
    max_epochs: int = 300
    patience: int = 25
    val_fraction: float = 0.2


class AttentionProbe:
    """Masked attention pooling with learned queries, then a head; see the module docstring."""

    def __init__(self, n_classes: int, seed: int = 0, config: AttentionConfig | None = None,
                 device: str = "cpu") -> None:
        self.n_classes, self.seed, self.device = n_classes, seed, device
        self.cfg = config or AttentionConfig()
        if self.cfg.head not in ("linear", "mlp"):
            raise UserError(f"attention head must be 'linear' or 'mlp', not {self.cfg.head!r}")

    # -- tensors
    def _tensors(self, X: TokenStates):
        import torch

        h = torch.as_tensor(self.pca.transform(X), device=self.device)
        mask = torch.as_tensor(X.mask, device=self.device)
        P = self.positions_
        count = torch.cumsum(mask.long(), 1)
        start = (count - 1).clamp(0, P - 1)                         # position from the first real token
        end = (mask.sum(1, keepdim=True) - count).clamp(0, P - 1)    # position from the last real token
        # one-hot (N, n, 2P): the position biases become a matmul (a gather's backward is a slow scatter)
        onehot = torch.cat([torch.nn.functional.one_hot(start, P), torch.nn.functional.one_hot(end, P)], -1)
        return h, mask, onehot.float()

    def _init(self, G: int, gen):
        import torch

        c, k, H = self.cfg, self.pca.scale.shape[0], self.cfg.heads
        width = H * k
        p = {"q": torch.zeros(G, H, k), "pos": torch.zeros(G, H, 2 * self.positions_)}
        if c.head == "linear":
            p["W"] = torch.randn(G, width, self.n_classes, generator=gen) * 0.01
            p["b"] = torch.zeros(G, 1, self.n_classes)
        else:
            p["W1"] = torch.randn(G, width, c.hidden, generator=gen) / np.sqrt(width)
            p["b1"] = torch.zeros(G, 1, c.hidden)
            p["W"] = torch.randn(G, c.hidden, self.n_classes, generator=gen) * 0.01
            p["b"] = torch.zeros(G, 1, self.n_classes)
        return {n: t.to(self.device).requires_grad_() for n, t in p.items()}

    def _logits(self, p, h, mask, onehot):
        """``(G, B, C)`` logits for a batch ``h (B, n, k)``, ``mask (B, n)``, ``onehot (B, n, 2P)``."""
        import torch

        s = torch.einsum("bnk,ghk->gbhn", h, p["q"]) + torch.einsum("bnp,ghp->gbhn", onehot, p["pos"])
        s = s.masked_fill(~mask[None, :, None, :], float("-inf"))
        pooled = torch.einsum("gbhn,bnk->gbhk", torch.softmax(s, dim=-1), h).flatten(2)
        if "W1" in p:
            pooled = torch.relu(torch.bmm(pooled, p["W1"]) + p["b1"])
        return torch.bmm(pooled, p["W"]) + p["b"]

    def _penalty(self, p):
        names = ("W", "W1", "q")
        return sum((p[n] ** 2).flatten(1).sum(1) for n in names if n in p)

    def _train(self, tensors, y, rows_fit, rows_val, penalties, epochs: int | None, gen):
        """Train ``len(penalties)`` configs at once; returns (params, best epoch per config, best val loss)."""
        import torch

        G = len(penalties)
        lam = torch.tensor(penalties, dtype=torch.float32, device=self.device)
        p = self._init(G, gen)
        opt = torch.optim.Adam(p.values(), lr=self.cfg.lr)
        yt = torch.as_tensor(y, device=self.device)
        best = torch.full((G,), float("inf"))
        best_epoch = np.zeros(G, dtype=int)
        snap = {n: t.detach().clone() for n, t in p.items()}
        n_epochs = epochs if epochs is not None else self.cfg.max_epochs
        for epoch in range(1, n_epochs + 1):
            order = rows_fit[torch.randperm(len(rows_fit), generator=gen).numpy()]
            for a in range(0, len(order), self.cfg.batch_size):
                idx = torch.as_tensor(order[a:a + self.cfg.batch_size], device=self.device)
                logits = self._logits(p, *(t[idx] for t in tensors))
                ce = torch.nn.functional.cross_entropy(
                    logits.flatten(0, 1), yt[idx].repeat(G), reduction="none").view(G, -1).mean(1)
                opt.zero_grad()
                (ce + lam * self._penalty(p) / len(rows_fit)).sum().backward()
                opt.step()
            if epochs is not None:
                continue
            with torch.no_grad():
                vi = torch.as_tensor(rows_val, device=self.device)
                lv = self._logits(p, *(t[vi] for t in tensors))
                val = torch.nn.functional.cross_entropy(
                    lv.flatten(0, 1), yt[vi].repeat(G), reduction="none").view(G, -1).mean(1).cpu()
            better = val < best - 1e-4
            best = torch.where(better, val, best)
            best_epoch[better.numpy()] = epoch
            for n, t in p.items():
                snap[n][better.to(self.device)] = t.detach()[better.to(self.device)]
            if epoch - best_epoch.max() >= self.cfg.patience:
                break
        return (p if epochs is not None else snap), best_epoch, best

    def fit(self, X: Any, y: np.ndarray) -> "AttentionProbe":
        """``X``: token states ``(N, n, d)`` (+ mask); ``y``: int codes ``(N,)``."""
        import torch

        X = _token_states(X)
        y = np.asarray(y, dtype=np.int64)
        self.pca = _TokenPCA(self.cfg.k, self.seed).fit(X)
        self.positions_ = int(min(self.cfg.max_positions, X.z.shape[1]))
        tensors = self._tensors(X)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            gen = torch.Generator().manual_seed(self.seed)
            perm = np.random.default_rng(self.seed).permutation(len(y))
            n_val = max(1, int(round(self.cfg.val_fraction * len(y))))
            _, best_epoch, best = self._train(tensors, y, perm[n_val:], perm[:n_val], self.cfg.penalties, None, gen)
            g = int(torch.argmin(best))
            self.penalty_, self.epochs_ = self.cfg.penalties[g], max(1, int(best_epoch[g]))
            self.params_, _, _ = self._train(tensors, y, np.arange(len(y)), None, (self.penalty_,), self.epochs_, gen)
        return self

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``(N, C)`` log-probabilities, columns in code order."""
        import torch

        X = _token_states(X)
        out = []
        with torch.no_grad():
            tensors = self._tensors(X)
            for a in range(0, len(X), 4096):
                logits = self._logits(self.params_, *(t[a:a + 4096] for t in tensors))[0]
                out.append(torch.log_softmax(logits, -1).cpu().numpy())
        return np.concatenate(out).astype(np.float64)


class PositionReader:
    """Per-position PCA (fit rows only) -> positions concatenated -> standardise -> L2 logistic (CV log-loss).

    For fixed windows: every row must have the same number of real tokens ``n``.
    ``k`` components per position (default ``clip(256 // n, 4, 16)``).
    """

    def __init__(self, n_classes: int, seed: int = 0, k: int | None = None, n_cs: int = 8, cv: int = 3) -> None:
        self.n_classes, self.seed, self.k, self.n_cs, self.cv = n_classes, seed, k, n_cs, cv

    def _features(self, X: TokenStates) -> np.ndarray:
        return np.concatenate([p.transform(X.z[:, t].astype(np.float32)) for t, p in enumerate(self.pcas_)], axis=1)

    def fit(self, X: Any, y: np.ndarray) -> "PositionReader":
        X = _token_states(X)
        if not X.mask.all():
            raise UserError("the position-aware reader needs fixed windows (every row the same length); "
                            "use the attention or pooled candidates for variable-length token states")
        n = X.z.shape[1]
        k = self.k or int(np.clip(256 // n, 4, 16))
        self.pcas_ = [PCA(min(k, X.d, len(X) - 1), svd_solver="full", random_state=self.seed)
                      .fit(X.z[:, t].astype(np.float32)) for t in range(n)]
        self.classes_ = np.unique(y)
        self.model_ = make_pipeline(StandardScaler(), LogisticRegressionCV(
            Cs=np.logspace(-4, 2, self.n_cs), cv=self.cv, scoring="neg_log_loss", max_iter=500, **LOGREG_QUIET))
        self.model_.fit(self._features(X), y)
        return self

    def predict_log_proba(self, X: Any) -> np.ndarray:
        X = _token_states(X)
        return _full_log_proba(self.model_.predict_log_proba(self._features(X)), self.classes_, self.n_classes)


def _token_states(X: Any) -> TokenStates:
    X = as_input(X)
    if not isinstance(X, TokenStates):
        raise UserError("a sequence probe reads token states (N, n, d) with a mask, not (N, d) features; "
                        "use the array candidates for pooled states")
    return X


def _pooled_view(how: str) -> Callable[[TokenStates], np.ndarray]:
    return lambda X: X.pooled(how)


def _array_candidates(n_classes: int, **kw: Any) -> list[ProbeCandidate]:
    """The probe engine's standard candidates for an ``(N, d)`` array (a PCA + logistic fallback without it)."""
    try:
        from mi_toolkit.estimators.probe_family import array_candidates
    except ImportError:
        return [ProbeCandidate("pca64+logistic", lambda seed, C: _LogisticArray(C, seed))]
    return array_candidates(n_classes, **kw)


class _LogisticArray:
    """PCA(64) -> standardise -> L2 logistic (CV log-loss): the array candidate used until the engine's lands."""

    def __init__(self, n_classes: int, seed: int, k: int = 64) -> None:
        self.n_classes, self.seed, self.k = n_classes, seed, k

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_LogisticArray":
        self.classes_ = np.unique(y)
        self.model_ = make_pipeline(PCA(min(self.k, X.shape[1], len(X) - 1), random_state=self.seed),
                                    StandardScaler(), LogisticRegressionCV(Cs=8, cv=3, scoring="neg_log_loss",
                                                                           max_iter=500, **LOGREG_QUIET))
        self.model_.fit(np.asarray(X, np.float32), y)
        return self

    def predict_log_proba(self, X: np.ndarray) -> np.ndarray:
        lp = self.model_.predict_log_proba(np.asarray(X, np.float32))
        return _full_log_proba(lp, self.classes_, self.n_classes)


def sequence_candidates(X: Any, n_classes: int, *, poolings: Sequence[str] = POOLINGS,
                        attention_heads: Sequence[str] = ("linear",), position: bool | None = None,
                        device: str = "cpu", array_candidates: Callable[..., list[ProbeCandidate]] | None = None,
                        config: AttentionConfig | None = None) -> list[ProbeCandidate]:
    """The candidate set for token states ``X`` (see the module docstring).

    ``attention_heads``: one attention reader per head kind (``()``: no attention reader).
    ``position=None`` adds the position-aware reader exactly when ``X`` is a fixed window
    (all rows fully real) of at most 64 tokens. ``array_candidates(n_classes)`` gives the
    candidates for one pooled ``(N, d)`` array (default: the probe engine's).
    """
    X = _token_states(X)
    array_candidates = array_candidates or _array_candidates
    out: list[ProbeCandidate] = []
    for how in poolings:
        view = _pooled_view(how)
        out += [ProbeCandidate(f"{how}:{c.name}", c.make, _compose(c.view, view)) for c in array_candidates(n_classes)]
    base = config or AttentionConfig()
    for head in attention_heads:
        cfg = AttentionConfig(**{**base.__dict__, "head": head})
        out.append(ProbeCandidate(f"attention:{head}:k{cfg.k}",
                                  lambda seed, C, cfg=cfg: AttentionProbe(C, seed, cfg, device)))
    fixed = bool(X.mask.all()) and X.z.shape[1] <= 64
    if position if position is not None else fixed:
        out.append(ProbeCandidate("position:pca+logistic", lambda seed, C: PositionReader(C, seed)))
    return out


def _compose(inner: Callable | None, outer: Callable) -> Callable:
    """``view`` of a pooled candidate: pool first, then the array candidate's own view (if any)."""
    return outer if inner is None else (lambda X: inner(outer(X)))
