"""Bootstrap of the probe's select-and-score step, so that intervals cover the candidate choice.

The probe engine scores every candidate on every example (each value by a model that never saw
the example), then chooses, for each scoring fold, the candidate with the best log-loss on the
*other* folds and reports the chosen candidate's values. The example bootstrap alone treats that
choice as fixed; but the choice is itself a function of the examples drawn, and at a few hundred
examples it can fall either way between near-equal candidates. A container whose candidate set
holds its part's then reads a little below its part in some fold assignments: selection noise, not
information.

:func:`reselect_draws` resamples the whole step: each draw resamples the scored examples with
replacement, re-draws the folds where the folds only select (an explicit held-out set, whose
candidates were fitted once on the fit set) or keeps each example's fitting fold (cross-fitting,
where the fold decides which model scored it), re-chooses every fold's candidate on the resampled
other folds (with the same one-standard-error rule for containers,
:func:`mi_toolkit.estimators.probe.pick_candidate`) and scores. Several results on the same examples
are drawn jointly (the same resampled examples and folds), so a paired difference's interval
covers which examples were drawn, how they fell into folds and which candidate each fold chose.

It does not refit the candidates: the variability of fitting on other rows enters through the
examples' values (each scored by a model fitted without it), and that of the fitting folds of a
cross-fit through ``ProbeConfig.repeats``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from predgen_common.errors import UserError


@dataclass(frozen=True)
class SelectionRecord:
    """What one select-and-score step saw.

    ``values`` ``(R, C, n)``: per repeat, per candidate (row 0 the label prior, all zeros), the value
    ``log q(y_i|z_i) - log p(y_i)`` of each scored example; ``folds`` ``(R, n)``: the scoring fold
    of each example; ``part_rows``: candidate rows that come from a part of a container;
    ``y`` ``(n,)`` class codes (stratified fold re-draws); ``redraw``: the folds only select
    (explicit held-out set) and are re-drawn in each bootstrap draw.
    """

    values: np.ndarray
    folds: np.ndarray
    part_rows: np.ndarray
    y: np.ndarray
    k: int
    redraw: bool

    @property
    def n(self) -> int:
        return int(self.values.shape[2])


def stratified_folds(y: np.ndarray, k: int, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """``(n,)`` fold ids in ``0..k-1`` (``(size, n)``: ``size`` independent deals): each class's examples
    shuffled and dealt round-robin, so each fold holds about ``1/k`` of every class (as ``StratifiedKFold``
    would). All deals come from one call per class (a row-wise permutation), not one call per deal."""
    folds = np.empty((size or 1, len(y)), dtype=int)
    offset = 0
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        order = rng.permuted(np.tile(rows, (len(folds), 1)), axis=1)   # each deal's own shuffle of the class
        folds[np.arange(len(folds))[:, None], order] = (offset + np.arange(len(rows))) % k
        offset += len(rows)
    return folds if size is not None else folds[0]


def resample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``(size, n)`` bootstrap weights: how many times each of ``n`` examples was drawn, ``n`` draws with
    replacement per row."""
    idx = rng.integers(0, n, (size, n)) + n * np.arange(size)[:, None]
    return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(float)


def choose(mean: np.ndarray, part_rows: np.ndarray, paired: Callable[[int, int], np.ndarray]) -> int:
    """The candidate with the highest mean value ``(n_cands,)`` (row 0 the prior); a container's own candidate
    only when it beats its parts' best by more than one standard error of the paired difference
    ``paired(own, part)`` ``(m,)`` over the choosing rows (the one-standard-error rule), so that selection noise
    alone cannot carry a container below its part. The engine's choice and every bootstrap draw's."""
    pick = int(np.argmax(mean))
    if len(part_rows) == 0 or pick == 0 or pick in part_rows:
        return pick
    best_part = int(part_rows[np.argmax(mean[part_rows])])
    d = paired(pick, best_part)
    if len(d) < 2:   # no spread to weigh the difference by
        return pick
    return best_part if d.mean() <= d.std(ddof=1) / np.sqrt(len(d)) else pick


CHUNK = 256   # bootstrap draws computed at once: (CHUNK, n, K) weights stay a few tens of MB at n = 10,000


def _draws(rec: SelectionRecord, weights: np.ndarray, new_folds: np.ndarray | None) -> np.ndarray:
    """The re-selected estimates ``(B,)`` of ``rec`` on resampled rows given as ``weights (B, n)`` (how many
    times each scored example was drawn) and, where the folds only select, ``new_folds (B, n)``; averaged
    over the record's repeats. Each fold's candidate is chosen on the other folds' drawn rows (:func:`choose`)."""
    out = np.zeros(len(weights))
    for r in range(rec.values.shape[0]):
        v = rec.values[r]                                              # (C, n)
        folds = new_folds if rec.redraw else np.broadcast_to(rec.folds[r], weights.shape)
        drawn = [weights * (folds == k) for k in range(rec.k)]          # K x (B, n): each fold's drawn rows
        sums = np.stack([d @ v.T for d in drawn], axis=2)              # (B, C, K): one GEMM per fold
        counts = np.stack([d.sum(1) for d in drawn], axis=1)           # (B, K)
        other = (sums.sum(2, keepdims=True) - sums) / np.maximum(counts.sum(1)[:, None] - counts, 1)[:, None, :]
        picks = np.argmax(other, axis=1)                               # (B, K): the highest mean on the other folds
        picks = _one_standard_error(rec, v, weights, folds, other, picks)
        out += np.take_along_axis(sums, picks[:, None, :], 1)[:, 0, :].sum(1) / weights.sum(1)
    return out / rec.values.shape[0]


def _one_standard_error(rec: SelectionRecord, v: np.ndarray, weights: np.ndarray, folds: np.ndarray,
                        other: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """:func:`choose`'s rule over every draw and fold at once: where a container's own candidate is picked,
    its best part instead unless the own candidate beats it by more than one standard error of the paired
    difference over the other folds' drawn rows (each copy of a row counted)."""
    parts = rec.part_rows
    if len(parts) == 0:
        return picks
    best_part = parts[np.argmax(other[:, parts, :], axis=1)]          # (B, K)
    draws, fold_ids = np.nonzero((picks != 0) & ~np.isin(picks, parts))
    for lo in range(0, len(draws), CHUNK):   # (P, n) blocks: the memory of one chunk of draws
        b, f = draws[lo:lo + CHUNK], fold_ids[lo:lo + CHUNK]
        w = weights[b] * (folds[b] != f[:, None])                      # (P, n) drawn rows of the other folds
        m = w.sum(1)
        d = v[picks[b, f]] - v[best_part[b, f]]
        mean = (w * d).sum(1) / np.maximum(m, 1)
        se = np.sqrt(np.maximum((w * d * d).sum(1) - m * mean * mean, 0.0) / np.maximum(m - 1, 1) / np.maximum(m, 1))
        swap = (m >= 2) & (mean <= se)   # fewer than 2 rows: no spread to weigh the difference by
        picks[b[swap], f[swap]] = best_part[b[swap], f[swap]]
    return picks


def check_joint(records: Sequence[SelectionRecord]) -> None:
    """Records drawn jointly must score the same examples with the same labels and fold rule."""
    first = records[0]
    for rec in records[1:]:
        if rec.n != first.n or rec.k != first.k or rec.redraw != first.redraw or not np.array_equal(rec.y, first.y):
            raise UserError("a joint selection bootstrap needs results scored on the same examples with the same "
                            "folds; estimate both with the same seed, pools and ProbeConfig.folds")


def reselect_draws(records: Sequence[SelectionRecord], n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, len(records))`` re-selected estimates, every record drawn on the same examples and folds."""
    check_joint(records)
    first = records[0]
    rng = np.random.default_rng(seed + 15485863)
    out = np.empty((n_boot, len(records)))
    for start in range(0, n_boot, CHUNK):
        size = min(CHUNK, n_boot - start)
        weights = resample(first.n, size, rng)
        # folds are dealt over the original examples, so the copies of one example share a fold and
        # selection never sees a copy of the example it scores
        folds = stratified_folds(first.y, first.k, rng, size) if first.redraw else None
        for j, rec in enumerate(records):
            out[start:start + size, j] = _draws(rec, weights, folds)
    return out


def compatible(records: Sequence[SelectionRecord | None]) -> bool:
    """Whether every result carries a record and they can be drawn jointly."""
    if any(r is None for r in records):
        return False
    try:
        check_joint(records)   # type: ignore[arg-type]
    except UserError:
        return False
    return True
