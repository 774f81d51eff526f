"""Continuous targets on real LM states with an exact answer: ``mi bench --suite real-continuous``.

The states are those of ``mi bench --real`` (:func:`~mi_toolkit.bench.groundtruth_real.real_states`: SmolLM2
last-layer states of 2,500 sentences, the last token ``(N, d)`` and the first 10 tokens ``(N, W, d)``). Each
task makes a scalar ``f(Z)`` from the states, standardises it over the ``N`` sentences, and adds Gaussian
noise: ``Y = f(Z) + sigma * e``. With ``Z`` uniform over the ``N`` sentences (the population, as in the
discrete real-state tasks), ``Y`` is a mixture of ``N`` Gaussians of width ``sigma`` and

    I(Z; Y) = h(Y) - h(Y | Z),     h(Y | Z) = 0.5 * ln(2 pi e sigma^2),

with ``h(Y)`` a one-dimensional integral of the mixture density, computed by quadrature
(:func:`mixture_truth`; Simpson's rule on a grid of ``sigma / 40``, in log space). The targets
(:data:`TARGETS`): a random linear read-out of the raw state, ``sin`` of the top principal score, the absolute
value of the second principal score (even in it: lesson 2 of the probing notes), a linear read-out of one token
position's state in the window, and pure noise (truth 0).

:func:`run_continuous_real` returns rows (one per task and estimator: the reading, its interval, whether it is a
bound, the critic estimate beside it, the share of the truth, the gap to the grid) and a per-estimator summary;
nothing is printed here (:func:`show_continuous_real`). Each task's first row is a scikit-learn baseline
(:mod:`mi_toolkit.bench.continuous_grid`: discretised-regression probes on raw principal components), its best
reading chosen after seeing the scores: an optimistic baseline, as in ``mi bench --real``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.integrate import simpson
from scipy.special import logsumexp

from mi_toolkit.bench.bmi import NOT_RUN
from mi_toolkit.bench.continuous_grid import NOTE, best_of, grid_by_bins
from mi_toolkit.bench.groundtruth_real import RealStates, _pc_scores
from mi_toolkit.bench.real import GRID_TIE
from predgen_common.errors import UserError
from predgen_common.registry import Registry

SIGMA = 0.5        # noise sd against a standardised f: about 0.7-0.8 nats for these targets
GRID_STEP = 40     # quadrature points per sigma

Target = Callable[[RealStates, np.random.Generator], np.ndarray]
TARGETS: Registry[Target] = Registry("continuous real-state target")


def _last(states: RealStates) -> np.ndarray:
    return states.last.astype(np.float64)


def _linear(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``w . (z - mean)``, ``w`` a seeded Gaussian direction in the raw state space."""
    return (z - z.mean(0)) @ rng.standard_normal(z.shape[1])


TARGETS.register("linear")(lambda s, rng: _linear(_last(s), rng))
TARGETS.register("sin-pc1")(lambda s, rng: np.sin(2.0 * _pc_scores(_last(s), 1)[:, 0]))
TARGETS.register("abs-pc2")(lambda s, rng: np.abs(_pc_scores(_last(s), 2)[:, 1]))
TARGETS.register("position")(lambda s, rng: _linear(s.window[:, 3].astype(np.float64), rng))
TARGETS.register("null")(lambda s, rng: np.zeros(len(s.last)))


def mixture_truth(f: np.ndarray, sigma: float) -> float:
    """Exact ``I(Z; Y)`` (nats) for ``Y = f(Z) + sigma * e``, ``Z`` uniform over the rows of ``f (N,)``.

    ``h(Y) = -int p log p`` with ``p(y) = mean_i N(y; f_i, sigma^2)``, integrated by Simpson's rule over
    ``[min f - 9 sigma, max f + 9 sigma]`` at ``sigma / 40`` spacing (the tails beyond carry below 1e-18 of the
    mass). A constant ``f`` gives exactly 0."""
    f = np.asarray(f, dtype=np.float64).ravel()
    if sigma <= 0 or not np.all(np.isfinite(f)):
        raise UserError("mixture_truth needs a finite f and sigma > 0")
    if np.ptp(f) == 0:
        return 0.0
    grid = np.arange(f.min() - 9 * sigma, f.max() + 9 * sigma, sigma / GRID_STEP)
    log_p = np.empty(len(grid))
    for lo in range(0, len(grid), 2048):   # (2048, N) blocks keep the memory small
        g = grid[lo: lo + 2048, None]
        log_p[lo: lo + 2048] = logsumexp(-0.5 * ((g - f[None, :]) / sigma) ** 2, axis=1) - np.log(len(f))
    log_p -= np.log(sigma * np.sqrt(2 * np.pi))
    h_y = -simpson(np.exp(log_p) * log_p, x=grid)
    return float(h_y - 0.5 * np.log(2 * np.pi * np.e * sigma ** 2))


@dataclass(frozen=True)
class ContinuousRealTask:
    """``Y = standardised f(Z) + sigma * e`` for the target ``label`` (:data:`TARGETS`); ``form`` is the input
    the estimator gets: ``last`` (``(N, d)``) or ``window`` (``(N, W, d)`` token states)."""

    name: str
    form: str
    label: str
    sigma: float = SIGMA
    seed: int = 0

    def make(self, states: RealStates) -> tuple[np.ndarray, np.ndarray, float]:
        """``(Z, Y, truth)``: ``Z`` float32, ``Y`` float64 ``(N,)``, the exact truth in nats."""
        rng = np.random.default_rng(20_000 + self.seed)
        f = TARGETS.get(self.label)(states, rng)
        if np.ptp(f) > 0:
            f = (f - f.mean()) / f.std()
        y = f + self.sigma * rng.standard_normal(len(f))
        z = (states.last if self.form == "last" else states.window).astype(np.float32)
        return z, y, mixture_truth(f, self.sigma)


def continuous_suite(quick: bool = False) -> list[ContinuousRealTask]:
    """The tasks; ``quick`` keeps the two nonlinear ones and the null."""
    tasks = [ContinuousRealTask("last-linear", "last", "linear"),
             ContinuousRealTask("last-sin-pc1", "last", "sin-pc1"),
             ContinuousRealTask("last-abs-pc2", "last", "abs-pc2"),
             ContinuousRealTask("window-pos3-linear", "window", "position"),
             ContinuousRealTask("last-null", "last", "null")]
    keep = {"last-sin-pc1", "last-abs-pc2", "last-null"}
    return [t for t in tasks if not quick or t.name in keep]


def reading_row(task: ContinuousRealTask, truth: float, requested: str, d: dict[str, Any]) -> dict[str, Any]:
    """One row: the reading against the truth, and the critic estimate beside a bound."""
    est = d.get("estimate") or {}
    return {"task": task.name, "form": task.form, "target": task.label, "sigma": task.sigma, "truth": truth,
            "requested": requested, "estimator": d["estimator"], "n": d.get("n"), "mi": d["mi"],
            "ci_low": d.get("ci_low"), "ci_high": d.get("ci_high"), "detected": d.get("detected"),
            "is_bound": d.get("is_bound"), "chosen": d.get("chosen"), "seconds": d["seconds"],
            "share_of_truth": d["mi"] / truth if truth > 0 else None, "above_truth": d["mi"] - truth,
            "estimate": {k: est.get(k) for k in ("estimator", "label", "mi", "ci_low", "ci_high")} if est else None,
            "estimate_skipped": (d.get("config") or {}).get("estimate_skipped")}


def grid_row(task: ContinuousRealTask, z: np.ndarray, y: np.ndarray, truth: float, seed: int) -> dict[str, Any]:
    """The grid's row: its best entry and bin count (chosen on the scores), every entry's best reading."""
    t0 = time.perf_counter()
    by_bins = grid_by_bins(z, y, seed)
    name, bins, mi = best_of(by_bins)
    d = {"estimator": f"best of grid ({name})", "mi": mi, "n": len(y), "chosen": f"{name}, {bins} bins",
         "seconds": time.perf_counter() - t0}
    return {**reading_row(task, truth, "sklearn-grid", d), "note": NOTE,
            "grid": {k: max(v.values()) for k, v in by_bins.items()}, "grid_by_bins": by_bins,
            "input": "flattened" if z.ndim == 3 else "array"}


def run_continuous_real(tasks: list[ContinuousRealTask], estimators: list[str | None], states: RealStates, *,
                        seed: int = 0, device: str = "auto",
                        on_result: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Per task the scikit-learn grid's row (:func:`grid_row`), then every estimator (``None``: the API's
    default for a float target) through :func:`mi_toolkit.api.estimate` with token windows as token states,
    each beside the grid's best (``grid_best``, ``vs_grid`` = reading minus it)."""
    from mi_toolkit.api import estimate

    rows = []
    for task in tasks:
        z, y, truth = task.make(states)
        rows.append(grid_row(task, z, y, truth, seed))
        if on_result:
            on_result(rows[-1])
        best = rows[-1]["mi"]
        for name in estimators:
            t0 = time.perf_counter()
            d = estimate(z, y, name, seed=seed, device=device).to_dict()
            d.setdefault("seconds", time.perf_counter() - t0)
            d["n"] = len(y)
            row = reading_row(task, truth, name or "default", d)
            rows.append({**row, "grid_best": best, "vs_grid": d["mi"] - best})
            if on_result:
                on_result(rows[-1])
    return {"rows": rows, "summary": summarise(rows), "states": states.meta, "seed": seed, "sigma": SIGMA}


def run_suite(opts: Any) -> dict[str, Any]:
    """``mi bench --suite real-continuous``: the cached states of ``mi bench --real`` (extracted once), the
    first ``opts.n`` sentences where that is fewer (the truth is exact for whichever rows are used)."""
    from mi_toolkit.bench import groundtruth_real
    from predgen_common.progress import Phase

    states = groundtruth_real.real_states()
    if opts.n < len(states.last):
        states = RealStates(states.last[: opts.n], states.window[: opts.n], {**states.meta, "rows_used": opts.n})
    tasks = continuous_suite(opts.quick)
    total = len(tasks) * (len(opts.estimators) + 1)   # the grid's row and every estimator's, per task
    with Phase("mi bench --suite real-continuous", total=total, unit="estimates") as bar:
        out = run_continuous_real(tasks, opts.estimators, states, seed=opts.seed, device=opts.device,
                                  on_result=lambda row: bar.step())
    listed = ",".join(e or "default" for e in opts.estimators)
    command = (f"OMP_NUM_THREADS=1 mi bench --suite real-continuous --estimators {listed} --n {opts.n} "
               f"--seed {opts.seed}" + (f" --device {opts.device}" if opts.device != "auto" else "")
               + (" --quick" if opts.quick else ""))
    return {"suite": "real-continuous", "command": command, **out}


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per estimator: the mean share of the truth over the signal tasks, the largest excess over the truth
    (any task), the median seconds, and (beside the grid) the signal tasks where it reads at or above the
    grid's best (within :data:`GRID_TIE`) and its mean gap to it there."""
    out = {}
    for name in dict.fromkeys(r["requested"] for r in rows):
        mine = [r for r in rows if r["requested"] == name]
        signal = [r for r in mine if r["truth"] > 0]
        out[name] = {"tasks": len(mine),
                     "mean_share_of_truth": float(np.mean([r["share_of_truth"] for r in signal])) if signal else None,
                     "min_share_of_truth": float(min(r["share_of_truth"] for r in signal)) if signal else None,
                     "max_above_truth": float(max(r["above_truth"] for r in mine)),
                     "above_truth": [r["task"] for r in mine if r["above_truth"] > 0],
                     "median_seconds": float(np.median([r["seconds"] for r in mine])),
                     **_vs_grid([r for r in signal if "vs_grid" in r])}
    return out


def _vs_grid(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The signal tasks at or above the grid's best and the mean gap to it (empty for the grid's own row)."""
    if not rows:
        return {}
    return {"grid_tasks": len(rows), "at_or_above_grid": int(sum(r["vs_grid"] >= -GRID_TIE for r in rows)),
            "mean_vs_grid": float(np.mean([r["vs_grid"] for r in rows]))}


def show_continuous_real(out: dict[str, Any]) -> None:
    """The console table and one summary line per estimator."""
    from rich.console import Console
    from rich.table import Table

    from mi_toolkit.estimators.result import table_cells

    table = Table(title="mi bench --suite real-continuous: Y = f(Z) + noise on real LM states (nats)")
    for col in ("task", "truth", "estimator", "reading", "95% CI", "share", "grid best", "estimate (not a bound)",
                "s"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    for r in out["rows"]:
        shown, ci = table_cells(r["mi"], r.get("ci_low"), r.get("ci_high"))
        share = "" if r["share_of_truth"] is None else f"{r['share_of_truth']:.0%}"
        est = r.get("estimate")
        grid = "" if "grid_best" not in r else f"{r['grid_best']:.3f} ({r['vs_grid']:+.3f})"
        table.add_row(r["task"], f"{r['truth']:.3f}", r["estimator"], shown, ci, share, grid,
                      f"{est['mi']:.3f}" if est and est.get("mi") is not None
                      else NOT_RUN if r.get("estimate_skipped") else "", f"{r['seconds']:.1f}")
    console = Console()
    console.print(table)
    for name, s in out["summary"].items():
        share = "n/a" if s["mean_share_of_truth"] is None else f"{s['mean_share_of_truth']:.0%}"
        above = ", ".join(s["above_truth"]) or "none"
        console.print(f"{name}: {share} of the truth on average (lowest {s['min_share_of_truth']:.0%}), "
                      f"largest excess over the truth {s['max_above_truth']:+.3f} (above it: {above}), "
                      f"median {s['median_seconds']:.1f} s per task"
                      + (f"; {NOTE}" if name == "sklearn-grid" else "")
                      + (f"; at or above the grid best on {s['at_or_above_grid']}/{s['grid_tasks']} signal tasks "
                         f"(mean gap {s['mean_vs_grid']:+.3f})" if "grid_tasks" in s else ""))
