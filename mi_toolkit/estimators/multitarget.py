"""The readers of ``binned``: two ways to read cells of a continuous target ``Y (N, k)`` from ``Z``.

Each reader fits everything on one fold's fit rows and scores the held-out rows
``log q(c_i | z_i) - log p_hat(c_i)``, the marginal term being the Miller-Madow entropy of the held-out
cells themselves (never the fit pool's frequencies). The cells are a function of ``Y`` fitted on fit
rows only, so ``I(Z; q(Y)) <= I(Z; Y)`` (data processing) and each reading is a lower bound up to
held-out noise.

* ``regression`` (:mod:`~mi_toolkit.estimators.discretised`): a discretised regression on quantile
  bins of ``Y`` (one coordinate), or of the top 1 or 2 *canonical directions* of the Gaussianised ``Y``
  (several coordinates; :class:`~mi_toolkit.estimators.quantise.TargetProjection`, linear or quadratic
  as :meth:`ReaderInput.canonical_kind` chooses), from ``Z``, its rank-Gaussianised version (non-Gaussian
  margins) or a ``contains=`` part; directions and input chosen by the inner-split value;
* ``probe``: a quantiser (:mod:`~mi_toolkit.estimators.quantise`: k-means of the Gaussianised ``Y`` or
  cells of its canonical directions, the number of cells chosen by held-out code length on an inner
  split), its codes read by the probe engine (:func:`~mi_toolkit.estimators.probe.run_probe`: raw PCA
  and standardise-then-PCA, logistic, MLP and generative heads over penalties, the Gaussianised
  features as a part, and the caller's ``contains=`` parts, so a container cannot read below a part
  except by selection noise).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Any, Callable, Mapping

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from predgen_common.registry import Registry

from mi_toolkit.estimators.continuous_crossfit import FoldScore
from mi_toolkit.estimators.continuous_models import miller_madow
from mi_toolkit.estimators.discretised import score_fold, select_fold
from mi_toolkit.estimators.probe import probe_result, run_probe
from mi_toolkit.estimators.quantise import (Gaussianiser, QuantiserSpec, TargetProjection, TargetQuantiser,
                                            held_out_canonical_nats, quadratic)
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.ground import TokenStates

GAUSS_PART = "gaussianised"   # the part name of the rank-Gaussianised features
SELECT_Z_DIMS = 32            # Gaussianised principal components of Z for the selection and the CCA
SELECT_MIX = 0.02             # the selection LDA's probabilities mixed with the cell frequencies
NON_GAUSSIAN = (0.5, 1.0)     # |skew|, |excess kurtosis| beyond which a feature's margin is not Gaussian


@dataclass
class ReaderInput:
    """One fold: ``sources`` ``{"": Z, part: X}`` over all ``N`` rows, ``y (N, k)``, the fit and
    scored rows, the estimator's config (``BinnedConfig``), the bin counts allowed for a one-coordinate
    target, a seed and the probe engine's device. :meth:`shared` memoises what both readers fit on the
    fold's fit rows (the Gaussianised ``Y`` and ``Z``, the expanded ``Z`` of the canonical directions)."""

    sources: Mapping[str, np.ndarray]
    y: np.ndarray
    fit: np.ndarray
    ev: np.ndarray
    cfg: Any
    counts: list[int] | None
    seed: int
    device: str = "cpu"
    memo: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    @property
    def z(self) -> np.ndarray:
        return self.sources[""]

    def z_ranked(self) -> np.ndarray:
        """``(N, d)`` every row of ``Z`` through the rank step fitted on the fit rows (once per fold: the
        canonical directions and the Gaussianised-``Z`` input share it; a 576-wide ``Z`` took 2 s twice)."""
        return self.shared("z_ranked", lambda: Gaussianiser(seed=self.seed).fit_margins(self.z[self.fit])
                           .ranks(self.z))

    def zq(self) -> np.ndarray:
        """``(N, 2q)`` expanded Gaussianised ``Z`` (fitted on the fit rows), for the canonical directions:
        :func:`z_expansion` from the shared rank step."""
        return self.shared("zq", lambda: expand_ranked(self.z_ranked()[self.fit], self.z_ranked(), self.seed))

    def gauss_y(self) -> Gaussianiser:
        return self.shared("gauss_y", lambda: Gaussianiser(seed=self.seed).fit(self.y[self.fit]))

    def gy(self) -> np.ndarray:
        """``(N, k)`` every row's ``Y`` through :meth:`gauss_y` (computed once per fold; index by rows)."""
        return self.shared("gy", lambda: self.gauss_y().transform(self.y))

    def canonical_kind(self) -> str:
        """``"canonical"`` (linear) or ``"quadratic"`` canonical directions for this fold: the one whose top
        two pairs, fitted on 75% of the fit rows, carry more Gaussian information on the other 25%. (Linear
        read 0.77 of 1.0 nats where quadratic read 0.32 with 100 target columns and 480 fit rows; only the
        quadratic one sees a shared scale.)"""
        def choose() -> str:
            nats = {kind: self._held_out_nats(f, 2)
                    for kind, f in (("canonical", lambda x: x), ("quadratic", quadratic))}
            return max(nats, key=nats.get)
        return self.shared("canonical_kind", choose)

    def _held_out_nats(self, features: Callable[[np.ndarray], np.ndarray], dims: int) -> float:
        """The Gaussian information of the top ``dims`` canonical pairs of ``features(g)`` and the expanded ``Z``,
        fitted on 75% of the fit rows and read on the other 25% (the same split for every call of a fold)."""
        g, zq = self.gy()[self.fit], self.zq()[self.fit]
        idx = np.random.default_rng(self.seed + 11).permutation(len(g))
        held, train = idx[: len(idx) // 4], idx[len(idx) // 4:]
        return held_out_canonical_nats(features(g[train]), zq[train], features(g[held]), zq[held], dims)

    def scale_target(self) -> bool:
        """Whether a one-column ``Y`` also gets the top direction of ``[g, g^2]`` as a target: where that
        direction, fitted on 75% of the fit rows, carries more than twice the Gaussian information of ``g`` itself
        on the other 25%, and 0.05 nats more. A relation through the scale alone reads nothing from ``Y`` (a
        Student-t pair, 0.224 nats: 0.000 for ``g``, 0.449 for the folded direction); where ``Y`` itself serves
        the second target only costs time (real-state targets: 0.193 against 0.199 for a linear read-out, 0.154
        against 0.192 for ``sin`` of a principal score, 0.175 against 0.260 for ``|PC2|``)."""
        def choose() -> bool:
            lin, quad = self._held_out_nats(lambda x: x, 1), self._held_out_nats(quadratic, 1)
            return quad > 2.0 * lin + 0.05
        return self.shared("scale_target", choose)

    def gauss_z(self) -> np.ndarray | None:
        """``(N, d)`` rank-Gaussianised (and whitened) ``Z`` fitted on the fit rows, when some feature's
        margin is far from Gaussian (:func:`non_gaussian`); None otherwise."""
        def make() -> np.ndarray | None:
            if not non_gaussian(self.z):
                return None
            g = self.z_ranked()
            return Gaussianiser(max_dims=g.shape[1], seed=self.seed).fit_ranked(g[self.fit]).project(g)
        return self.shared("gauss_z", make)


READERS: Registry[Callable[[ReaderInput], "FoldScore | None"]] = Registry("continuous-target reader")


def entropy_terms(cells: np.ndarray) -> tuple[float, np.ndarray]:
    """``(H_MM, per-row -log p_hat + correction)`` of held-out cells: the rows' terms average to ``H_MM``."""
    h_mm, neg_log = miller_madow(cells)
    return h_mm, neg_log + (h_mm - neg_log.mean())


def max_cells(n_eval: int, min_per_cell: int) -> int:
    """Cells a held-out set of ``n_eval`` rows can populate with ``min_per_cell`` each (at least 2)."""
    return max(2, n_eval // min_per_cell)


@READERS.register("regression")
def regression_reader(r: ReaderInput) -> FoldScore | None:
    """The discretised regression on ``Y`` (one coordinate) or on its canonical projections (several), from
    ``Z``, from the rank-Gaussianised ``Z`` where its margins are far from Gaussian, and from each
    ``contains=`` part (so a container's candidates include its parts'), and from each of the first
    ``cfg.positions`` token positions' states where the input is token states (a target set by one position
    is diluted in the flattened window: 0.323 of 0.801 nats read from 10 x 576 flattened states, 0.600 from
    the position's own 576); the pair with the best inner-split value is kept. None when no bin count fits."""
    inputs = {"Z": r.z} | ({"Gaussianised Z": r.gauss_z()} if r.gauss_z() is not None else {})
    inputs |= {f"part {name}": x for name, x in r.sources.items() if name and not isinstance(x, TokenStates)}
    linear = replace(r.cfg, regressors=r.cfg.regressors[:1])
    positions = {f"{name or 'Z'} position {p}": x.z[:, p].astype(np.float64) for name, x in r.sources.items()
                 if isinstance(x, TokenStates) for p in range(min(r.cfg.positions, x.z.shape[1]))}
    best, first = None, {}
    for (label, t_fit, t_ev, counts, group), (zname, z) in product(_targets(r), (inputs | positions).items()):
        # one position's states: the first (linear) regressor only, W inputs being many
        cfg = linear if zname in positions else r.cfg
        if group in first and r.cfg.screen:
            # regressors and target maps were judged on the group's first pair: the others fit the best map only,
            # with the first regressor and the best one (a position: the first regressor alone)
            top = first[group].best
            regs = cfg.regressors if zname in positions else tuple(dict.fromkeys((cfg.regressors[0], top[0])))
            cfg = replace(cfg, regressors=regs, target_maps=(top[1],))
        c = select_fold(z[r.fit], t_fit, cfg, counts, r.seed)
        first.setdefault(group, c)
        # a pair that kept its no-information model competes only as the first pair's fallback: nulls of more
        # cells read lower (a 3 x 3 null chosen on inner noise read -0.030 on independent data, 600 rows)
        value = c.value if c.weight != 1.0 or best is None else -np.inf
        if best is None or value > best[1]:
            best = (c, value, f"{label} from {zname}", z, t_ev, zname in positions)
    if best is None:
        return None
    c, _, tag, z, t_ev, position = best
    s = score_fold(c, z[r.fit], z[r.ev], t_ev, r.seed)   # only the chosen pair is refitted on the whole fit set
    s.choice, s.table = f"{tag}: {s.choice}", {f"{tag}: {k}": v for k, v in s.table.items()}
    # a position's states get the first regressor alone, so its pick says nothing of the nonlinear ones
    s.linear = (c.weight != 1.0 and not position and len(r.cfg.regressors) > 1
                and c.name == r.cfg.regressors[0])
    return s


def _targets(r: ReaderInput) -> list[tuple[str, np.ndarray, np.ndarray, list[int], str]]:
    """``(label, fit target, scored target, bin counts, screen group)``: ``Y`` itself (one coordinate; with the
    top direction of ``[g, g^2]`` where :meth:`ReaderInput.scale_target` says so), or its top ``m`` canonical
    directions for each ``m`` of the config, with the per-direction bin counts whose joint cells fit the
    held-out rows (the largest such count and two smaller ones). The screen (``BinnedConfig.screen``) judges
    regressors and maps on each group's first pair."""
    y = r.y
    if y.shape[1] == 1:
        out = [("Y", y[r.fit], y[r.ev], r.counts, "Y")]
        if r.scale_target():   # [g, g^2]'s top direction: a Student-t pair's scale, |Y| folded
            g = r.gy()
            proj = TargetProjection("quadratic", 1, r.seed).fit(y[r.fit], r.zq()[r.fit], r.gauss_y(), g=g[r.fit])
            # a group of its own: what reads Y's mean says nothing of which regressor reads its scale
            out.append(("quadratic 1-d of Y", proj.transform(y[r.fit], g=g[r.fit]),
                        proj.transform(y[r.ev], g=g[r.ev]), r.counts, "scale"))
        return out
    room = max_cells(len(r.ev), r.cfg.min_per_cell)
    out = []
    for m in (m for m in r.cfg.projection_dims if m <= y.shape[1]):
        top = int(np.floor(room ** (1.0 / m) + 1e-9))
        counts = sorted({b for b in (top, top // 2, top // 4) if b >= 2})
        if not counts:
            continue
        g = r.gy()
        proj = TargetProjection(r.canonical_kind(), m, r.seed).fit(y[r.fit], r.zq()[r.fit], r.gauss_y(), g=g[r.fit])
        out.append((f"{r.canonical_kind()} {m}-d of Y", proj.transform(y[r.fit], g=g[r.fit]),
                    proj.transform(y[r.ev], g=g[r.ev]), counts, "directions"))
    return out


@READERS.register("probe")
def probe_reader(r: ReaderInput) -> FoldScore:
    """Choose and fit the quantiser on the fit rows, read its codes with the probe engine fitted on them."""
    grid = [(r.canonical_kind() if p == "canonical" else p, d, c) for p, d, c in r.cfg.quantisers]
    spec, table = choose_quantiser(r.z[r.fit], r.y[r.fit], quantiser_grid(tuple(grid)),
                                   max_cells(len(r.ev), r.cfg.min_per_cell), r.cfg.inner_fraction, r.seed)
    quant = TargetQuantiser(spec, r.seed).fit(r.y[r.fit], r.zq()[r.fit], r.gauss_y(), g=r.gy()[r.fit])
    order = np.concatenate([r.fit, r.ev])
    codes = quant.predict(r.y[order], g=r.gy()[order])
    # token states as such are left to the regression reader: the sequence probe on cells of a position's
    # linear target read 0.168 of 0.801 nats in 382 s, where the flattened states' regression read 0.323
    srcs = {name: x[order] for name, x in r.sources.items() if not isinstance(x, TokenStates)}
    if r.gauss_z() is not None:   # per-coordinate rank Gaussianisation: a function of Z, so a part it contains
        srcs[GAUSS_PART] = r.gauss_z()[order]
    out = run_probe(srcs, codes, quant.n_cells_, r.cfg.probe, r.seed, torch.device(r.device), n_fit=len(r.fit))
    log_q = out.pointwise + out.log_prior
    cells = codes[len(r.fit):]
    h_mm, terms = entropy_terms(cells)
    return FoldScore(log_q + terms, None, f"{spec.name} of Y, read by {out.chosen}", table, h_mm, log_q, cells)


def non_gaussian(x: np.ndarray) -> bool:
    """Whether some feature's margin is far from Gaussian (skew or excess kurtosis beyond
    :data:`NON_GAUSSIAN`); label-free, so it may look at every row."""
    from scipy.stats import kurtosis, skew

    with np.errstate(all="ignore"):
        s, k = np.nan_to_num(skew(x, axis=0)), np.nan_to_num(kurtosis(x, axis=0))
    return bool((np.abs(s) > NON_GAUSSIAN[0]).any() or (np.abs(k) > NON_GAUSSIAN[1]).any())


def quantiser_grid(specs: tuple[tuple[str, int, int], ...]) -> tuple[QuantiserSpec, ...]:
    """``(projection, directions, cells)`` triples of the config as :class:`QuantiserSpec`."""
    return tuple(QuantiserSpec(*s) for s in specs)


def z_expansion(z_fit: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    """``quadratic`` of the Gaussianised top components of ``z`` (``(n, 2 q)``), fitted on ``z_fit``."""
    ranker = Gaussianiser(seed=seed).fit_margins(z_fit)
    return expand_ranked(ranker.ranks(z_fit), ranker.ranks(z), seed)


def expand_ranked(g_fit: np.ndarray, g: np.ndarray, seed: int) -> np.ndarray:
    """:func:`z_expansion` of rows already through the rank step (fit rows ``g_fit``, all rows ``g``)."""
    return quadratic(Gaussianiser(SELECT_Z_DIMS, seed).fit_ranked(g_fit).project(g))


def _inner_values(zq_tr: np.ndarray, zq_in: np.ndarray, c_tr: np.ndarray, c_in: np.ndarray) -> np.ndarray:
    """Per inner row ``log q(c|z)`` of a shrinkage LDA plus the held-out entropy terms: the inner bound's
    summands. The LDA is mixed with the cell frequencies (:data:`SELECT_MIX`) so one overconfident
    row cannot decide the choice."""
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(zq_tr, c_tr)
    lp = lda.predict_log_proba(zq_in)
    prior = np.log(np.bincount(c_tr, minlength=len(lda.classes_))[lda.classes_] / len(c_tr))
    lp = np.logaddexp(lp + np.log1p(-SELECT_MIX), prior + np.log(SELECT_MIX))
    col = np.minimum(np.searchsorted(lda.classes_, c_in), len(lda.classes_) - 1)
    return lp[np.arange(len(c_in)), col] + entropy_terms(c_in)[1]


def choose_quantiser(z_fit: np.ndarray, y_fit: np.ndarray, cands: tuple[QuantiserSpec, ...], most_cells: int,
                     inner_fraction: float, seed: int) -> tuple[QuantiserSpec, dict[str, tuple[float, float]]]:
    """The candidate with the largest inner bound (held-out code length saved by ``Z``) on an inner split
    of the fit rows; candidates above ``most_cells`` cells, or with a cell of fewer than 2 inner training
    rows, are skipped. Returns it and ``{name: (inner code length, inner bound)}``."""
    idx = np.random.default_rng(seed).permutation(len(z_fit))
    n_in = min(max(int(round(len(idx) * inner_fraction)), 4), len(idx) - 4)
    inner, train = idx[:n_in], idx[n_in:]
    zq = z_expansion(z_fit[train], z_fit, seed)
    gauss = Gaussianiser(seed=seed).fit(y_fit[train])
    g_tr, g_in = gauss.transform(y_fit[train]), gauss.transform(y_fit[inner])   # once for every candidate
    values: dict[QuantiserSpec, float] = {}
    table: dict[str, tuple[float, float]] = {}
    for spec in cands:
        if spec.cells > most_cells:
            continue
        q = TargetQuantiser(spec, seed).fit(y_fit[train], zq[train], gauss, g=g_tr)
        c_tr, c_in = q.predict(y_fit[train], g=g_tr), q.predict(y_fit[inner], g=g_in)
        if q.n_cells_ < 2 or np.bincount(c_tr).min() < 2:
            continue
        v = _inner_values(zq[train], zq[inner], c_tr, c_in)
        values[spec] = float(v.mean())
        table[f"probe reader: {spec.name}"] = (float(entropy_terms(c_in)[0] - v.mean()), values[spec])
    if not values:   # nothing fits (tiny folds): the fewest cells of the first projection
        return QuantiserSpec(cands[0].projection, cands[0].dims, 2), table
    return max(values, key=values.get), table


def distinct_rows(y: np.ndarray, limit: int, min_per_value: int = 4) -> np.ndarray | None:
    """Codes ``(N,)`` of ``y``'s distinct rows when they are few: at most ``limit`` of them and at least
    ``min_per_value`` rows each on average (ties, not merely a small sample); else None."""
    uniq, codes = np.unique(y, axis=0, return_inverse=True)
    few = len(uniq) <= limit and len(y) >= min_per_value * len(uniq)
    return codes.ravel().astype(np.int64) if few else None


def choose_per_unit(values: dict[str, np.ndarray], units: np.ndarray) -> dict[int, str]:
    """For each unit (a cross-fitting fold, or a slice of an explicit held-out set), the reader with the
    largest mean value on the *other* units' rows; ``values[reader] (n,)`` per scored row."""
    names = list(values)
    out = {}
    for u in np.unique(units):
        other = units != u
        out[int(u)] = max(names, key=lambda n: values[n][other].mean() if other.any() else 0.0)
    return out


def as_classes(z: np.ndarray, codes: np.ndarray, parts: Mapping[str, np.ndarray] | None, cfg: Any, seed: int,
               n_fit: int | None, device: str, start: float) -> MIResult:
    """A target of few distinct rows (a discrete-valued ``Y`` passed as floats, ties): each distinct row is
    a class, read by the probe engine. The coding is one-to-one, so ``I(Z; codes) = I(Z; Y)`` and the
    probe's reading is a lower bound on it; the result says so in ``config["input_notes"]``."""
    n_classes = int(codes.max()) + 1
    res = probe_result({"": z, **(parts or {})}, codes, n_classes, cfg.probe, seed, torch.device(device), n_fit)
    res.estimator, res.discrete, res.is_bound = "binned", False, True
    note = (f"the target has only {n_classes} distinct rows (ties): read as {n_classes} classes by the probe "
            "engine (the discrete path), as no quantiser can find more cells")
    res.config = {**res.config, "input_notes": [*res.config.get("input_notes", []), note]}
    res.seconds = time.perf_counter() - start
    return res
