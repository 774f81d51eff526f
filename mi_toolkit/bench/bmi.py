"""The bmi v1 tasks (``mi bench --suite bmi``): the field's benchmark, written from its published definitions.

Czyż, Grabowski, Vogt, Beerenwinkel & Marx (2023), "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023 (arXiv:2306.11078). Its Python package (``benchmark-mi``)
needs jax < 0.5, tensorflow-probability and numpy < 2, so it cannot be an optional extra here; the
40 tasks of its version-1 list are re-implemented in numpy with the same names and parameters:

* bivariate normal (correlation 0.75) and its uniform margins (normal CDF), uniform additive noise
  (``epsilon`` 0.1 and 0.75), bimodal margins, wiggly and half-cube margins, Student-t 1 x 1, its
  asinh, and the Swiss roll embedding of the uniform task (X two-dimensional);
* multinormal *dense* (all correlations 0.5; 2, 3, 5, 25, 50 dimensions each) and *2-pair* (the
  sparse latent-variable model: two strongly interacting pairs, strength 2; 2, 3, 5, 25);
* Student-t with identity dispersion (information only in the shared scale; 1 to 3 d.o.f.);
* normal-CDF, half-cube and spiral transforms of the 2-pair tasks, spiral of normal-CDF, and asinh of
  Student-t.

Ground truth: Gaussian tasks in closed form (``1/2 log(det S_xx det S_yy / det S)``); Student-t the
Gaussian term of its dispersion plus the entropy terms of Arellano-Valle, Contreras-Reyes & Genton
(2013); additive uniform noise the known formula; every transform is invertible (an embedding for the
Swiss roll), so the base task's value holds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.special import digamma, gammaln, ndtr

# the table's cell where the estimate beside a bound was not run (the row's ``estimate_skipped`` says why)
NOT_RUN = "not run (linear lead)"

Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BmiTask:
    """One task: ``sample(n, seed) -> (X (n, dim_x), Y (n, dim_y))`` and its true ``I(X; Y)`` in nats."""

    name: str
    dim_x: int
    dim_y: int
    draw: Sampler
    truth: float

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.draw(n, np.random.default_rng(seed))
        return x.reshape(n, -1), y.reshape(n, -1)


def gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    """``I(X; Y)`` of a joint Gaussian with covariance ``cov ((dx + dy), (dx + dy))``, X the first ``dim_x``."""
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return float(0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov)))


def _student_term(k: int, df: float) -> float:
    """The part of a ``k``-dim Student-t entropy that depends on ``df`` beyond the Gaussian's
    ``1/2 log det`` and the ``k/2 log(df pi)`` (which cancel in I(X; Y))."""
    h = 0.5 * (df + k)
    return float(gammaln(0.5 * df) - gammaln(h) + h * (digamma(h) - digamma(0.5 * df)))


def student_mi(dispersion: np.ndarray, dim_x: int, df: float) -> float:
    """``I(X; Y)`` of a multivariate Student-t: the Gaussian term of its dispersion plus the d.o.f. term."""
    dim_y = len(dispersion) - dim_x
    extra = _student_term(dim_x, df) + _student_term(dim_y, df) - _student_term(dim_x + dim_y, df)
    return gaussian_mi(dispersion, dim_x) + extra


def dense_cov(dim_x: int, dim_y: int, off_diag: float = 0.5) -> np.ndarray:
    """All correlations ``off_diag`` (bmi's "dense")."""
    return np.eye(dim_x + dim_y) * (1 - off_diag) + off_diag


def two_pair_cov(dim_x: int, dim_y: int, strength: float = 2.0, pairs: int = 2) -> np.ndarray:
    """bmi's sparse latent-variable model (alpha = beta = 0, lambda = eta = ``strength``, unit noise):
    ``X_i`` and ``Y_i`` share a latent of weight ``strength`` for ``i < pairs``; the other coordinates
    get a private latent of the same weight; returned as a correlation matrix."""
    n = dim_x + dim_y
    cov = np.eye(n) * (1.0 + strength ** 2)
    for i in range(pairs):
        cov[i, dim_x + i] = cov[dim_x + i, i] = strength ** 2
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def _normal(cov: np.ndarray, dim_x: int) -> Sampler:
    chol = np.linalg.cholesky(cov)

    def draw(n, rng):
        v = rng.standard_normal((n, len(cov))) @ chol.T
        return v[:, :dim_x], v[:, dim_x:]
    return draw


def _student(dispersion: np.ndarray, dim_x: int, df: float) -> Sampler:
    gauss = _normal(dispersion, dim_x)

    def draw(n, rng):
        x, y = gauss(n, rng)
        scale = np.sqrt(df / rng.chisquare(df, n))[:, None]
        return x * scale, y * scale
    return draw


def _additive(epsilon: float) -> Sampler:
    def draw(n, rng):
        x = rng.uniform(0.0, 1.0, (n, 1))
        return x, x + rng.uniform(-epsilon, epsilon, (n, 1))
    return draw


def additive_mi(epsilon: float) -> float:
    """``I(X; X + N)``, ``X ~ U(0, 1)``, ``N ~ U(-epsilon, epsilon)``."""
    return 0.25 / epsilon if epsilon > 0.5 else epsilon - math.log(2 * epsilon)


def _mapped(base: Sampler, fx: Transform | None, fy: Transform | None) -> Sampler:
    def draw(n, rng):
        x, y = base(n, rng)
        return (x if fx is None else fx(x)), (y if fy is None else fy(y))
    return draw


def half_cube(v: np.ndarray) -> np.ndarray:
    return v * np.sqrt(np.abs(v))


def wiggly_x(v: np.ndarray) -> np.ndarray:
    return v + 0.4 * np.sin(v) + 0.2 * np.sin(1.7 * v + 1) + 0.03 * np.sin(3.3 * v - 2.5)


def wiggly_y(v: np.ndarray) -> np.ndarray:
    return v - 0.4 * np.sin(0.4 * v) + 0.17 * np.sin(1.3 * v + 3.5) + 0.02 * np.sin(4.3 * v - 2.5)


def spiral(i: int, j: int, speed: float) -> Transform:
    """``v -> exp(speed ||v||^2 A) v``, ``A`` the generator of rotations in the ``(i, j)`` plane: a
    rotation of that plane by an angle growing with the squared norm (invertible: the norm is kept)."""
    def apply(v: np.ndarray) -> np.ndarray:
        angle = speed * (v ** 2).sum(1)
        out = v.copy()
        c, s = np.cos(angle), np.sin(angle)
        out[:, i], out[:, j] = c * v[:, i] - s * v[:, j], s * v[:, i] + c * v[:, j]
        return out
    return apply


def mixture_quantile(weights: tuple[float, ...], means: tuple[float, ...]) -> Transform:
    """The quantile function of a unit-variance Gaussian mixture (bisection on its CDF), for ``u`` in (0, 1)."""
    w, m = np.asarray(weights), np.asarray(means)

    def apply(u: np.ndarray) -> np.ndarray:
        lo, hi = np.full(u.shape, m.min() - 12.0), np.full(u.shape, m.max() + 12.0)
        for _ in range(60):  # 24 / 2^60: far below float resolution
            mid = 0.5 * (lo + hi)
            below = (w * ndtr(mid[..., None] - m)).sum(-1) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)
    return apply


def swissroll(u: np.ndarray) -> np.ndarray:
    """``(n, 1)`` in [0, 1] -> ``(n, 2)`` on a Swiss roll (injective, so MI is unchanged)."""
    t = 1.5 * np.pi * (1 + 2 * u[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], 1) / 21.0


def _task(name: str, dim_x: int, dim_y: int, draw: Sampler, truth: float) -> BmiTask:
    return BmiTask(name, dim_x, dim_y, draw, float(truth))


def normal_task(cov: np.ndarray, dim_x: int, name: str) -> BmiTask:
    return _task(name, dim_x, len(cov) - dim_x, _normal(cov, dim_x), gaussian_mi(cov, dim_x))


def student_task(dim_x: int, dim_y: int, df: int) -> BmiTask:
    disp = np.eye(dim_x + dim_y)
    return _task(f"student-identity-{dim_x}-{dim_y}-{df}", dim_x, dim_y, _student(disp, dim_x, df),
                 student_mi(disp, dim_x, df))


def transformed(base: BmiTask, prefix: str, fx: Transform | None, fy: Transform | None,
                dim_x: int | None = None) -> BmiTask:
    """``base`` seen through invertible maps of X and Y (truth unchanged)."""
    return _task(f"{prefix}-{base.name}", dim_x or base.dim_x, base.dim_y, _mapped(base.draw, fx, fy), base.truth)


def spiralised(base: BmiTask) -> BmiTask:
    """bmi's spiral: rotations in X's (0, 1) and Y's (1, 2) planes at speed 1 / dim."""
    return transformed(base, "spiral", spiral(0, 1, 1.0 / base.dim_x), spiral(1, 2, 1.0 / base.dim_y))


def dense_task(d: int) -> BmiTask:
    return normal_task(dense_cov(d, d), d, f"multinormal-dense-{d}-{d}-0.5")


def two_pair_task(d: int) -> BmiTask:
    return normal_task(two_pair_cov(d, d), d, f"multinormal-sparse-{d}-{d}-2-2.0")


def one_dim_tasks() -> list[BmiTask]:
    binormal = normal_task(np.array([[1.0, 0.75], [0.75, 1.0]]), 1, "1v1-normal-0.75")
    uniform = transformed(binormal, "normal_cdf", ndtr, ndtr)
    bimodal = transformed(uniform, "bimodal", mixture_quantile((0.3, 0.7), (0.0, 5.0)),
                          mixture_quantile((0.5, 0.5), (-1.0, 3.0)))
    student = student_task(1, 1, 1)
    return [binormal, uniform,
            _task("1v1-additive-0.1", 1, 1, _additive(0.1), additive_mi(0.1)),
            _task("1v1-additive-0.75", 1, 1, _additive(0.75), additive_mi(0.75)),
            BmiTask("1v1-bimodal-0.75", 1, 1, bimodal.draw, bimodal.truth),
            transformed(binormal, "wiggly", wiggly_x, wiggly_y),
            transformed(binormal, "half_cube", half_cube, half_cube),
            student, transformed(student, "asinh", np.arcsinh, np.arcsinh),
            transformed(uniform, "swissroll_x", swissroll, None, dim_x=2)]


def bmi_tasks() -> list[BmiTask]:
    """The 40 tasks of bmi's version-1 list, in its order."""
    dense = [dense_task(d) for d in (2, 3, 5, 25, 50)]
    pairs = [two_pair_task(d) for d in (2, 3, 5, 25)]
    student = [student_task(d, d, df) for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    base = [two_pair_task(d) for d in (3, 5, 25)]
    trans = ([transformed(b, "normal_cdf", ndtr, ndtr) for b in base]
             + [transformed(b, "half_cube", half_cube, half_cube) for b in base]
             + [spiralised(b) for b in base]
             + [spiralised(transformed(b, "normal_cdf", ndtr, ndtr)) for b in base]
             + [transformed(student_task(d, d, df), "asinh", np.arcsinh, np.arcsinh)
                for d, df in ((2, 1), (3, 2), (5, 2))])
    return one_dim_tasks() + dense + pairs + student + trans


QUICK = ("1v1-normal-0.75", "1v1-additive-0.1", "multinormal-dense-5-5-0.5", "multinormal-dense-25-25-0.5",
         "multinormal-sparse-5-5-2-2.0", "student-identity-5-5-2", "half_cube-multinormal-sparse-5-5-2-2.0",
         "spiral-multinormal-sparse-5-5-2-2.0", "asinh-student-identity-3-3-2")


def suite(quick: bool = False) -> list[BmiTask]:
    """The bmi v1 tasks; ``quick``: one or two per family."""
    tasks = bmi_tasks()
    return [t for t in tasks if t.name in QUICK] if quick else tasks


def tolerance(truth: float) -> float:
    """The accuracy target of the bmi suite: ``max(0.05 nats, 15% of the truth)`` (issue 19)."""
    return max(0.05, 0.15 * truth)


def run_task(task: BmiTask, name: str | None, n: int, seed: int, device: str) -> dict[str, Any]:
    """One estimator on one task: the reading against the truth, or the one-line error it raised."""
    from predgen_common.errors import UserError

    from mi_toolkit.api import estimate

    x, y = task.sample(n, seed)
    row: dict[str, Any] = {"task": task.name, "dim_x": task.dim_x, "dim_y": task.dim_y, "n": n,
                           "truth": task.truth, "requested": name or "default"}
    try:
        res = estimate(x, y, name, seed=seed, device=device)
    except UserError as err:   # a refusal is a result of the suite, not a crash of it
        return {**row, "error": str(err)}
    tol = tolerance(task.truth)
    row.update(estimator=res.estimator, mi=res.mi, ci_low=res.ci_low, ci_high=res.ci_high, detected=res.detected,
               is_bound=res.is_bound, chosen=res.chosen, seconds=res.seconds,
               within_tol=abs(res.mi - task.truth) <= tol, covers=res.ci_low <= task.truth <= res.ci_high,
               bound_above=bool(res.is_bound) and res.mi > task.truth + tol)
    if res.estimate:
        est = res.estimate
        row["estimate"] = {**{k: est[k] for k in ("estimator", "label", "mi", "ci_low", "ci_high", "seconds")},
                           "within_tol": abs(est["mi"] - task.truth) <= tol,
                           "covers": est["ci_low"] <= task.truth <= est["ci_high"],
                           # the console's "the bound reads below this interval: it is loose here"
                           "above_bound": est["ci_low"] > res.ci_high}
    elif res.estimate_skipped:
        row["estimate_skipped"] = res.estimate_skipped
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per requested estimator: accuracy and coverage rates, bounds above the truth, mean absolute error,
    median seconds, failures; and the same for the estimate beside a bound, where there is one."""
    out = {}
    for name in dict.fromkeys(r["requested"] for r in rows):
        mine = [r for r in rows if r["requested"] == name]
        ok = [r for r in mine if "error" not in r]
        s = {"tasks": len(mine), "failures": len(mine) - len(ok)}
        if ok:
            s.update(within_tol_rate=float(np.mean([r["within_tol"] for r in ok])),
                     coverage_rate=float(np.mean([r["covers"] for r in ok])),
                     # readings labelled a bound that lie above the truth beyond the tolerance (None: no bounds)
                     bounds_above_truth=(int(sum(r["bound_above"] for r in ok)) if any(r["is_bound"] for r in ok)
                                         else None),
                     mean_abs_error=float(np.mean([abs(r["mi"] - r["truth"]) for r in ok])),
                     median_seconds=float(np.median([r["seconds"] for r in ok])))
        beside = [r for r in ok if "estimate" in r]
        if beside:
            s["estimate"] = {"tasks": len(beside), "above_bound": int(sum(r["estimate"]["above_bound"] for r in beside)),
                             "within_tol_rate": float(np.mean([r["estimate"]["within_tol"] for r in beside])),
                             "coverage_rate": float(np.mean([r["estimate"]["covers"] for r in beside])),
                             "mean_abs_error": float(np.mean([abs(r["estimate"]["mi"] - r["truth"]) for r in beside]))}
        out[name] = s
    return out


def run_bmi(opts) -> dict[str, Any]:
    """``mi bench --suite bmi``: every task through every estimator (``opts``: ``suites.SuiteOptions``).
    Estimators that read integer labels only (``probe``) are skipped: every bmi target is continuous."""
    from predgen_common.progress import Phase

    from mi_toolkit.estimators import ESTIMATORS

    names = [e for e in opts.estimators if e is None or not ESTIMATORS.get(e).discrete_only]
    tasks = suite(opts.quick)
    rows = []
    with Phase("mi bench --suite bmi", total=len(tasks) * len(names), unit="estimates") as progress:
        for task in tasks:
            for name in names:
                rows.append(run_task(task, name, opts.n, opts.seed, opts.device))
                progress.step()
    listed = ",".join(e or "default" for e in opts.estimators)
    command = (f"OMP_NUM_THREADS=1 mi bench --suite bmi --estimators {listed} --n {opts.n} --seed {opts.seed}"
               + (f" --device {opts.device}" if opts.device != "auto" else "") + (" --quick" if opts.quick else ""))
    return {"suite": "bmi", "command": command, "tolerance": "max(0.05 nats, 15% of the truth)",
            "reference": "Czyz et al. 2023, Beyond Normal (NeurIPS), bmi v1 task list", "rows": rows,
            "summary": summarise(rows)}


def show_bmi(out: dict[str, Any]) -> None:
    """The console table of :func:`run_bmi`: each reading, its interval, whether it is within tolerance and
    its seconds, the estimate beside a bound, then one summary line per estimator."""
    from rich.console import Console
    from rich.table import Table

    from mi_toolkit.estimators.result import table_cells

    table = Table(title=f"mi bench --suite bmi: readings vs ground truth (nats; ok = within {out['tolerance']})")
    for col in ("task", "truth", "estimator", "reading", "95% CI", "ok", "estimate, not a bound", "s"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    for r in out["rows"]:
        if "error" in r:
            refused = ("[red]refused[/red]", r["error"][:60], "", "", "")
            table.add_row(r["task"], f"{r['truth']:.3f}", r["requested"], *refused)
            continue
        shown, ci = table_cells(r["mi"], r["ci_low"], r["ci_high"], r["detected"])
        kind = f"{r['requested']} (bound)" if r["is_bound"] else r["requested"]
        flag = "[green]yes[/green]" if r["within_tol"] else "[red]no[/red]"
        est = r.get("estimate")
        beside = (f"{est['mi']:.3f} [{est['ci_low']:.3f}, {est['ci_high']:.3f}] {est['estimator']}" if est
                  else NOT_RUN if r.get("estimate_skipped") else "")
        table.add_row(r["task"], f"{r['truth']:.3f}", kind, shown, ci, flag, beside, f"{r['seconds']:.1f}")
    console = Console()
    console.print(table)
    for name, s in out["summary"].items():
        if "within_tol_rate" not in s:
            console.print(f"{name}: {s['failures']}/{s['tasks']} tasks refused")
            continue
        above = "" if s["bounds_above_truth"] is None else f", bounds above the truth {s['bounds_above_truth']}"
        line = (f"{name}: within tolerance on {s['within_tol_rate']:.0%} of {s['tasks']} tasks, interval covers the "
                f"truth on {s['coverage_rate']:.0%}, mean |error| {s['mean_abs_error']:.3f}{above}, refused "
                f"{s['failures']}, median {s['median_seconds']:.1f} s/task")
        if "estimate" in s:
            e = s["estimate"]
            line += (f"; its estimate beside the bound, run on {e['tasks']}: within tolerance on "
                     f"{e['within_tol_rate']:.0%}, covers {e['coverage_rate']:.0%}, mean |error| "
                     f"{e['mean_abs_error']:.3f}, its interval above the bound's on {e['above_bound']}")
        console.print(line)
