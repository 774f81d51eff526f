"""The DPI report, built around what can be tested: paired comparisons of usable information.

What is measured: for each representation, the probe's held-out usable information
``H(Y) - CE`` (V-information for the probe family at this n, Xu et al. 2020): a lower
bound on ``I(Y; representation)``. Probes are fitted on the fit pool (disjoint from the
LMs' training examples, :mod:`mi_toolkit.measures.pools`) and score the evaluation pool,
the same examples for every model, so every comparison is paired
(:mod:`mi_toolkit.measures.compare`), and the report's family of comparisons is
Holm-corrected.

Representations of one model's states Z (token states, prompt [+ generated] tokens):

- ``full``: the token states themselves, read by the sequence probe; it *contains*
  ``pooled:first``/``mean``/``last`` (their candidates are in its set: ``contains=``);
- ``pooled:g``: g(Z) over the prompt tokens, g in first / mean / last;
- ``token-PCA_k``: the paper's Z_r, a token-axis PCA per example. It centres each
  example's tokens, so it does NOT contain the mean or the last token state;
- ``R`` = [token-PCA_k; first; mean; last], which contains each of its parts: its probe family is
  every part's candidates plus candidates on each row's top ``ROW_K`` principal directions
  (a per-row PCA fitted on the fit pool, so still a function of R).

(a) Within each model: every container against each of its parts. The DPI (Theorem 1)
    orders the true MI; with nesting by construction, the readings can only reverse by
    selection noise, so a container that *reads lower* beyond its paired interval is
    flagged as estimator error.
(b) Across methods: the paper's Figure 2 pairs (Predictor's Zp vs Generator/PredGen Z_r)
    and the full token states of each model: an empirical comparison of usable information
    of different models, which the DPI does not order.
(c) The ceiling H(Y) of the evaluation pool.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.measures.compare import Comparison, adjust, compare
from mi_toolkit.measures.conditional import conditional_from_results
from mi_toolkit.measures.estimate import Estimation
from mi_toolkit.measures.fmt import fmt_result, shown_below_zero
from mi_toolkit.measures.seeds import MIN_SEEDS, method_table, per_seed_values
from mi_toolkit.measures.pools import Pools
# ModelStates and check_groups live with the Setting that reads them; importable from here as before
from mi_toolkit.measures.setting import ModelStates, Setting, check_groups  # noqa: F401
from mi_toolkit.states.extract import HiddenStates
from mi_toolkit.states.pca import reduce_rows, token_pca_all
from mi_toolkit.states.representations import labels_array, plugin_entropy, pooled_rows, token_states

PAPER_ORDER = ("predictor", "generator", "predgen")
FULL, R = "full", "R"
ROW_K = 64   # R's own probe candidates read each row reduced to this many principal directions


def pca_name(k: int) -> str:
    return f"token-PCA_{k}"


@dataclass
class DPIReport:
    """Estimates per model and representation, paired comparisons, flags (JSON-ready via ``to_dict``)."""

    results: dict[str, dict[str, Any]]
    methods: dict[str, str]
    poolings: dict[str, str]
    ceiling: float | None
    pca_k: int
    flags: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    pools: dict[str, Any] = field(default_factory=dict)
    conditional: list[Any] = field(default_factory=list)   # (a) I_V(Y; container | part), ConditionalResult
    groups: dict[str, str] = field(default_factory=dict)   # model -> its seed group (groups of >= 2 only)
    seed_readings: dict[str, Any] = field(default_factory=dict)    # "group representation" -> SeedSummary
    seed_comparisons: list[Any] = field(default_factory=list)      # MethodComparison over seeds

    @property
    def has_method_verdict(self) -> bool:
        """Some pair of seed groups has at least ``MIN_SEEDS`` seeds each: the report may then judge methods."""
        return any(min(c.summary.n_seeds) >= MIN_SEEDS for c in self.seed_comparisons)

    def across(self) -> list[tuple[str, str, Any]]:
        """(model, representation, result) for the paper's Figure 2: Zp for a predictor, Z_r otherwise."""
        rows = []
        for name, method in self.methods.items():
            rep = f"pooled:{self.poolings[name]}" if method == "predictor" else pca_name(self.pca_k)
            if rep in self.results[name]:
                rows.append((name, rep, self.results[name][rep]))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "across_methods": [{"model": m, "method": self.methods[m], "representation": rep, **r.to_dict()}
                               for m, rep, r in self.across()],
            "within_model": {m: {rep: r.to_dict() for rep, r in reps.items()} for m, reps in self.results.items()},
            "comparisons": [c.to_dict() for c in self.comparisons],
            "ceiling": self.ceiling, "pca_k": self.pca_k, "flags": self.flags, "verdicts": self.verdicts,
            "pools": self.pools, "meta": self.meta,
            "conditional": [c.to_dict() for c in self.conditional],
            "over_seeds": {"groups": self.groups,
                           "readings": {k: v.to_dict() for k, v in self.seed_readings.items()},
                           "comparisons": [c.to_dict() for c in self.seed_comparisons]},
        }


def _arrays(fit: HiddenStates, ev: HiddenStates, k: int, row_dim: int | None) -> tuple[np.ndarray, np.ndarray]:
    """R's rows ``(N, k+3, d)`` on both pools: [token-PCA_k; first; mean; last] (per-row PCA with ``row_dim``)."""
    return reduce_rows(*(np.concatenate([token_pca_all(s.iter_full(), [k])[k], pooled_rows(s)], axis=1)
                         for s in (fit, ev)), row_dim)


def _tasks(m: ModelStates, k: int, row_dim: int | None, with_full: bool) -> list[tuple[str, Any, Any, Any]]:
    """``(rep, Z_fit, Z_eval, contains)`` per representation of one model; ``contains`` nests by construction."""
    rf, re_ = _arrays(m.fit, m.eval, k, row_dim)
    w = rf.shape[2]
    flat = lambda a: np.ascontiguousarray(a.reshape(len(a), -1))  # noqa: E731
    tasks = [(f"pooled:{g}", flat(rf[:, k + j]), flat(re_[:, k + j]), None) for j, g in enumerate(POOLINGS)]
    tasks.append((pca_name(k), flat(rf[:, :k]), flat(re_[:, :k]), None))
    parts = {f"pooled_{g}": (flat(rf[:, k + j]), flat(re_[:, k + j])) for j, g in enumerate(POOLINGS)}
    parts["pca"] = (flat(rf[:, :k]), flat(re_[:, :k]))
    # R's own candidates read each row's top ROW_K directions (a function of R, fitted on the fit pool):
    # a probe on all (k + 3) x d raw numbers costs minutes and reads no more at these n
    jf, je = reduce_rows(rf, re_, ROW_K) if w > ROW_K else (rf, re_)
    tasks.append((R, flat(jf), flat(je), parts))
    if with_full:
        pooled = {f"pooled_{g}": (flat(rf[:, k + j]), flat(re_[:, k + j])) for j, g in enumerate(POOLINGS)}
        tasks.append((FULL, token_states(m.fit), token_states(m.eval), pooled))
    return tasks


def _contains(rep: str, k: int) -> list[str]:
    """The parts a representation contains (by construction) in the report's names."""
    pooled = [f"pooled:{g}" for g in POOLINGS]
    return {FULL: pooled, R: pooled + [pca_name(k)]}.get(rep, [])


def estimate_model_reps(m: ModelStates, y_fit: np.ndarray, y_eval: np.ndarray, how: Estimation, *, pca_k: int,
                        row_dim: int | None) -> dict[str, Any]:
    """Every representation of one model: ``{rep: MIResult}`` (probe: the containers nest their parts);
    ``how.estimator`` named."""
    nested = how.nests
    tasks = _tasks(m, pca_k, row_dim, with_full=how.nests_token_states and row_dim is None)
    out = {}
    for rep, zf, ze, parts in tasks:  # one call per input kind: token states and arrays differ in shape
        out[rep] = how.many([(zf, y_fit)], test=[(ze, y_eval)], contains=[parts] if nested and parts else None)[0]
    return out


def dpi_from_states(models: Sequence[ModelStates], how: Estimation | None = None, *, pca_k: int = 2,
                    row_dim: int | None = None, meta: dict[str, Any] | None = None,
                    pools: Pools | None = None) -> DPIReport:
    """Estimate every representation of every model, compare them pairwise and judge the results.

    ``how``: estimator, config, seed and device (default: the default estimator for the labels, seed 0)."""
    if not models:
        raise UserError("mi dpi needs at least one model")
    y_fit, y_eval = labels_array(models[0].fit.labels), labels_array(models[0].eval.labels)
    for m in models[1:]:
        if not (np.array_equal(m.fit.labels, models[0].fit.labels) and np.array_equal(m.eval.labels, models[0].eval.labels)):
            raise UserError(f"model {m.name!r} was extracted on different examples; every model must be read on "
                            "the same fit and evaluation pools (same dataset, splits, --max-samples, seed)")
    how = (how or Estimation()).named(y_eval)
    est, seed = how.estimator, how.seed
    results = {m.name: estimate_model_reps(m, y_fit, y_eval, how, pca_k=pca_k, row_dim=row_dim) for m in models}
    out = DPIReport(results, {m.name: m.method for m in models}, {m.name: m.pooling for m in models},
                    plugin_entropy(y_eval), pca_k, meta={**(meta or {}), "row_dim": row_dim, "estimator": est,
                                                         "nested_by_construction": how.nests, "r_row_k": ROW_K},
                    pools=pools.to_dict() if pools else {})
    if pools:
        out.flags += pools.warnings
    sizes = Counter(m.group for m in models if m.group)
    out.groups = {m.name: m.group for m in models if m.group and sizes[m.group] > 1}
    judge(out, seed=seed)
    out.conditional = within_conditional(out, seed=seed)
    return out


def within_conditional(rep: DPIReport, seed: int = 0) -> list[Any]:
    """(a) as conditional usable information: ``I_V(Y; container | part)``, what each container adds beyond
    each of its parts (Hewitt et al. 2021), from the two readings on the same examples (paired); each takes
    the verdict of the report's comparison of the same pair (the same paired difference)."""
    within = {(c.a, c.b): c for c in rep.comparisons if c.kind == "within"}
    out = []
    for name, reps, container, part in _within_pairs(rep):
        if getattr(reps[part], "pointwise", None) is None or getattr(reps[container], "pointwise", None) is None:
            continue
        cond = conditional_from_results(reps[container], reps[part], seed=seed, target_name=f"{name} {container}",
                                        given_name=part)
        pair = within.get((f"{name} {container}", f"{name} {part}"))
        if pair is not None:  # one verdict per pair: the comparison's, Holm-adjusted over the report
            cond.adopt_verdict(pair)
        out.append(cond)
    return out


def _within_pairs(rep: DPIReport):
    """``(model, its results, container, part)`` for every container of each model and each of its parts."""
    for name, reps in rep.results.items():
        for container in (FULL, R):
            for part in _contains(container, rep.pca_k):
                if container in reps and part in reps:
                    yield name, reps, container, part


# Every across comparison here is between two trained checkpoints: retraining the same methods on the same
# data and pools moved one such difference from -0.063 [-0.092, -0.035] to +0.007 [-0.020, +0.032] (the
# notes, lesson 9), so its interval, which covers the evaluation sampling only, says nothing of the method.
ONE_RUN = "one training run per method: this compares two checkpoints, not two methods"
NO_METHOD_VERDICT = ("No method verdict: each model here is one training run, and its interval covers which "
                     "evaluation examples were drawn, not which training run was drawn. A claim about a training "
                     "method needs several trained seeds per method (at least 3) and an interval over them.")


def comparisons(rep: DPIReport, seed: int = 0) -> list[Comparison]:
    """(a) every container against each of its parts; (b) the paper's pairs and the full states across models."""
    fam = [compare("within", f"{name} {container}", reps[container], f"{name} {part}", reps[part], seed=seed,
                   note="contains it") for name, reps, container, part in _within_pairs(rep)]
    across = rep.across()
    for i, (a, ra_name, ra) in enumerate(across):
        for b, rb_name, rb in across[i + 1:]:
            fam.append(compare("across", f"{a} {ra_name}", ra, f"{b} {rb_name}", rb, seed=seed, note=ONE_RUN))
    names = [n for n in rep.results if FULL in rep.results[n]]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            fam.append(compare("across", f"{a} {FULL}", rep.results[a][FULL], f"{b} {FULL}", rep.results[b][FULL],
                               seed=seed, note=ONE_RUN))
    return adjust(fam)


def judge(rep: DPIReport, seed: int = 0) -> None:
    """Fill ``rep.comparisons``, ``rep.flags`` and ``rep.verdicts`` with wording that does not overclaim."""
    for name, reps in rep.results.items():
        for key, res in reps.items():
            if rep.ceiling is not None and res.mi > rep.ceiling:
                rep.flags.append(f"{name} {key}: estimate {res.mi:.3f} is above the ceiling H(Y) = "
                                 f"{rep.ceiling:.3f} nats; that is estimator error, not information")
            if shown_below_zero(res):
                rep.flags.append(f"{name} {key}: {fmt_result(res)} is below 0 beyond its interval; usable "
                                 "information cannot be negative in expectation, so that is estimator error; "
                                 "read it as 'nothing detected'")
    rep.comparisons = comparisons(rep, seed)
    nested = rep.meta.get("nested_by_construction", True)
    why = ("the container holds every candidate of its part, so this is selection noise of the estimator"
           if nested else f"{rep.meta.get('estimator')} does not nest a container's estimate on its parts' "
           "(only probe does), so this is the estimator failing on the wider input")
    for c in rep.comparisons:
        if c.kind == "within" and c.verdict == "reads lower":
            rep.flags.append(f"{c.sentence()}; {why}, not a loss of information (the DPI rules that out)")
        rep.verdicts.append(("(a) " if c.kind == "within" else "(b) ") + c.sentence())
    over_seeds(rep)
    if rep.seed_comparisons:
        rep.verdicts += [f"(b) {c.sentence()}" for c in rep.seed_comparisons]
    if any(c.kind == "across" for c in rep.comparisons) and not rep.has_method_verdict:
        rep.verdicts.append(f"(b) {NO_METHOD_VERDICT}")


def over_seeds(rep: DPIReport) -> None:
    """Groups of seeds (``rep.groups``): each group's Figure-2 representation and full states over its seeds,
    and the across-group pairs as two-level differences with method verdicts (``measures.seeds``)."""
    members: dict[str, list[str]] = {}
    for name, group in rep.groups.items():
        members.setdefault(group, []).append(name)
    if not members:
        return
    values, paper = {}, {}
    for group, names in members.items():
        first = names[0]
        paper[group] = f"pooled:{rep.poolings[first]}" if rep.methods[first] == "predictor" else pca_name(rep.pca_k)
        for r in dict.fromkeys((paper[group], FULL)):
            if all(r in rep.results[n] for n in names):
                values[f"{group} {r}"] = per_seed_values([rep.results[n][r] for n in names])
    groups = list(members)
    pairs = [(f"{a} {ra}", f"{b} {rb}") for i, a in enumerate(groups) for b in groups[i + 1:]
             for ra, rb in ((paper[a], paper[b]), (FULL, FULL))
             if f"{a} {ra}" in values and f"{b} {rb}" in values]
    rep.seed_readings, rep.seed_comparisons = method_table(values, pairs)


def name_unfinished(rep: DPIReport, unfinished: dict[str, list[str]]) -> None:
    """Name the seed folders of each group that hold no finished checkpoint, and say how many seeds each
    group's mean stands on (``meta["unfinished_seeds"]``, and a line of the verdicts)."""
    missing = {g: v for g, v in unfinished.items() if v}
    if not rep.groups:
        return
    counts = Counter(rep.groups.values())
    rep.meta["unfinished_seeds"] = missing
    line = "; ".join(f"{g}: {n} seed{'s' if n != 1 else ''}" for g, n in counts.items())
    left = "; ".join(f"{Path(g).name}: {', '.join(v)}" for g, v in missing.items())
    rep.verdicts.append(f"Each mean over seeds stands on {line}" +
                        (f" (left out, no finished checkpoint: {left})" if left else ""))


def dpi_for(setting: Setting, *, pca_k: int = 2, estimator: str | None = None, row_dim: int | None = None,
            config: Any = None) -> DPIReport:
    """The DPI report of every model of ``setting``: its pools and states (:meth:`Setting.read`), every
    representation estimated, compared pairwise and judged; ``meta["setting"]`` records the setting. A
    setting built from references (:meth:`Setting.from_references`: folders of seeds, quoted globs) has its
    unfinished seeds named (:func:`name_unfinished`)."""
    reading = setting.read()
    meta = {"dataset": setting.dataset, "fit_split": setting.fit_split, "eval_split": setting.eval_split,
            "layer": setting.layer, "seed": setting.seed, "max_samples": setting.n_fit,
            "checkpoints": [str(p) for p in setting.models], "used": {m.name: m.eval.used for m in reading.models},
            "setting": setting.to_dict()}
    rep = dpi_from_states(reading.models, Estimation.of(setting, estimator, config), pca_k=pca_k, row_dim=row_dim,
                          meta=meta, pools=reading.pools)
    if setting.unfinished_ is not None:
        name_unfinished(rep, setting.unfinished_)
    return rep
