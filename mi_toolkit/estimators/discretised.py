"""The discretised-regression reader of a continuous target (``binned``'s regression reader).

``q(bin | z) = P(mu(z) + r in bin)``: a regressor ``mu(z)`` fitted on the fit rows, a kernel-smoothed
residual distribution from an inner split, mixed with the fit set's bin frequencies (near-uniform for
quantile bins; not when targets tie), scored against the Miller-Madow entropy of the held-out bin
labels. Regressor, number of bins, kernel width and mixing weight are chosen on an inner split of each
fit set. For ``k > 1`` target coordinates the residuals are rotated onto their principal axes and the
bins are joint (a product of per-coordinate probabilities).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mi_toolkit.estimators.continuous_crossfit import FoldScore
from mi_toolkit.estimators.continuous_models import (Bins, ResidualCDF, TargetMap, cell_log_probs, cell_prior,
                                                     fit_regressor, joint_probs, miller_madow, mixed_log_probs,
                                                     predict)


def split_inner(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.permutation(n)
    n_in = min(max(int(round(n * fraction)), 4), n - 4)
    return idx[n_in:], idx[:n_in]


def _rotation(resid: np.ndarray) -> np.ndarray:
    """``(k, k)`` principal axes of the residuals (identity for one coordinate)."""
    if resid.shape[1] == 1:
        return np.eye(1)
    return np.linalg.eigh(np.cov(resid, rowvar=False))[1][:, ::-1]


def _inner_values(t_fit, train, inner, mu_in, resid, counts, cfg, halves) -> dict[tuple, tuple[float, np.ndarray]]:
    """``(K, bandwidth, weight) -> (cross-entropy, per-example H_MM - CE terms (n_inner,))`` on the
    inner split, two-fold: residual model from one half, scored on the other, both ways. ``halves``
    (positions in ``inner``) are the same for every candidate of the fit set, so candidates pair example
    by example (the paired difference in :func:`_select`). Bin edges come from the ``train`` rows only:
    edges fitted on the scored rows make their bins look more uniform than they are and favour many bins.
    ``K`` with weight 1.0 is the no-information model."""
    cdfs = {(a, m, c): ResidualCDF(resid[halves[a], c], m)
            for a in (0, 1) for m in cfg.bandwidths for c in range(resid.shape[1])}
    out: dict[tuple, list] = {}
    for k in counts:
        bins = Bins.quantile(t_fit[train], k)
        codes = bins.codes(t_fit[inner])
        prior = cell_prior(bins, bins.codes(t_fit[train]))
        for a in (0, 1):
            b = halves[1 - a]
            cells = bins.cells(codes[b])
            prior_rows = prior[cells]
            h_mm, neg_log = miller_madow(cells)
            base = neg_log + h_mm - neg_log.mean()
            out.setdefault((k, 0.0, 1.0), []).append((np.log(prior_rows), base))
            for m in cfg.bandwidths:
                # the product over coordinates once per kernel; the weights only mix it with the frequencies
                p = joint_probs([cdfs[(a, m, c)].code_probs(mu_in[b, c], e, codes[b, c])
                                 for c, e in enumerate(bins.edges)])
                for w in cfg.marginal_weights:
                    out.setdefault((k, m, w), []).append((mixed_log_probs(p, w, prior_rows), base))
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


@dataclass
class FoldChoice:
    """What one fit set's inner split chose (:func:`select_fold`), before the chosen model is refitted on the
    whole fit set and scored (:func:`score_fold`): the regressor ``name``, bins ``k``, kernel ``mult`` and
    marginal ``weight`` (1.0: the no-information model), the target map and its fit-set values ``g_fit``,
    the residual rotation, the inner residuals ``(n_inner, k_y)``, the candidate table, the mean inner value
    of the chosen candidate (``value``: pairs are compared by it) and the regressor and map of the best
    candidate other than the no-information one (``best``)."""

    name: str
    k: int
    mult: float
    weight: float
    tmap: TargetMap
    g_fit: np.ndarray
    rot: np.ndarray
    resid: np.ndarray
    table: dict[str, tuple[float, float]]
    value: float
    best: tuple[str, str]


def select_fold(z_fit: np.ndarray, y_fit: np.ndarray, cfg, counts: list[int], seed: int) -> FoldChoice:
    """Fit every regressor of ``cfg.regressors`` to every target map of ``cfg.target_maps`` on the inner
    training rows of ``(z_fit (n, d), y_fit (n, k))``; choose regressor, map, bins, kernel and weight on the
    inner rows (:func:`_select`). One fit per regressor reads every map: the maps' columns are stacked as
    targets (``RidgeCV`` penalises each target on its own; an MLP shares its hidden layer between them)."""
    rng = np.random.default_rng(seed)
    train, inner = split_inner(len(z_fit), cfg.inner_fraction, rng)
    halves = np.array_split(rng.permutation(len(inner)), 2)
    maps = {kind: TargetMap(y_fit, seed, kind) for kind in cfg.target_maps}
    mapped = {kind: m.gauss(y_fit) for kind, m in maps.items()}
    stacked, k_y = np.hstack(list(mapped.values())), y_fit.shape[1]
    cands, keep = {}, {}
    for i, name in enumerate(cfg.regressors):
        if name in cfg.gated and not _nonlinear_leads(cands, cfg.regressors[:i], cfg.gated):
            continue
        model = fit_regressor(name, seed, z_fit[train], fit_target(stacked[train]))
        if model is None:   # not a candidate for this width (e.g. a PCA no narrower than the features)
            continue
        mu_all = predict(model, z_fit[inner])
        for j, (kind, g_fit) in enumerate(mapped.items()):
            mu_in = mu_all[:, j * k_y:(j + 1) * k_y]
            rot = _rotation(g_fit[inner] - mu_in)
            resid = (g_fit[inner] - mu_in) @ rot
            keep[(name, kind)] = (maps[kind], g_fit, rot, resid)
            for key, v in _inner_values(g_fit @ rot, train, inner, mu_in @ rot, resid, counts, cfg, halves).items():
                cands[(name, *key, kind)] = v
    chosen, table = _select(cands), _table(cands, cfg)
    name, k, mult, w, kind = chosen
    top = max([key for key in cands if key[3] != 1.0] or cands, key=lambda key: cands[key][1].mean())
    # the chosen candidate's value, not the best one's: a pair whose best lost to its no-information model
    # (noise) must not win over the others with that best (independent data read -0.039 [-0.069, -0.018]
    # from a 3 x 3 no-information model chosen so, 600 rows and 8 target columns)
    return FoldChoice(name, k, mult, w, *keep[(name, kind)], table, float(cands[chosen][1].mean()),
                      (top[0], top[4]))


def _nonlinear_leads(cands: dict[tuple, tuple[float, np.ndarray]], before: tuple[str, ...],
                     gated: tuple[str, ...]) -> bool:
    """Whether a costly regressor (``BinnedConfig.gated``, an MLP) is fitted after the regressors ``before`` it:
    where some ungated regressor besides the first (linear) one came before it (a smooth nonlinear fit), only if
    a regressor other than the first has the best mean inner value so far, the no-information models left out;
    always where none did (a screened pair fitting the first regressor and its group's choice). The MLP was
    chosen by no fold of the bmi suite; gated, its 25- and 50-column tasks read the same at 0.1-1.6 s less (of
    3-5 s), a linear read-out of real LM states 1.1 s less (of 16.8 s), and `|PC2|` of them, which it reads best,
    still gets it."""
    if not any(name != before[0] and name not in gated for name in before[1:]):   # also: nothing before it
        return True
    scored = {key: v[1].mean() for key, v in cands.items() if key[3] != 1.0}
    return bool(scored) and max(scored, key=scored.get)[0] != before[0]


def _table(cands: dict[tuple, tuple[float, np.ndarray]], cfg) -> dict[str, tuple[float, float]]:
    """Each (regressor, map, bins) at its best kernel and weight, the no-information model once per bin count:
    ``{label: (inner cross-entropy, inner value)}``."""
    table = {}
    for (name, k, m, w, kind), (ce, vals) in cands.items():
        if w == 1.0 and (name, kind) != (cfg.regressors[0], cfg.target_maps[0]):
            continue
        label = f"{'no information' if w == 1.0 else f'{name} on {kind} Y'}/{k} bins"
        if label not in table or vals.mean() > table[label][1]:
            table[label] = (ce, float(vals.mean()))
    return table


def score_fold(c: FoldChoice, z_fit: np.ndarray, z_eval: np.ndarray, y_eval: np.ndarray, seed: int) -> FoldScore:
    """Refit the chosen regressor on the whole fit set ``z_fit (n, d)`` and score ``z_eval, y_eval``.

    Every scored set (a cross-fit fold, or an explicit held-out set) is scored against the Miller-Madow
    entropy of its own bin labels: the marginal term is estimated on evaluation rows, never on the fit
    pool, so a shift between the pools is not read as information. (Scored against the fit pool's bin
    frequencies, a Gaussian channel with I = 0.30 read 0.53 and 0.79 nats when the evaluation inputs
    were shifted by 1 and 1.5 SD; now 0.305, 0.295 and 0.286 at shifts 0, 1, 1.5.) The no-information
    model then reads minus the shift's KL, below 0: not information, and reported as not detected."""
    bins = Bins.quantile(c.g_fit @ c.rot, c.k)
    codes = bins.codes(c.tmap.gauss(y_eval) @ c.rot)
    prior = cell_prior(bins, bins.codes(c.g_fit @ c.rot))
    w = c.weight
    if w == 1.0:
        probs = [np.full((len(codes), s), 1.0 / s) for s in bins.sizes]
        choice = f"no information (fit-set frequencies of {bins.n_cells} bins)"
    else:
        model = fit_regressor(c.name, seed, z_fit, fit_target(c.g_fit))
        mu = predict(model, z_eval) @ c.rot
        probs = [ResidualCDF(c.resid[:, j], c.mult).bin_probs(mu[:, j], e) for j, e in enumerate(bins.edges)]
        residuals = "Gaussian residuals" if c.mult == 0 else f"kernel x{c.mult:g}"
        choice = f"{c.name} on {c.tmap.kind} Y, {bins.n_cells} bins, {residuals}, marginal weight {w:g}"
    h_mm, neg_log = miller_madow(bins.cells(codes))
    offset = h_mm - neg_log.mean()  # the Miller-Madow correction, spread evenly

    def scored(perm: np.ndarray) -> np.ndarray:
        return cell_log_probs(probs, codes[perm], w, bins, prior) + neg_log[perm] + offset

    return FoldScore(scored(np.arange(len(codes))), scored, choice, c.table, h_mm,
                     cell_log_probs(probs, codes, w, bins, prior), bins.cells(codes))


def fit_target(y: np.ndarray) -> np.ndarray:
    """scikit-learn wants ``(n,)`` for one target (MLPRegressor warns otherwise)."""
    return y[:, 0] if y.shape[1] == 1 else y

