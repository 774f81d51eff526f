"""The DPI report: (a) across methods, (b) within each model, (c) the ceiling H(Y).

(a) Across methods (the paper's Figure 2): the Predictor's I(Y; Zp) (its own pooling)
    against the Generator's and PredGen's I(Y; Z_r), Z_r = token-axis PCA_k of the
    full states. These are different models: the DPI does not order them; the
    comparison is empirical.
(b) Within each model (Theorem 1): I(Y; R) against I(Y; g(Z)) for g = first, mean,
    last, where R = [PCA_k(Z); first; mean; last] keeps every g(Z) as a function of
    it, so the DPI guarantees I(Y; R) >= I(Y; g(Z)) for the true MI. A pooled estimate
    above R's beyond the intervals is therefore estimator error and is flagged.
    I(Y; PCA_k(Z)) is shown too; the DPI bounds it and each g(Z) by I(Y; Z) but does
    not order the two against each other.
(c) The ceiling: plug-in H(Y) on the evaluation split bounds every I(Y; .) for a
    discrete label; an estimate above it is flagged as estimator error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_core.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.measures.estimate import estimate_split
from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates, extract
from mi_toolkit.states.pca import reduce_rows, token_pca_all
from mi_toolkit.states.representations import labels_array, plugin_entropy, pooled_rows

PAPER_ORDER = ("predictor", "generator", "predgen")


@dataclass
class ModelStates:
    """One model's states on the fit and evaluation splits."""

    name: str
    method: str
    fit: HiddenStates
    eval: HiddenStates
    pooling: str = "last"


@dataclass
class DPIReport:
    """Estimates per model and representation, flags and verdicts (all JSON-ready via ``to_dict``)."""

    results: dict[str, dict[str, Any]]
    methods: dict[str, str]
    poolings: dict[str, str]
    ceiling: float | None
    pca_k: int
    flags: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def across(self) -> list[tuple[str, str, Any]]:
        """(model, representation, result) for part (a)."""
        rows = []
        for name, method in self.methods.items():
            rep = f"pooled:{self.poolings[name]}" if method == "predictor" else "full"
            rows.append((name, rep, self.results[name][rep]))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "across_methods": [{"model": m, "method": self.methods[m], "representation": rep, **r.to_dict()}
                               for m, rep, r in self.across()],
            "within_model": {m: {rep: r.to_dict() for rep, r in reps.items()} for m, reps in self.results.items()},
            "ceiling": self.ceiling, "pca_k": self.pca_k, "flags": self.flags, "verdicts": self.verdicts,
            "meta": self.meta,
        }


def _reps(fit: HiddenStates, ev: HiddenStates, k: int, row_dim: int | None) -> tuple[dict, dict]:
    """Every representation on both splits, from the rows R = [PCA_k(Z); first; mean; last] ``(N, k+3, d)``.

    With ``row_dim`` each row is reduced by a per-row PCA fitted on the fit split, so
    every representation stays a sub-array of the (reduced) R and the nestings hold.
    """
    rows_f, rows_e = reduce_rows(*(np.concatenate([token_pca_all(s.iter_full(), [k])[k], pooled_rows(s)], axis=1)
                                   for s in (fit, ev)), row_dim)
    out = []
    for rows in (rows_f, rows_e):
        reps = {"full": np.ascontiguousarray(rows[:, :k]), "full+pooled": rows}
        reps.update({f"pooled:{g}": np.ascontiguousarray(rows[:, k + j]) for j, g in enumerate(POOLINGS)})
        out.append(reps)
    return out[0], out[1]


def dpi_from_states(models: Sequence[ModelStates], *, pca_k: int = 2, estimator: str | None = None,
                    seed: int = 0, device: str = "auto", config: Any = None,
                    meta: dict[str, Any] | None = None, row_dim: int | None = None) -> DPIReport:
    """Estimate every representation of every model as one batched job and judge the results."""
    if not models:
        raise UserError("mi dpi needs at least one model")
    y_fit, y_eval = labels_array(models[0].fit.labels), labels_array(models[0].eval.labels)
    for m in models[1:]:
        if not (np.array_equal(m.fit.labels, models[0].fit.labels) and np.array_equal(m.eval.labels, models[0].eval.labels)):
            raise UserError(f"model {m.name!r} was extracted on different examples; use the same dataset, splits and --max-samples")
    tasks, keys = [], []
    for m in models:
        fit, ev = _reps(m.fit, m.eval, pca_k, row_dim)
        for rep in fit:
            tasks.append((fit[rep], y_fit, ev[rep], y_eval))
            keys.append((m.name, rep))
    estimates = estimate_split(tasks, estimator, seed=seed, device=device, config=config)
    results: dict[str, dict[str, Any]] = {m.name: {} for m in models}
    for (name, rep), res in zip(keys, estimates):
        results[name][rep] = res
    out = DPIReport(results, {m.name: m.method for m in models}, {m.name: m.pooling for m in models},
                    plugin_entropy(y_eval), pca_k, meta={**(meta or {}), "row_dim": row_dim})
    judge(out)
    return out


def _above(a: Any, b: Any) -> bool:
    """``a`` exceeds ``b`` beyond the intervals."""
    return a.ci_low > b.ci_high


def judge(rep: DPIReport) -> None:
    """Fill ``rep.flags`` and ``rep.verdicts`` with wording that does not overclaim."""
    for name, reps in rep.results.items():
        for key, res in reps.items():
            if rep.ceiling is not None and res.mi > rep.ceiling:
                rep.flags.append(f"{name} {key}: estimate {res.mi:.3f} is above the ceiling H(Y) = "
                                 f"{rep.ceiling:.3f} nats; that is estimator error, not information")
            if res.below_zero:
                rep.flags.append(f"{name} {key}: estimate {fmt_result(res)} is below 0 beyond its "
                                 "interval; MI cannot be negative, so that is estimator error (too few "
                                 "examples for this input width); read it as 'nothing detected'")
        for g in POOLINGS:
            pooled, full = reps[f"pooled:{g}"], reps["full+pooled"]
            if _above(pooled, full):
                rep.flags.append(f"{name}: I(Y; {g}) {fmt_result(pooled)} exceeds I(Y; R) "
                                 f"{fmt_result(full)} beyond the intervals although {g}(Z) is a function "
                                 "of R; the DPI rules this out for the true MI, so it is estimator error")
            elif _above(pooled, reps["full"]):
                rep.verdicts.append(f"{name}: I(Y; {g}) is above I(Y; PCA_{rep.pca_k}(Z)) beyond the intervals: "
                                    "this PCA drops label information the pooled state keeps (the DPI does not "
                                    "order these two)")
    rows = rep.across()
    for i, (a, _, ra) in enumerate(rows):
        for b, _, rb in rows[i + 1:]:
            if _above(ra, rb) or _above(rb, ra):
                hi, lo = (a, b) if ra.mi > rb.mi else (b, a)
                # Both numbers are lower-bound estimates: a gap shows what the critic could
                # read out, not that the lower one's representation holds less.
                rep.verdicts.append(f"(a) {hi}'s estimate is above {lo}'s beyond the intervals: at least this much "
                                    f"more label information is recoverable from {hi}'s representation by this "
                                    f"estimator; {lo}'s true MI may still be higher (lower bounds)")
            else:
                rep.verdicts.append(f"(a) {a} vs {b}: the intervals overlap; these estimates do not order them")
    order = [m for m in PAPER_ORDER if m in rep.methods.values()]
    if len(order) > 1:
        by_method = {rep.methods[n]: r.mi for n, _, r in rows}
        held = all(by_method[x] <= by_method[y] for x, y in zip(order, order[1:]))
        rep.verdicts.append("point estimates " + ("follow" if held else "do not follow")
                            + " the paper's ordering " + " <= ".join(order))


def dpi_report(checkpoints: Sequence[str | Path], dataset: str, *, fit_split: str = "train",
               eval_split: str = "validation", layer: int = -1, data_dir: str | None = None,
               max_samples: int | None = None, pca_k: int = 2, estimator: str | None = None, seed: int = 0,
               device: str = "auto", progress: bool = True, row_dim: int | None = None) -> DPIReport:
    """Extract (cached) states of each checkpoint and build the report."""
    models, names = [], set()
    for path in checkpoints:
        loaded = ck.describe(path)
        common = dict(data_dir=data_dir, max_samples=max_samples, seed=seed, progress=progress)
        name = ck.method_name(loaded) if ck.method_name(loaded) not in names else Path(path).name
        names.add(name)
        models.append(ModelStates(name, ck.method_name(loaded), extract(path, dataset, fit_split, layer, **common),
                                  extract(path, dataset, eval_split, layer, **common), loaded.pooling))
    meta = {"dataset": dataset, "fit_split": fit_split, "eval_split": eval_split, "layer": layer,
            "max_samples": max_samples, "checkpoints": [str(p) for p in checkpoints],
            "used": {m.name: m.eval.used for m in models}}
    return dpi_from_states(models, pca_k=pca_k, estimator=estimator, seed=seed, device=device, meta=meta,
                           row_dim=row_dim)
