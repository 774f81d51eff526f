"""Usable information against fit-set size: the reading of each representation at a grid of n.

A probe reading holds at one sample size (lesson 7 of the probing notes: the SST-2 reading of
one state more than doubles from n = 125 to n = 2,000, and a container can read below its
part at small n). :func:`learning_curve` measures every representation at a geometric grid of
fit-set sizes, on the same examples:

* **outer folds** (``K``, stratified): each fold's rows are scored by probes fitted on a
  subset of the *other* folds' rows, so every example is scored once at every ``n``;
* **nested subsets**: the fold's training rows are put in one seeded, class-interleaved
  order, and the size-``n`` fit set is its first ``n`` rows; the same rows serve every
  representation (paired across representations) and the larger sets contain the smaller;
* **selection** as the probe engine's cross-fitting does: every candidate (the label prior,
  the engine's candidates for the input, and for a container each part's candidates) is
  fitted on each fold's subset; fold ``f`` uses the candidate with the lowest log-loss on the
  other folds' scored rows;
* **repeats** redraw the folds and the orders; the per-example values are averaged, and
  the interval adds the spread of the repeats (:func:`mi_toolkit.estimators.probe.interval`);
* the online code length (:mod:`mi_toolkit.measures.mdl`) comes from the same fits: the
  rows of the fold's order between one size and the next are scored by the models of the
  smaller size.

Every ``n`` is at most the fold's training rows (all the data a cross-fitted probe may
see) and at least ``folds x classes`` (the inner folds need every class).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from predgen_common.errors import UserError

from mi_toolkit.estimators.probe import (
    PRIOR, ProbeConfig, ProbeOutcome, candidates_for, interval, make_splits, pick_candidate,
)
from mi_toolkit.estimators.probe_family import split_log_prior
from mi_toolkit.estimators.result import MIResult, is_detection
from mi_toolkit.estimators.views import as_input
from mi_toolkit.measures.compare import Comparison, adjust, compare
from mi_toolkit.measures.mdl import OnlineCode, online_code
from mi_toolkit.validate import resolve_device

NOTE = ("95% percentile bootstrap (B={b}) over the {n} examples, each scored by a probe fitted on {size} rows of "
        "the other folds ({k}-fold cross-fit; candidate chosen on the other folds' log-loss){rep}; the fit rows "
        "are the first {size} of one seeded order per fold, the same for every representation")


@dataclass
class CurveConfig:
    """How the curve is measured. ``sizes=None``: ``n_sizes`` geometric sizes from ``min_size``
    (default ``max(4 x folds x classes, 32)``) to all the data a fold may fit on."""

    sizes: tuple[int, ...] | None = None
    n_sizes: int = 5
    min_size: int | None = None
    folds: int = 5
    repeats: int = 1
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def grid(self, n_rows: int, n_classes: int) -> list[int]:
        """The checked size grid for ``n_rows`` examples of ``n_classes`` classes."""
        top = n_rows - -(-n_rows // self.folds)          # the smallest fold's training rows
        low = self.folds * n_classes
        if self.sizes is not None:
            sizes = sorted({int(s) for s in self.sizes})
            for s in sizes:
                if s > top:
                    raise UserError(f"fit-set size {s} is larger than the data allows: with {n_rows} examples and "
                                    f"{self.folds} folds a probe is fitted on at most {top}; use sizes <= {top}")
                if s < low:
                    raise UserError(f"fit-set size {s} is smaller than folds x classes = {self.folds} x {n_classes} "
                                    f"= {low}; use sizes >= {low}")
            return sizes
        start = self.min_size or max(4 * low, 32)
        if start > top:
            raise UserError(f"{n_rows} examples are too few for a curve: the smallest size would be {start} but a "
                            f"fold fits on at most {top}; pass more examples or --sizes")
        return sorted({int(round(s)) for s in np.geomspace(start, top, self.n_sizes)})


@dataclass
class CurveResult:
    """``results[rep][i]``: the :class:`MIResult` of ``rep`` at ``sizes[i]``; ``codes[rep]``: its online code."""

    sizes: list[int]
    results: dict[str, list[MIResult]]
    contains: dict[str, list[str]]
    codes: dict[str, OnlineCode]
    comparisons: list[Comparison]
    crossings: list[dict[str, Any]]
    ceiling: float
    meta: dict[str, Any] = field(default_factory=dict)
    controls: Any = None          # measures.controls.ControlReport, when asked for
    conditional: list[Any] = field(default_factory=list)

    def final(self, rep: str) -> MIResult:
        """The reading at the largest size."""
        return self.results[rep][-1]

    def to_dict(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "ceiling": self.ceiling, "contains": self.contains, "meta": self.meta,
                "results": {r: [{"n": n, **x.to_dict()} for n, x in zip(self.sizes, v)]
                            for r, v in self.results.items()},
                "online_code": {r: c.to_dict() for r, c in self.codes.items()},
                "comparisons": [c.to_dict() for c in self.comparisons], "crossings": self.crossings,
                "controls": self.controls.to_dict() if self.controls is not None else None,
                "conditional": [c.to_dict() for c in self.conditional]}


def prefix_order(y: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray:
    """``rows`` in a seeded order whose every prefix holds the classes in about their overall shares."""
    rng = np.random.default_rng(seed)
    key = np.empty(len(rows))
    for c in np.unique(y[rows]):
        at = np.flatnonzero(y[rows] == c)
        key[at] = (rng.permutation(len(at)) + rng.random(len(at))) / len(at)
    return rows[np.argsort(key, kind="stable")]


def score_candidates(X: Any, cands: Sequence[Any], y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                     n_classes: int, seed: int, device: torch.device,
                     shared: dict[tuple, Any] | None = None) -> dict[str, list[np.ndarray]]:
    """``{candidate: [log q(y_i | z_i) on split f's score rows, per split]}`` for one input ``X``.

    Members of one engine family are fitted together on all splits (one batched fit), and the
    families of one view share its preprocessing per split (one top-``k`` PCA per split and order
    for every ``k`` and head); other candidates (sequence probes) are fitted split by split through
    their ``make`` factory. ``shared`` (one dict per ``y`` and ``splits``) carries fitted families and
    preprocessing across inputs, keyed by the view's content: the full states' ``last`` pooling is
    the ``pooled:last`` input, fitted once.
    """
    out: dict[str, list[np.ndarray]] = {}
    views: dict[int, tuple[Any, str]] = {}
    shared = {} if shared is None else shared
    for c in cands:
        if id(c.view) not in views:       # read each view once (setdefault would pool again per candidate)
            Xv = c.read(X)
            views[id(c.view)] = (Xv, _content_key(Xv))
        Xv, vkey = views[id(c.view)]
        fam = getattr(c.make, "family", None)
        if fam is None:
            lp = [c.make(seed, n_classes).fit(Xv[tr], y[tr]).predict_log_proba(Xv[sc]) for tr, sc in splits]
        else:
            key = ("fit", vkey, fam)
            if key not in shared:
                shared[key] = fam.score_splits(Xv, y, list(splits), n_classes, seed, device,
                                               shared.setdefault(("prep", vkey), {}))
            lp = shared[key][c.make.index]
        out[c.name] = [np.maximum(np.asarray(p, np.float64)[np.arange(len(sc)), y[sc]], -50.0)
                       for p, (_, sc) in zip(lp, splits)]
    return out


def _content_key(X: Any) -> str:
    """A digest of an array view's shape, dtype and bytes (another object for anything else)."""
    if not isinstance(X, np.ndarray):
        return f"id:{id(X)}"
    h = hashlib.blake2b(np.ascontiguousarray(X).view(np.uint8).ravel(), digest_size=16)
    return f"{X.shape}:{X.dtype}:{h.hexdigest()}"


@dataclass
class _Run:
    """One repeat at one size for one representation: per-split scores of its own candidates."""

    scores: dict[str, list[np.ndarray]]
    n_eval: list[int]           # per fold: how many of the score rows are the fold's examples (the rest: MDL block)


def _select(scores: dict[str, list[np.ndarray]], n_eval: list[int],
            from_part: set[str] = frozenset()) -> tuple[list[str], dict[str, float]]:
    """Per fold, the candidate with the lowest mean log-loss on the other folds' scored examples (a
    container's own candidate must beat its parts' best by one paired standard error: ``probe.pick_candidate``)."""
    K = len(n_eval)
    names = list(scores)
    loss = np.stack([np.concatenate([-scores[nm][f][: n_eval[f]] for f in range(K)]) for nm in names])
    fold = np.concatenate([np.full(n_eval[f], f) for f in range(K)])
    # pick_candidate treats row 0 as the prior (scores starts with it)
    part_rows = np.array([i for i, nm in enumerate(names) if nm in from_part], dtype=int)
    chosen = [names[pick_candidate(loss[:, fold != f], part_rows)] for f in range(K)]
    cv = {nm: float(loss[i].mean()) for i, nm in enumerate(names)}
    return chosen, cv


@dataclass
class _Problem:
    """What every size of one curve reads: the checked inputs ``{rep: X}``, each one's candidates, the nesting
    ``{container: [parts]}``, the labels as class codes ``(N,)``, the number of classes and the fits' device."""

    inputs: dict[str, Any]
    cands: dict[str, list]
    contains: dict[str, list[str]]
    y: np.ndarray
    n_classes: int
    device: torch.device


def _measure_size(problem: _Problem, outer: list, orders: list, n: int, n_next: int | None,
                  seed: int) -> dict[str, dict[str, Any]]:
    """Fit every candidate of every representation on each fold's first ``n`` rows; select; return per rep
    ``{"point", "chosen", "cv", "block", "block_prior", "block_logq"}`` (block: the order's rows up to ``n_next``)."""
    inputs, contains, y, n_classes = problem.inputs, problem.contains, problem.y, problem.n_classes
    splits, n_eval = [], []
    for (_, sc), order in zip(outer, orders):
        block = order[n:n_next] if n_next else order[:0]
        splits.append((order[:n], np.concatenate([sc, block])))
        n_eval.append(len(sc))
    shared: dict[tuple, Any] = {}     # fits and preprocessing of identical views, across representations
    own = {rep: score_candidates(inputs[rep], problem.cands[rep], y, splits, n_classes, seed, problem.device, shared)
           for rep in inputs}
    prior = [split_log_prior(y[tr], n_classes)[y[sc]] for tr, sc in splits]
    out = {}
    for rep in inputs:
        scores = {PRIOR: prior, **own[rep]}
        for part in contains.get(rep, []):
            scores.update({f"{part}:{k}": v for k, v in own[part].items()})
        from_part = {f"{part}:{k}" for part in contains.get(rep, []) for k in own[part]}
        chosen, cv = _select(scores, n_eval, from_part)
        best = min((k for k in cv if k != PRIOR), key=cv.get, default=PRIOR)
        point, best_point = np.empty(len(y)), np.empty(len(y))
        block_lq = {name: [v[f][n_eval[f]:] for f in range(len(outer))] for name, v in scores.items()}
        for f, ((_, sc), name) in enumerate(zip(outer, chosen)):
            point[sc] = scores[name][f][: n_eval[f]] - prior[f][: n_eval[f]]
            best_point[sc] = scores[best][f][: n_eval[f]] - prior[f][: n_eval[f]]
        out[rep] = {"point": point, "chosen": chosen, "cv": cv, "block_logq": block_lq, "best": (best, best_point)}
    return out


def _bootstrap(points: list[np.ndarray], fold_ids: np.ndarray, log_prior: np.ndarray, n: int, K: int, seed: int,
               cfg: ProbeConfig, chosen: str = PRIOR) -> tuple[float, float, float, float]:
    """``(mi, low, high, p)`` of the repeat-averaged per-example values (the engine's interval)."""
    point = np.mean(points, axis=0)
    out = ProbeOutcome(point, log_prior, fold_ids, chosen, [], [], n, K, [float(p.mean()) for p in points],
                       (chosen, point))
    return interval(out, cfg.n_bootstrap, seed, K)[:4]


def _as_result(runs: list[dict[str, Any]], fold_ids: np.ndarray, log_prior: np.ndarray, n: int, K: int, seed: int,
               cfg: ProbeConfig, device: str) -> MIResult:
    """One representation at one size, over ``R`` repeats (``runs[r]``: what :func:`_measure_size` gave)."""
    points = [x["point"] for x in runs]
    point = np.mean(points, axis=0)
    cv = {k: float(np.mean([x["cv"][k] for x in runs])) for k in runs[0]["cv"]}
    choice = [c for x in runs for c in x["chosen"]]
    top = max(set(choice), key=choice.count)
    table = [{"name": k, "cv_logloss": v, "cv_mi": cv[PRIOR] - v} for k, v in cv.items()]
    mi, lo, hi, p = _bootstrap(points, fold_ids, log_prior, n, K, seed, cfg, top)
    rep = f", and the spread of {len(points)} repeats (re-drawn folds and orders) in quadrature" if len(points) > 1 else ""
    bm, blo, bhi, _ = _bootstrap([x["best"][1] for x in runs], fold_ids, log_prior, n, K, seed, cfg)
    best = {"name": runs[0]["best"][0], "mi": bm, "ci_low": blo, "ci_high": bhi}
    return MIResult(mi=mi, ci_low=lo, ci_high=hi, estimator="probe", ceiling=float(-log_prior.mean()),
                    above_ceiling=mi > float(-log_prior.mean()) + 1e-9, n_train=n, n_test=len(point), p_value=p,
                    seconds=0.0, seed=seed, config={"per_fold_choice": runs[0]["chosen"], "best_model": best, "fit_size": n},
                    interval_method=NOTE.format(b=cfg.n_bootstrap, n=len(point), size=n, k=K, rep=rep),
                    discrete=True, device=device, pointwise=point, fold_ids=fold_ids, chosen=top, candidates=table,
                    n_fit=n, n_eval=len(point), n_folds=K, detected=is_detection(lo) and top != PRIOR)


def _check(reps: Mapping[str, Any], y: np.ndarray, contains: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    if not reps:
        raise UserError("a curve needs at least one representation")
    inputs = {}
    for name, Z in reps.items():
        Z = as_input(Z)
        if not isinstance(Z, np.ndarray) or Z.ndim == 2:
            Z = Z if not isinstance(Z, np.ndarray) else np.asarray(Z, np.float32)
        else:
            Z = np.asarray(Z, np.float32).reshape(len(Z), -1)
        if len(Z) != len(y):
            raise UserError(f"representation {name!r} has {len(Z)} examples but there are {len(y)} labels; "
                            "pass every representation of the same examples, in the same order")
        inputs[name] = Z
    for rep, parts in contains.items():
        bad = [p for p in list(parts) + [rep] if p not in inputs]
        if bad:
            raise UserError(f"contains= names {bad[0]!r}, which is not one of the representations "
                            f"({', '.join(inputs)}); name parts by their representation names")
    return inputs


def learning_curve(reps: Mapping[str, Any], y: Any, *, contains: Mapping[str, Sequence[str]] | None = None,
                   config: CurveConfig | None = None, seed: int = 0, device: str = "auto",
                   meta: dict[str, Any] | None = None) -> CurveResult:
    """Usable information of every representation against fit-set size (see the module docstring).

    ``reps``: ``{name: (N, d) array | (N, n, d) token states | TokenStates}``, the same ``N`` examples;
    ``y``: integer labels ``(N,)``; ``contains``: ``{container: [part names]}`` (nesting by construction:
    the container's candidates include each part's). Returns a :class:`CurveResult`.
    """
    cfg = config or CurveConfig()
    y_raw = np.asarray(y)
    if not np.issubdtype(y_raw.dtype, np.integer):
        raise UserError("a curve reads discrete labels (integer codes); bin a continuous target first")
    classes, y = np.unique(y_raw, return_inverse=True)
    C, contains = len(classes), {k: list(v) for k, v in (contains or {}).items()}
    inputs = _check(reps, y, contains)
    sizes = cfg.grid(len(y), C)
    dev = resolve_device(device)
    problem = _Problem(inputs, {r: candidates_for(Z, C, cfg.probe, str(dev)) for r, Z in inputs.items()}, contains,
                       y, C, dev)
    runs: dict[str, list[list[dict]]] = {r: [[] for _ in sizes] for r in inputs}
    schedules = []
    for r in range(cfg.repeats):
        torch.manual_seed(seed + r)
        outer = make_splits(y, np.arange(len(y)), cfg.folds, seed + r)
        orders = [prefix_order(y, tr, seed + 1000 * r + f) for f, (tr, _) in enumerate(outer)]
        schedules.append(orders)
        for i, n in enumerate(sizes):
            got = _measure_size(problem, outer, orders, n, sizes[i + 1] if i + 1 < len(sizes) else None, seed + r)
            for rep, v in got.items():
                runs[rep][i].append({**v, "outer": outer})
    return _assemble(problem, runs, sizes, schedules, cfg, seed, meta or {})


def _assemble(problem: _Problem, runs: dict[str, list[list[dict]]], sizes: list[int], schedules: list,
              cfg: CurveConfig, seed: int, meta: dict[str, Any]) -> CurveResult:
    """The :class:`CurveResult` of every representation's ``runs[rep][size][repeat]`` (``schedules[repeat]``:
    each fold's order), with the online codes, the comparisons and the crossings."""
    y, C, contains, device = problem.y, problem.n_classes, problem.contains, str(problem.device)
    fold_ids = np.empty(len(y), int)
    for f, (_, sc) in enumerate(runs[next(iter(runs))][0][0]["outer"]):
        fold_ids[sc] = f
    log_prior = np.log(np.bincount(y, minlength=C)[y] / len(y))
    results = {rep: [_as_result(at, fold_ids, log_prior, n, cfg.folds, seed, cfg.probe, device)
                     for n, at in zip(sizes, per)] for rep, per in runs.items()}
    codes = {rep: online_code(sizes, [[x["block_logq"] for x in at] for at in per], schedules, y, C)
             for rep, per in runs.items()}
    comps, crossings = curve_comparisons(sizes, results, contains, seed)
    ceiling = float(-log_prior.mean())
    return CurveResult(sizes, results, contains, codes, comps, crossings, ceiling,
                       {**meta, "n": len(y), "classes": C, "folds": cfg.folds, "repeats": cfg.repeats, "seed": seed,
                        "device": device, "estimator": "probe"})


def curve_comparisons(sizes: Sequence[int], results: Mapping[str, list[MIResult]],
                      contains: Mapping[str, Sequence[str]], seed: int = 0) -> tuple[list[Comparison], list[dict]]:
    """Paired comparisons at every size (each pair of representations; a container against its parts is
    kind ``within``), Holm-corrected over the whole family; and where two curves cross."""
    names = list(results)
    family, by_pair = [], {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            a_, b_ = (b, a) if a in contains.get(b, []) else (a, b)      # container first
            kind = "within" if b_ in contains.get(a_, []) else "between"
            for j, n in enumerate(sizes):
                c = compare(kind, f"{a_} @ n={n}", results[a_][j], f"{b_} @ n={n}", results[b_][j], seed=seed,
                            note="contains it" if kind == "within" else "")
                family.append(c)
                by_pair.setdefault((a_, b_), []).append(c)
    adjust(family)
    crossings = []
    for (a, b), cs in by_pair.items():
        for j in range(1, len(cs)):
            if np.sign(cs[j - 1].diff) * np.sign(cs[j].diff) < 0:
                beyond = cs[j - 1].verdict in ("reads higher", "reads lower") and \
                    cs[j].verdict in ("reads higher", "reads lower")
                crossings.append({"a": a, "b": b, "between": [int(sizes[j - 1]), int(sizes[j])],
                                  "diff_before": cs[j - 1].diff, "diff_after": cs[j].diff, "beyond_intervals": beyond,
                                  "message": (f"{a} and {b} cross between n={sizes[j - 1]} and n={sizes[j]} "
                                              f"({cs[j - 1].diff:+.3f} then {cs[j].diff:+.3f} nats, paired); "
                                              + ("the ordering reverses beyond the paired intervals at both sizes: "
                                                 "a comparison at one n would depend on n" if beyond else
                                                 "at least one side is within its paired interval"))})
    return family, crossings
