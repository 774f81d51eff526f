"""Cross-fitting and the read-out shared by the continuous-target estimators (``binned``, ``gaussian``).

A *fold score* is one scoring model's per-example values on rows it never saw; :func:`assemble` puts
the folds' values back in input order and adds the interval (a bootstrap that re-estimates each fold's
held-out cell entropy when the reading has cells) and the p-value (a permutation null under the fixed
models where every fold can re-score permuted targets, else the one-sided bootstrap share at or below 0).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.special import xlogy
from sklearn.model_selection import KFold

from predgen_common.errors import UserError

from mi_toolkit.estimators.result import MIResult


@dataclass
class FoldScore:
    """One scoring model's read-out on the examples it never saw."""

    pointwise: np.ndarray                    # (n_eval,) nats
    null: Callable[[np.ndarray], np.ndarray] | None  # permutation (n_eval,) -> pointwise under it; None: none
    choice: str = ""
    table: dict[str, tuple[float, float]] = field(default_factory=dict)  # candidate -> (cv_logloss, cv_mi)
    ceiling: float | None = None
    log_q: np.ndarray | None = None   # (n_eval,) log q(cell_i | z_i): binned, whose entropy term ...
    cells: np.ndarray | None = None   # (n_eval,) ... is re-estimated from these labels on each resample
    # the reading came from the first (linear) regressor where nonlinear ones were candidates and lost
    # (binned's regression reader; the critic estimate beside the bound is skipped where most folds say so)
    linear: bool = False


@dataclass
class Folds:
    """A cross-fit's read-outs for :func:`assemble`: each fold's score and scored rows (indices into the
    ``n`` input rows), the size of the smallest fit set, and whether the one fold is an explicit held-out set."""

    scores: list[FoldScore]
    rows: list[np.ndarray]
    n: int
    n_fit: int
    explicit: bool


def crossfit(fold_fn: Callable, z: np.ndarray, y: np.ndarray, n_folds: int, seed: int,
             n_fit: int | None = None) -> tuple[list[FoldScore], list[np.ndarray], int]:
    """Run ``fold_fn(z_fit, y_fit, z_eval, y_eval, seed)`` over K folds (or the explicit split
    ``rows :n_fit`` / ``n_fit:``). Returns the fold scores, each fold's evaluation rows, and the
    size of the smallest fit set."""
    if n_fit is not None:
        fit, ev = np.arange(n_fit), np.arange(n_fit, len(z))
        return [fold_fn(z[fit], y[fit], z[ev], y[ev], seed)], [ev], n_fit
    splits = fold_splits(len(z), n_folds, seed)
    scores = [fold_fn(z[f], y[f], z[e], y[e], seed + 101 * i) for i, (f, e) in enumerate(splits)]
    return scores, [e for _, e in splits], min(len(f) for f, _ in splits)


def fold_splits(n: int, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit rows, scored rows)`` of ``n_folds``-fold cross-fitting over ``n`` rows (seeded)."""
    if n_folds < 2:
        raise UserError(f"folds={n_folds}; cross-fitting needs at least 2 folds")
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros((n, 1))))


BOOT_CHUNK = 125   # resamples drawn at a time: (chunk, n) int32 blocks the allocator reuses; one (n_boot, n)
                  # int64 block cost 0.25 s in fresh pages at n = 5,000, the chunks 0.05 s


def bootstrap(scores, rows, offset, fold_ids, pointwise, n_boot: int, rng) -> np.ndarray:
    """``(n_boot,)`` resampled means. With bin labels (``binned``) the Miller-Madow entropy of each
    fold is re-estimated on every resample, so its sampling noise is in the interval too (held
    fixed, the no-information model's near-constant values gave intervals that excluded 0 by the
    Miller-Madow correction alone)."""
    n = len(pointwise)
    chunks = [min(BOOT_CHUNK, n_boot - s) for s in range(0, n_boot, BOOT_CHUNK)]
    if any(s.cells is None for s in scores):
        return np.concatenate([pointwise[rng.integers(0, n, (b, n), dtype=np.int32)].mean(1) for b in chunks])
    log_q, cells = np.empty(n), np.empty(n, dtype=np.int64)
    for s, r in zip(scores, rows):
        log_q[r - offset], cells[r - offset] = s.log_q, s.cells
    width = int(cells.max()) + 1
    fold_index = np.unique(fold_ids, return_inverse=True)[1].ravel()
    keys = fold_index * width + cells   # (n,) one key per (fold, cell)
    n_keys = (int(fold_index.max()) + 1) * width
    boot = np.concatenate([_resampled(log_q, keys, n_keys, width, b, rng) for b in chunks])
    # a resample repeats examples, so its plug-in entropy sits below the sample's: keep the spread,
    # centre it on the estimate
    return boot - boot.mean() + pointwise.mean()


def _resampled(log_q: np.ndarray, keys: np.ndarray, n_keys: int, width: int, b: int, rng) -> np.ndarray:
    """``(b,)`` resampled means of ``log_q (n,)`` plus the resample's Miller-Madow entropy of each fold's cells
    (``keys (n,)`` = fold x ``width`` + cell), weighted by the fold's rows."""
    n = len(log_q)
    idx = rng.integers(0, n, (b, n), dtype=np.int32)
    key = keys.astype(np.int32 if b * n_keys < 2**31 else np.int64)[idx]
    key += (np.arange(b, dtype=key.dtype) * n_keys)[:, None]
    counts = np.bincount(key.ravel(), minlength=b * n_keys).reshape(b, -1, width).astype(np.float64)
    n_f = counts.sum(-1)   # (b, folds)
    # sum over folds of n_f * H_MM,f = n_f log n_f - sum_c c log c + (occupied - 1) / 2
    total = xlogy(n_f, n_f) - xlogy(counts, counts).sum(-1) + np.maximum((counts > 0).sum(-1) - 1, 0) / 2
    return log_q[idx].mean(1) + total.sum(1) / n


def assemble(name: str, folds: Folds, cfg, note: Callable[[dict[str, Any]], str], seed: int, start: float,
             extra: dict[str, Any] | None = None) -> MIResult:
    """Per-example values back in input order, bootstrap interval, p-value; ``note(facts)`` words the
    interval (``facts``: ``b``, ``n``, ``how``, ``p`` permutations or 0 for the bootstrap p-value)."""
    scores, rows, n, n_fit, explicit = folds.scores, folds.rows, folds.n, folds.n_fit, folds.explicit
    rng = np.random.default_rng(seed + 7919)
    offset = rows[0][0] if explicit else 0
    n_eval = sum(len(r) for r in rows)
    pointwise, fold_ids = np.empty(n_eval), np.empty(n_eval, dtype=np.int64)
    for i, (s, r) in enumerate(zip(scores, rows)):
        pointwise[r - offset], fold_ids[r - offset] = s.pointwise, -1 if explicit else i
    mi = float(pointwise.mean())
    boot = bootstrap(scores, rows, offset, fold_ids, pointwise, cfg.n_bootstrap, rng)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    n_perm = cfg.n_permutations if all(s.null is not None for s in scores) else 0
    if n_perm:
        null = [sum(s.null(rng.permutation(len(r))).sum() for s, r in zip(scores, rows)) / n_eval
                for _ in range(n_perm)]
        p = (1 + sum(v >= mi for v in null)) / (1 + n_perm)
    else:
        p = (1 + int(np.sum(boot <= 0))) / (1 + len(boot))
    how = "explicit held-out set" if explicit else f"{len(rows)}-fold cross-fit"
    choices = Counter(s.choice for s in scores)
    table: dict[str, list] = {}
    for s in scores:
        for cand, v in s.table.items():
            table.setdefault(cand, []).append(v)
    ceiling = None if scores[0].ceiling is None else float(np.mean([s.ceiling for s in scores]))
    return MIResult(
        mi=mi, ci_low=float(lo), ci_high=float(hi), estimator=name, ceiling=ceiling,
        above_ceiling=ceiling is not None and mi > ceiling, n_train=n_fit, n_test=n_eval, p_value=float(p),
        seconds=time.perf_counter() - start, seed=seed,
        config={**asdict(cfg), "fold_choices": [s.choice for s in scores], "samples": n, **(extra or {})},
        interval_method=note({"b": cfg.n_bootstrap, "n": n_eval, "how": how, "p": n_perm}),
        discrete=False, pointwise=pointwise, fold_ids=fold_ids, chosen=choices.most_common(1)[0][0],
        candidates=[{"name": c, "cv_logloss": float(np.mean([v[0] for v in vals])),
                     "cv_mi": float(np.mean([v[1] for v in vals]))} for c, vals in table.items()],
        n_fit=n_fit, n_eval=n_eval, n_folds=0 if explicit else len(rows),
    )
