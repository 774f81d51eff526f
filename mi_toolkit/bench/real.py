"""``mi bench --real``: estimators on real-LM-state tasks with a known answer, beside a scikit-learn grid.

For every task of :func:`~mi_toolkit.bench.groundtruth_real.real_suite` this runs each
requested estimator (through :func:`mi_toolkit.api.estimate`) and, on the *same* ``K``
cross-fitting folds the ``probe`` engine uses, a grid of scikit-learn probes
(:data:`GRID`: ``PCA(k) -> StandardScaler -> LogisticRegressionCV`` for a few ``k``, and
``PCA(8) -> StandardScaler -> MLPClassifier``). Each grid probe is cross-fitted (fit on
``K - 1`` folds, scored on the last) and read as ``mean_i [log q(y_i|z_i) - log p(y_i)]``
with ``p`` the training folds' label frequencies; the best grid reading *in hindsight* is
reported (an optimistic baseline: the engine has to choose without seeing the scores).
Token windows reach the grid flattened to ``(N, W * d)``; the estimators get them as token states
``(N, W, d)``, as a user would pass them: ``probe`` reads them with its sequence candidates, and an
estimator that does not take token states flattens them in its input check (the row says which).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegressionCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mi_toolkit.bench.groundtruth_real import DEFAULT_MODEL, RealStates, RealTask, real_states, real_suite
from mi_toolkit.estimators.result import table_cells
from mi_toolkit.estimators.seqprobe import LOGREG_QUIET
from predgen_common.errors import UserError

FOLDS = 5
GRID_TIE = 0.005   # nats: a reading this close below the grid's best counts as reaching it


def _logreg(k: int, seed: int):
    return make_pipeline(PCA(k, random_state=seed), StandardScaler(),
                         LogisticRegressionCV(Cs=10, cv=3, scoring="neg_log_loss", max_iter=1000, **LOGREG_QUIET))


def _mlp(k: int, seed: int):
    return make_pipeline(PCA(k, random_state=seed), StandardScaler(),
                         MLPClassifier((64,), alpha=1e-3, early_stopping=True, max_iter=500, random_state=seed))


# name -> (head factory, PCA width k); k is clipped to the feature width
GRID: dict[str, tuple[Callable[[int, int], Any], int]] = {
    "pca8+logreg": (_logreg, 8),
    "pca32+logreg": (_logreg, 32),
    "pca128+logreg": (_logreg, 128),
    "pca8+mlp64": (_mlp, 8),
}


def splits_for(y: np.ndarray, seed: int, folds: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """The engine's own cross-fitting folds (so grid and engine score the same split)."""
    from mi_toolkit.estimators.probe import make_splits

    return make_splits(y, np.arange(len(y)), folds, seed)


def grid_readings(z: np.ndarray, y: np.ndarray, n_classes: int, splits: list, seed: int) -> dict[str, float]:
    """Cross-fitted reading (nats) of every :data:`GRID` probe on ``z (N, p)``, ``y (N,)`` codes."""
    z = z.reshape(len(z), -1)
    out = {}
    for name, (make, k) in GRID.items():
        pointwise = np.empty(len(y))
        for tr, sc in splits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLP convergence notes
                model = make(min(k, z.shape[1], len(tr) - 1), seed).fit(z[tr], y[tr])
            lp = np.full((len(sc), n_classes), -50.0)
            lp[:, model.classes_] = model.predict_log_proba(z[sc])
            prior = np.bincount(y[tr], minlength=n_classes) / len(tr)
            pointwise[sc] = np.maximum(lp[np.arange(len(sc)), y[sc]], -50.0) - np.log(prior[y[sc]])
        out[name] = float(pointwise.mean())
    return out


def engine(z: np.ndarray, y: np.ndarray, n_classes: int, seed: int, device: str) -> dict:
    """The ``probe`` engine called directly (token windows as :class:`TokenStates`, so the sequence
    candidates take part), cross-fitted on :func:`splits_for`'s folds."""
    import torch

    from mi_toolkit.estimators.probe import ProbeConfig, interval, run_probe
    from mi_toolkit.estimators.views import as_input
    from mi_toolkit.validate import resolve_device

    cfg = ProbeConfig(folds=FOLDS)
    t0 = time.perf_counter()
    out = run_probe({"": as_input(z)}, y, n_classes, cfg, seed, torch.device(resolve_device(device)))
    mi, lo, hi, _, note = interval(out, cfg.n_bootstrap, seed, cfg.folds)
    return {"estimator": "probe (engine, direct)", "mi": mi, "ci_low": lo, "ci_high": hi,
            "seconds": time.perf_counter() - t0, "chosen": out.chosen, "per_fold": out.per_fold,
            "interval_method": note, "input": "tokens" if z.ndim == 3 else "array"}


def via_api(name: str | None) -> Callable[..., dict]:
    """An estimator through :func:`mi_toolkit.api.estimate`, token windows passed as token states."""
    def run(z: np.ndarray, y: np.ndarray, n_classes: int, seed: int, device: str) -> dict:
        from mi_toolkit.api import estimate

        d = estimate(z, y, name, seed=seed, device=device).to_dict()
        keep = {k: d[k] for k in ("estimator", "mi", "ci_low", "ci_high", "seconds", "interval_method") if k in d}
        return {**keep, "chosen": d.get("chosen"), "input": _input_form(z, d)}
    return run


def _input_form(z: np.ndarray, result: dict) -> str:
    """How the estimator read the task's input: an array, token states (its config reads them with the
    sequence probe's candidates), or token states flattened by the estimator's input check."""
    if z.ndim != 3:
        return "array"
    return "tokens" if result.get("config", {}).get("sequence") else "flattened"


# "engine" runs the probe engine on the task's own input form; any other name goes through the API
RUNNERS: dict[str, Callable[..., dict]] = {"engine": engine}


def run_real(tasks: list[RealTask], estimators: list[str | None], states: RealStates, *, seed: int = 0,
             device: str = "auto", on_result: Callable[[dict], None] | None = None) -> dict:
    """Rows (one per task x estimator, plus the grid) and a per-estimator summary."""
    rows = []
    for task in tasks:
        z, y, truth = task.make(states)
        base = {"task": task.name, "form": task.form, "label": task.label, "classes": task.n_classes,
                "eps": task.eps, "n": len(y), "truth": truth}
        t0 = time.perf_counter()
        grid = grid_readings(z, y, task.n_classes, splits_for(y, seed), seed)
        best = max(grid, key=grid.get)
        grid_row = {**base, "requested": "sklearn-grid", "estimator": f"best of grid ({best})", "mi": grid[best],
                    "grid": grid, "seconds": time.perf_counter() - t0, "input": "flattened" if z.ndim == 3 else "array"}
        rows.append(grid_row)
        if on_result:
            on_result(grid_row)
        for name in estimators:
            d = RUNNERS.get(name or "", via_api(name))(z, y, task.n_classes, seed, device)
            row = {**base, "requested": name or "default", "grid_best": grid[best], "vs_grid": d["mi"] - grid[best],
                   **d}
            rows.append(row)
            if on_result:
                on_result(row)
    return {"rows": rows, "summary": summarise_real(rows), "states": states.meta, "seed": seed, "folds": FOLDS}


def summarise_real(rows: list[dict]) -> dict:
    """Per estimator: tasks at or above the best grid probe (within :data:`GRID_TIE`), mean gap to it,
    share of the truth recovered, worst |MI| on null tasks."""
    out = {}
    for name in dict.fromkeys(r["requested"] for r in rows if r["requested"] != "sklearn-grid"):
        mine = [r for r in rows if r["requested"] == name]
        signal = [r for r in mine if r["truth"] > 0]
        null = [abs(r["mi"]) for r in mine if r["truth"] == 0]
        out[name] = {
            "tasks": len(mine),
            "at_or_above_grid": int(sum(r["vs_grid"] >= -GRID_TIE for r in mine)),
            "mean_vs_grid": float(np.mean([r["vs_grid"] for r in mine])),
            "mean_share_of_truth": float(np.mean([r["mi"] / r["truth"] for r in signal])) if signal else None,
            "max_abs_null": max(null) if null else None,
        }
    return out


def resolve_estimators(spec: str) -> list[str | None]:
    """``--estimators`` for the real suite: ``default`` = the probe engine and the API's discrete default."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    out: list[str | None] = []
    for s in names:
        out += ["engine", None] if s == "default" else [s]
    if not out:
        raise UserError("--estimators is empty; pass e.g. --estimators engine,classifier")
    return list(dict.fromkeys(out))   # "engine,default" names the engine twice: run it once


def main(quick: bool, estimators: str, seed: int, device: str, json_out: Path | None,
         model: str = DEFAULT_MODEL) -> dict:
    """``mi bench --real``: load (or extract, once) the states, run, print a table, write JSON."""
    from predgen_common.io import write_results_json
    from predgen_common.progress import Phase

    names = resolve_estimators(estimators)
    states = real_states(model)
    tasks = real_suite(quick)
    with Phase("mi bench --real", total=len(tasks) * (len(names) + 1), unit="estimates") as progress:
        out = run_real(tasks, names, states, seed=seed, device=device, on_result=lambda row: progress.step())
    print_real(out)
    if json_out is not None:
        write_results_json(json_out, {"quick": quick, **out})  # no absolute machine paths
    return out


def print_real(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="mi bench --real: real LM states, known I(Y; Z) (nats)")
    for col in ("task", "truth", "estimator", "estimate", "95% CI", "vs grid", "chosen", "s"):
        table.add_column(col, justify="left" if col in ("task", "estimator", "chosen") else "right")
    for r in out["rows"]:
        shown, ci = table_cells(r["mi"], r.get("ci_low"), r.get("ci_high"))
        gap = f"{r['vs_grid']:+.3f}" if "vs_grid" in r else ""
        table.add_row(r["task"], f"{r['truth']:.3f}", r["estimator"], shown, ci, gap,
                      str(r.get("chosen") or ""), f"{r['seconds']:.1f}")
    console = Console()
    console.print(table)
    for name, s in out["summary"].items():
        share = "n/a" if s["mean_share_of_truth"] is None else f"{s['mean_share_of_truth']:.0%}"
        null = "n/a" if s["max_abs_null"] is None else f"{s['max_abs_null']:.3f}"
        console.print(f"{name}: at or above the best grid probe on {s['at_or_above_grid']}/{s['tasks']} tasks "
                      f"(mean gap {s['mean_vs_grid']:+.3f}), {share} of the truth on average, "
                      f"max |MI| on null tasks {null}")
