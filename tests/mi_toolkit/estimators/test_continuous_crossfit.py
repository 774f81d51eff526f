"""The cross-fit's bootstrap: drawn in blocks, it is the resampled mean plus each fold's re-estimated
Miller-Madow entropy, written out here once for all resamples at a time."""
from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from mi_toolkit.estimators.continuous_crossfit import BOOT_CHUNK, FoldScore, bootstrap


def _folds(n_folds: int, per_fold: int, n_cells: int, seed: int):
    rng = np.random.default_rng(seed)
    scores, rows = [], []
    for f in range(n_folds):
        cells = rng.integers(0, n_cells, per_fold)
        log_q = rng.normal(-2.0, 0.5, per_fold)
        scores.append(FoldScore(log_q + 2.0, None, log_q=log_q, cells=cells))
        rows.append(np.arange(f * per_fold, (f + 1) * per_fold))
    return scores, rows


def _reference(scores, rows, n_boot: int, rng) -> np.ndarray:
    """Every resample at once, from the same draws as the blocks: ``(n_boot,)``."""
    log_q = np.concatenate([s.log_q for s in scores])
    cells = np.concatenate([s.cells for s in scores])
    fold = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    n = len(log_q)
    idx = np.concatenate([rng.integers(0, n, (min(BOOT_CHUNK, n_boot - s), n), dtype=np.int32)
                          for s in range(0, n_boot, BOOT_CHUNK)])
    out = np.empty(n_boot)
    for b in range(n_boot):
        total = 0.0
        for f in range(len(rows)):
            counts = np.bincount(cells[idx[b]][fold[idx[b]] == f]).astype(float)
            n_f = counts.sum()
            total += xlogy(n_f, n_f) - xlogy(counts, counts).sum() + max((counts > 0).sum() - 1, 0) / 2
        out[b] = log_q[idx[b]].mean() + total / n
    return out


def test_the_blocks_are_the_resampled_bound_of_every_draw():
    scores, rows = _folds(5, 60, 7, 0)
    pointwise = np.concatenate([s.pointwise for s in scores])
    fold_ids = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    n_boot = 2 * BOOT_CHUNK + 17   # a short last block
    got = bootstrap(scores, rows, 0, fold_ids, pointwise, n_boot, np.random.default_rng(3))
    ref = _reference(scores, rows, n_boot, np.random.default_rng(3))
    assert got.shape == (n_boot,)
    # centred on the estimate, the spread kept
    np.testing.assert_allclose(got, ref - ref.mean() + pointwise.mean(), atol=1e-12)


def test_without_cells_the_blocks_resample_the_mean():
    pointwise = np.random.default_rng(1).normal(0.3, 1.0, 400)
    scores = [FoldScore(pointwise[:200], None), FoldScore(pointwise[200:], None)]
    rows = [np.arange(200), np.arange(200, 400)]
    got = bootstrap(scores, rows, 0, np.repeat([0, 1], 200), pointwise, 300, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    ref = np.concatenate([pointwise[rng.integers(0, 400, (b, 400), dtype=np.int32)].mean(1)
                          for b in (BOOT_CHUNK, BOOT_CHUNK, 300 - 2 * BOOT_CHUNK)])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert abs(got.std() - pointwise.std() / np.sqrt(400)) < 0.01
