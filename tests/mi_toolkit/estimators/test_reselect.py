"""The select-and-score bootstrap: a container holding its part's candidate cannot read lower from selection noise."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators.paired import paired_difference
from mi_toolkit.estimators.probe import pick_candidate
from mi_toolkit.estimators.reselect import SelectionRecord, reselect_draws, stratified_folds

K, N = 5, 300


def _observed(vals: np.ndarray, folds: np.ndarray, part_rows: np.ndarray) -> np.ndarray:
    """The engine's reading for one deal of the folds: each fold scored by the candidate chosen on the others."""
    point = np.empty(vals.shape[1])
    for f in range(K):
        pick = pick_candidate(-vals[:, folds != f], part_rows)
        point[folds == f] = vals[pick, folds == f]
    return point


def _case(seed: int, own_shift: float, n_own: int = 30):
    """A part with one candidate, and a container with it plus ``n_own`` own candidates whose values are the
    part's plus noise of mean ``own_shift`` (negative: each own candidate is truly a little worse)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N)
    base = rng.normal(0.1, 0.5, N)
    cont = np.vstack([np.zeros(N), base, base[None] + rng.normal(own_shift, 0.3, (n_own, N))])
    part = np.vstack([np.zeros(N), base])
    rec_c = SelectionRecord(cont[None], np.zeros((1, N), int), np.array([1]), y, K, True)
    rec_p = SelectionRecord(part[None], np.zeros((1, N), int), np.array([], int), y, K, True)
    return y, cont, base, rec_c, rec_p


def _one(seed: int, own_shift: float) -> tuple[float, float, float]:
    """``(new ci_low, new ci_high, old ci_high)`` of container - part."""
    y, cont, base, rec_c, rec_p = _case(seed, own_shift)
    draws = reselect_draws([rec_c, rec_p], 200, seed)
    lo, hi = np.quantile(draws[:, 0] - draws[:, 1], [0.025, 0.975])
    one_deal = _observed(cont, stratified_folds(y, K, np.random.default_rng(seed)), np.array([1]))
    old = paired_difference(one_deal, base, seed=seed)   # examples only: the deal and the choices held fixed
    return lo, hi, old.ci_high


def test_selection_noise_does_not_read_lower_beyond_the_interval() -> None:
    runs = np.array([_one(s, own_shift=-0.01) for s in range(60)])
    # conditional on one deal's choices, the container "reads lower" far beyond the nominal 2.5%
    assert np.mean(runs[:, 2] < 0) >= 0.08
    # with the selection resampled it does not
    assert np.mean(runs[:, 1] < 0) <= 0.05


def test_a_truly_better_container_still_reads_higher() -> None:
    runs = np.array([_one(s, own_shift=+0.08) for s in range(20)])
    assert np.mean(runs[:, 0] > 0) >= 0.9


def test_stratified_folds_deal_each_class_evenly() -> None:
    y = np.repeat([0, 1, 2], [50, 31, 9])
    folds = stratified_folds(y, K, np.random.default_rng(0))
    for c in range(3):
        counts = np.bincount(folds[y == c], minlength=K)
        assert counts.max() - counts.min() <= 1
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    deals = stratified_folds(y, K, np.random.default_rng(0), size=400)
    assert deals.shape == (400, len(y)) and len({d.tobytes() for d in deals}) == 400   # each deal its own
    for d in deals[:20]:
        assert all(np.ptp(np.bincount(d[y == c], minlength=K)) <= 1 for c in range(3))
    # every example of a class lands in each fold as often as its class's deal puts there (a uniform shuffle
    # per deal): 4,000 dealings per fold of 20,000 for class 0 (50 rows), 2 of 9 for folds 1-4 of class 2
    share = np.stack([np.bincount(deals[:, i], minlength=K) for i in range(len(y))]) / 400
    offsets = np.cumsum([0, 50, 31])
    expected = np.stack([np.bincount((offsets[c] + np.arange((y == c).sum())) % K, minlength=K) / (y == c).sum()
                         for c in y])
    assert np.abs(share - expected).max() < 0.08   # 400 deals: a share's standard error is about 0.02


def test_resampled_weights_are_n_draws_with_replacement() -> None:
    from mi_toolkit.estimators.reselect import resample

    w = resample(50, 2000, np.random.default_rng(3))
    assert w.shape == (2000, 50) and (w.sum(1) == 50).all()
    assert abs(w.mean() - 1) < 0.01 and abs(w.var() - 0.98) < 0.05   # Binomial(50, 1/50): variance 0.98


def test_records_of_other_examples_cannot_be_drawn_jointly() -> None:
    from predgen_common.errors import UserError

    _, _, _, rec_c, _ = _case(0, 0.0)
    other = SelectionRecord(rec_c.values[:, :, :-1], rec_c.folds[:, :-1], rec_c.part_rows, rec_c.y[:-1], K, True)
    with pytest.raises(UserError, match="same examples"):
        reselect_draws([rec_c, other], 10, 0)


def test_probe_results_carry_the_record_and_compare_through_it() -> None:
    from mi_toolkit.api import estimate_many
    from mi_toolkit.estimators.specs import ProbeConfig

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    z = rng.normal(size=(400, 6)) + 0.8 * y[:, None] * np.array([1, 0, 0, 0, 0, 0])
    cfg = ProbeConfig(n_bootstrap=100)
    a, b = estimate_many([(z[:200], y[:200]), (z[:200, :1], y[:200])], "probe", config=cfg, device="cpu",
                         test=[(z[200:], y[200:]), (z[200:, :1], y[200:])])
    assert a.selection is not None and a.selection.redraw and a.selection.n == 200
    assert "selection" not in a.to_dict() and "select-and-score" in a.interval_method
    p = paired_difference(a, b, n_boot=200)
    assert p.ci_low <= p.diff <= p.ci_high


def _reference_draws(rec: SelectionRecord, n_boot: int, seed: int) -> np.ndarray:
    """One draw at a time with the engine's rule (:func:`choose` on the drawn rows of the other folds): what
    the vectorised draws must reproduce, draw for draw (same random numbers)."""
    from mi_toolkit.estimators.reselect import choose

    from mi_toolkit.estimators.reselect import CHUNK, resample

    rng, out = np.random.default_rng(seed + 15485863), []
    for start in range(0, n_boot, CHUNK):   # the same random numbers: weights, then deals, a chunk at a time
        size = min(CHUNK, n_boot - start)
        weights = resample(rec.n, size, rng)
        deals = stratified_folds(rec.y, rec.k, rng, size) if rec.redraw else np.tile(rec.folds[0], (size, 1))
        for w, deal in zip(weights, deals):
            idx = np.repeat(np.arange(rec.n), w.astype(int))   # each drawn copy written out
            folds, v, total = deal[idx], rec.values[0][:, idx], 0.0
            for f in range(rec.k):
                rest = folds != f
                pick = choose(v[:, rest].mean(1), rec.part_rows, lambda a, b: v[a, rest] - v[b, rest])
                total += v[pick, folds == f].sum()
            out.append(total / rec.n)
    return np.array(out)


@pytest.mark.parametrize("redraw", [True, False])
def test_the_vectorised_draws_match_one_draw_at_a_time(redraw: bool) -> None:
    y, cont, base, rec_c, _ = _case(4, own_shift=0.0, n_own=6)
    folds = stratified_folds(y, K, np.random.default_rng(9))[None]
    rec = SelectionRecord(cont[None], folds, np.array([1]), y, K, redraw)
    np.testing.assert_allclose(reselect_draws([rec], 300, 2)[:, 0], _reference_draws(rec, 300, 2), atol=1e-12)
