"""Continuous targets: ``binned`` (a lower bound, the default) and ``gaussian`` (an estimate).

``binned`` reads ``I(bin(Y); Z)``, which is at most ``I(Y; Z)`` by the data-processing
inequality because the bins are a function of ``Y``. It is a *discretised-regression*
probe: a cross-fitted regressor ``mu(z)``, a kernel-smoothed residual distribution from an
inner split, ``q(bin | z) = P(mu(z) + r in bin)`` mixed with the fit set's bin frequencies
(near-uniform for quantile bins; not when targets tie), scored against the Miller-Madow
entropy of the held-out bin labels. Regressor, number of
bins, kernel width and mixing weight are chosen on an inner split of each fit set.

``gaussian`` is the difference of two Gaussian entropies (a residual density
``N(mu(z), Sigma_r)`` with a full residual covariance minus the marginal ``N(m, Sigma_y)``):
exact for linear-Gaussian relations, *an estimate, not a bound* otherwise (it reads far
above the truth on heavy-tailed targets).

Both cross-fit: every example is scored once by a model fitted without it (K folds over
all ``N``), or an explicit held-out set is scored by one model fitted on the fit rows.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
from scipy.special import xlogy
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from predgen_core.errors import UserError

from mi_toolkit.estimators.continuous_models import (Bins, ResidualCDF, TargetMap, cell_log_probs, cell_prior,
                                                     check_bins, make_regressor, miller_madow, predict)
from mi_toolkit.estimators.result import MIResult

BOUND_NOTE = ("reads I(bin(Y); Z) <= I(Y; Z) (a lower bound by the data-processing inequality, up to "
              "held-out noise). Interval: 95% percentile bootstrap (B={b}) over the {n} per-example values, "
              "each example scored once by a model fitted without it ({how}), the held-out bin entropy "
              "re-estimated on each resample and the spread centred on the estimate; covers held-out "
              "sampling of both terms, not refitting variability. p: permutation null of the bin labels "
              "within each held-out fold under the fixed models ({p} permutations)")
GAUSS_NOTE = ("ESTIMATE, NOT A BOUND: Gaussian difference of entropies; can read far above I(Y; Z) on "
              "heavy-tailed targets. Interval: 95% percentile bootstrap (B={b}) over the {n} per-example "
              "values, each scored by a model fitted without it ({how}); covers held-out sampling only. "
              "p: permutation null of the targets within each held-out fold ({p} permutations)")


@dataclass
class BinnedConfig:
    """Settings of the ``binned`` estimator (docs/estimators.md, "Continuous Y")."""

    folds: int = 5                       # cross-fitting folds over all N
    bins: tuple[int, ...] | None = None  # bins per target coordinate to choose from; None: bin_grid
    bin_grid: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    min_per_cell: int = 12               # held-out examples per (joint) bin at least; caps the bins
    regressors: tuple[str, ...] = ("ridge", "mlp")
    inner_fraction: float = 0.25         # of each fit set: honest residuals and the selection
    bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0)               # x Silverman's rule
    marginal_weights: tuple[float, ...] = (1e-3, 1e-2, 0.05, 0.2)  # of the bin frequencies; 1.0 is the null
    n_bootstrap: int = 1000
    n_permutations: int = 200


@dataclass
class GaussianConfig:
    """Settings of the ``gaussian`` estimator."""

    folds: int = 5
    regressor: str = "ridge"
    inner_fraction: float = 0.25  # of each fit set: the held-out residuals for the covariance
    n_bootstrap: int = 1000
    n_permutations: int = 200


@dataclass
class FoldScore:
    """One scoring model's read-out on the examples it never saw."""

    pointwise: np.ndarray                    # (n_eval,) nats
    null: Callable[[np.ndarray], np.ndarray]  # permutation (n_eval,) -> pointwise under it
    choice: str = ""
    table: dict[str, tuple[float, float]] = field(default_factory=dict)  # candidate -> (cv_logloss, cv_mi)
    ceiling: float | None = None
    log_q: np.ndarray | None = None   # (n_eval,) log q(cell_i | z_i): binned, whose entropy term ...
    cells: np.ndarray | None = None   # (n_eval,) ... is re-estimated from these labels on each resample


def _split_inner(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.permutation(n)
    n_in = min(max(int(round(n * fraction)), 4), n - 4)
    return idx[n_in:], idx[:n_in]


def _rotation(resid: np.ndarray) -> np.ndarray:
    """``(k, k)`` principal axes of the residuals (identity for one coordinate)."""
    if resid.shape[1] == 1:
        return np.eye(1)
    return np.linalg.eigh(np.cov(resid, rowvar=False))[1][:, ::-1]


def _inner_values(t_fit, train, inner, mu_in, resid, counts, cfg, rng) -> dict[tuple, tuple[float, np.ndarray]]:
    """``(K, bandwidth, weight) -> (cross-entropy, per-example H_MM - CE terms (n_inner,))`` on the
    inner split, two-fold: residual model from one half, scored on the other, both ways (the
    halves in one fixed order, so candidates pair example by example). Bin edges come from
    the ``train`` rows only: edges fitted on the scored rows make their bins look more
    uniform than they are and favour many bins. ``K`` with weight 1.0 is the no-information model."""
    halves = np.array_split(rng.permutation(len(inner)), 2)
    cdfs = {(a, m, c): ResidualCDF(resid[halves[a], c], m, rng)
            for a in (0, 1) for m in cfg.bandwidths for c in range(resid.shape[1])}
    out: dict[tuple, list] = {}
    for k in counts:
        bins = Bins.quantile(t_fit[train], k)
        codes = bins.codes(t_fit[inner])
        prior = cell_prior(bins, bins.codes(t_fit[train]))
        for a in (0, 1):
            b = halves[1 - a]
            h_mm, neg_log = miller_madow(bins.cells(codes[b]))
            base = neg_log + h_mm - neg_log.mean()
            out.setdefault((k, 0.0, 1.0), []).append((np.log(prior[bins.cells(codes[b])]), base))
            for m in cfg.bandwidths:
                probs = [cdfs[(a, m, c)].bin_probs(mu_in[b, c], e) for c, e in enumerate(bins.edges)]
                for w in cfg.marginal_weights:
                    out.setdefault((k, m, w), []).append((cell_log_probs(probs, codes[b], w, bins, prior), base))
    return {key: (-np.concatenate([lq for lq, _ in v]).mean(), np.concatenate([lq + base for lq, base in v]))
            for key, v in out.items()}


def _select(cands: dict[tuple, tuple[float, np.ndarray]]) -> tuple:
    """The candidate with the best mean inner value, unless it beats the no-information model
    (fewest bins, weight 1.0) by less than one standard error of the paired difference: then
    the no-information model (lesson 4 of the probing notes: flexible models read below zero
    on nothing; a choice made on noise costs held-out nats)."""
    best = max(cands, key=lambda key: cands[key][1].mean())
    null = min((key for key in cands if key[3] == 1.0), key=lambda key: key[1])
    diff = cands[best][1] - cands[null][1]
    return best if diff.mean() > diff.std(ddof=1) / np.sqrt(len(diff)) else null


def binned_fold(z_fit, y_fit, z_eval, y_eval, cfg: BinnedConfig, counts: list[int], seed: int) -> FoldScore:
    """Fit on ``(z_fit (n, d), y_fit (n, k))``, select on an inner split, score ``z_eval, y_eval``.

    Every scored set (a cross-fit fold, or an explicit held-out set) is scored against the Miller-Madow
    entropy of its own bin labels: the marginal term is estimated on evaluation rows, never on the fit
    pool, so a shift between the pools is not read as information. (Scored against the fit pool's bin
    frequencies, a Gaussian channel with I = 0.30 read 0.53 and 0.79 nats when the evaluation inputs
    were shifted by 1 and 1.5 SD; now 0.305, 0.295 and 0.286 at shifts 0, 1, 1.5.) The no-information
    model then reads minus the shift's KL, below 0: not information, and reported as not detected."""
    rng = np.random.default_rng(seed)
    tmap = TargetMap(y_fit, seed)
    g_fit = tmap.gauss(y_fit)
    train, inner = _split_inner(len(z_fit), cfg.inner_fraction, rng)
    cands, keep = {}, {}
    for name in cfg.regressors:
        model = make_regressor(name, seed, z_fit.shape[1], len(train)).fit(z_fit[train], _fit_y(g_fit[train]))
        resid_g = g_fit[inner] - predict(model, z_fit[inner])
        rot = _rotation(resid_g)
        mu_in = predict(model, z_fit[inner]) @ rot
        keep[name] = (rot, resid_g @ rot)
        for key, v in _inner_values(g_fit @ rot, train, inner, mu_in, resid_g @ rot, counts, cfg, rng).items():
            cands[(name, *key)] = v
    table = {}  # each (regressor, bins) at its best kernel and weight
    for (name, k, m, w), (ce, vals) in cands.items():
        label = "no information" if w == 1.0 else name
        if w == 1.0 and name != cfg.regressors[0]:
            continue
        if f"{label}/{k} bins" not in table or vals.mean() > table[f"{label}/{k} bins"][1]:
            table[f"{label}/{k} bins"] = (ce, float(vals.mean()))
    name, k, mult, w = _select(cands)
    rot, resid = keep[name]
    bins = Bins.quantile(g_fit @ rot, k)
    codes = bins.codes(tmap.gauss(y_eval) @ rot)
    prior = cell_prior(bins, bins.codes(g_fit @ rot))
    if w == 1.0:
        probs = [np.full((len(codes), s), 1.0 / s) for s in bins.sizes]
        choice = f"no information (fit-set frequencies of {bins.n_cells} bins)"
    else:
        model = make_regressor(name, seed, z_fit.shape[1], len(z_fit)).fit(z_fit, _fit_y(g_fit))
        mu = predict(model, z_eval) @ rot
        probs = [ResidualCDF(resid[:, c], mult, rng).bin_probs(mu[:, c], e) for c, e in enumerate(bins.edges)]
        choice = f"{name}, {bins.n_cells} bins, kernel x{mult:g}, marginal weight {w:g}"
    h_mm, neg_log = miller_madow(bins.cells(codes))
    offset = h_mm - neg_log.mean()  # the Miller-Madow correction, spread evenly

    def scored(perm: np.ndarray) -> np.ndarray:
        return cell_log_probs(probs, codes[perm], w, bins, prior) + neg_log[perm] + offset

    return FoldScore(scored(np.arange(len(codes))), scored, choice, table, h_mm,
                     cell_log_probs(probs, codes, w, bins, prior), bins.cells(codes))


def _fit_y(y: np.ndarray) -> np.ndarray:
    """scikit-learn wants ``(n,)`` for one target (MLPRegressor warns otherwise)."""
    return y[:, 0] if y.shape[1] == 1 else y


def _gauss_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``log N(x_i; mean_i, cov)`` ``(n,)`` for ``x, mean (n, k)``, full covariance ``cov (k, k)``."""
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (x - mean).T)
    k = x.shape[1]
    return -0.5 * (sol ** 2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * k * np.log(2 * np.pi)


def gaussian_fold(z_fit, y_fit, z_eval, y_eval, cfg: GaussianConfig, seed: int) -> FoldScore:
    """Residual density ``N(mu(z), Sigma_r)`` (full ``Sigma_r`` from an inner split) minus the
    marginal ``N(m, Sigma_y)`` of the fit set, on the evaluation rows."""
    rng = np.random.default_rng(seed)
    scaler = StandardScaler().fit(y_fit)
    ys, ye = scaler.transform(y_fit), scaler.transform(y_eval)
    train, inner = _split_inner(len(z_fit), cfg.inner_fraction, rng)
    model = make_regressor(cfg.regressor, seed, z_fit.shape[1], len(train)).fit(z_fit[train], _fit_y(ys[train]))
    ridge = 1e-9 * np.eye(ys.shape[1])
    cov_r = np.atleast_2d(np.cov(ys[inner] - predict(model, z_fit[inner]), rowvar=False)) + ridge
    cov_y = np.atleast_2d(np.cov(ys, rowvar=False)) + ridge
    model = make_regressor(cfg.regressor, seed, z_fit.shape[1], len(z_fit)).fit(z_fit, _fit_y(ys))
    mu = predict(model, z_eval)

    def scored(perm: np.ndarray) -> np.ndarray:
        return _gauss_logpdf(ye[perm], mu, cov_r) - _gauss_logpdf(ye[perm], ys.mean(0), cov_y)

    choice = f"estimate, not a bound: {cfg.regressor}, full residual covariance"
    return FoldScore(scored(np.arange(len(ye))), scored, choice)


def crossfit(fold_fn: Callable, z: np.ndarray, y: np.ndarray, n_folds: int, seed: int,
             n_fit: int | None = None) -> tuple[list[FoldScore], list[np.ndarray], int]:
    """Run ``fold_fn(z_fit, y_fit, z_eval, y_eval, seed)`` over K folds (or the explicit split
    ``rows :n_fit`` / ``n_fit:``). Returns the fold scores, each fold's evaluation rows, and the
    size of the smallest fit set."""
    if n_fit is not None:
        fit, ev = np.arange(n_fit), np.arange(n_fit, len(z))
        return [fold_fn(z[fit], y[fit], z[ev], y[ev], seed)], [ev], n_fit
    if n_folds < 2:
        raise UserError(f"folds={n_folds}; cross-fitting needs at least 2 folds")
    splits = list(KFold(n_folds, shuffle=True, random_state=seed).split(z))
    scores = [fold_fn(z[f], y[f], z[e], y[e], seed + 101 * i) for i, (f, e) in enumerate(splits)]
    return scores, [e for _, e in splits], min(len(f) for f, _ in splits)


def _bootstrap(scores, rows, offset, fold_ids, pointwise, n_boot: int, rng) -> np.ndarray:
    """``(n_boot,)`` resampled means. With bin labels (``binned``) the Miller-Madow entropy of each
    fold is re-estimated on every resample, so its sampling noise is in the interval too (held
    fixed, the no-information model's near-constant values gave intervals that excluded 0 by the
    Miller-Madow correction alone)."""
    n = len(pointwise)
    idx = rng.integers(0, n, (n_boot, n))
    if any(s.cells is None for s in scores):
        return pointwise[idx].mean(1)
    log_q, cells = np.empty(n), np.empty(n, dtype=np.int64)
    for s, r in zip(scores, rows):
        log_q[r - offset], cells[r - offset] = s.log_q, s.cells
    width = int(cells.max()) + 1
    fold_index = np.unique(fold_ids, return_inverse=True)[1].ravel()
    key = (fold_index * width + cells)[idx]  # (n_boot, n)
    n_keys = (int(fold_index.max()) + 1) * width
    counts = np.bincount((np.arange(n_boot)[:, None] * n_keys + key).ravel(), minlength=n_boot * n_keys)
    counts = counts.reshape(n_boot, -1, width).astype(np.float64)  # (n_boot, folds, cells)
    n_f = counts.sum(-1)
    # sum over folds of n_f * H_MM,f = n_f log n_f - sum_c c log c + (occupied - 1) / 2
    total = xlogy(n_f, n_f) - xlogy(counts, counts).sum(-1) + np.maximum((counts > 0).sum(-1) - 1, 0) / 2
    boot = log_q[idx].mean(1) + total.sum(1) / n
    # a resample repeats examples, so its plug-in entropy sits below the sample's: keep the spread,
    # centre it on the estimate
    return boot - boot.mean() + pointwise.mean()


def _assemble(name: str, scores: list[FoldScore], rows: list[np.ndarray], n: int, n_fit: int,
              explicit: bool, cfg, note: str, seed: int, start: float) -> MIResult:
    """Per-example values back in input order, bootstrap interval, permutation p-value."""
    rng = np.random.default_rng(seed + 7919)
    offset = rows[0][0] if explicit else 0
    n_eval = sum(len(r) for r in rows)
    pointwise, fold_ids = np.empty(n_eval), np.empty(n_eval, dtype=np.int64)
    for i, (s, r) in enumerate(zip(scores, rows)):
        pointwise[r - offset], fold_ids[r - offset] = s.pointwise, -1 if explicit else i
    mi = float(pointwise.mean())
    lo, hi = np.quantile(_bootstrap(scores, rows, offset, fold_ids, pointwise, cfg.n_bootstrap, rng), [0.025, 0.975])
    null = [sum(s.null(rng.permutation(len(r))).sum() for s, r in zip(scores, rows)) / n_eval
            for _ in range(cfg.n_permutations)]
    p = (1 + sum(v >= mi for v in null)) / (1 + cfg.n_permutations)
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
        config={**asdict(cfg), "fold_choices": [s.choice for s in scores], "samples": n},
        interval_method=note.format(b=cfg.n_bootstrap, n=n_eval, how=how, p=cfg.n_permutations),
        discrete=False, pointwise=pointwise, fold_ids=fold_ids, chosen=choices.most_common(1)[0][0],
        candidates=[{"name": c, "cv_logloss": float(np.mean([v[0] for v in vals])),
                     "cv_mi": float(np.mean([v[1] for v in vals]))} for c, vals in table.items()],
        n_fit=n_fit, n_eval=n_eval, n_folds=0 if explicit else len(rows),
    )


def estimate_binned(z: np.ndarray, y: np.ndarray, cfg: BinnedConfig | None = None, seed: int = 0,
                    n_fit: int | None = None) -> MIResult:
    """``binned`` on validated ``z (N, d)`` and continuous ``y (N, k)``; ``n_fit``: rows ``:n_fit``
    are the fit set and the rest an explicit held-out set (no cross-fitting)."""
    start = time.perf_counter()
    cfg = cfg or BinnedConfig()
    y = y.reshape(len(y), -1)
    n_eval = len(z) - n_fit if n_fit is not None else len(z) // max(cfg.folds, 1)
    counts = check_bins(y if n_fit is None else y[:n_fit], cfg.bins, n_eval, cfg.min_per_cell, cfg.bin_grid)
    fold = lambda zf, yf, ze, ye, s: binned_fold(zf, yf, ze, ye, cfg, counts, s)  # noqa: E731
    scores, rows, n_min = crossfit(fold, z, y, cfg.folds, seed, n_fit)
    return _assemble("binned", scores, rows, len(z), n_min, n_fit is not None, cfg, BOUND_NOTE, seed, start)


def estimate_gaussian(z: np.ndarray, y: np.ndarray, cfg: GaussianConfig | None = None, seed: int = 0,
                      n_fit: int | None = None) -> MIResult:
    """``gaussian`` (an estimate, not a bound) on validated ``z (N, d)``, continuous ``y (N, k)``."""
    start = time.perf_counter()
    cfg = cfg or GaussianConfig()
    y = y.reshape(len(y), -1)
    fold = lambda zf, yf, ze, ye, s: gaussian_fold(zf, yf, ze, ye, cfg, s)  # noqa: E731
    scores, rows, n_min = crossfit(fold, z, y, cfg.folds, seed, n_fit)
    return _assemble("gaussian", scores, rows, len(z), n_min, n_fit is not None, cfg, GAUSS_NOTE, seed, start)


def _checked_input(c, cfg, cls: type, name: str):
    """The boundary checks shared by both estimators; returns the config to use."""
    if c.discrete:
        raise UserError(f"estimator {name!r} is for continuous targets but the labels are integers; "
                        "use a discrete estimator (probe, classifier) or pass float targets")
    if cfg is None:
        return cls()
    if not isinstance(cfg, cls):
        raise UserError(f"config {type(cfg).__name__} does not belong to estimator {name!r}; pass {cls.__name__}")
    return cfg


def run_binned(c, cfg, seed: int, n_fit: int | None = None) -> MIResult:
    """The registry entry point: a validated task (``mi_toolkit.validate.Checked``) -> ``binned``."""
    return estimate_binned(c.z, c.y, _checked_input(c, cfg, BinnedConfig, "binned"), seed, n_fit)


def run_gaussian(c, cfg, seed: int, n_fit: int | None = None) -> MIResult:
    """The registry entry point: a validated task -> ``gaussian`` (an estimate, not a bound)."""
    return estimate_gaussian(c.z, c.y, _checked_input(c, cfg, GaussianConfig, "gaussian"), seed, n_fit)
