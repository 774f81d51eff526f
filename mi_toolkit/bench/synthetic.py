"""The built-in ground-truth suite behind ``mi bench``.

Each task samples ``(Z, Y)`` with a known ``I(Y; Z)``:

* ``gauss``: ``Z ~ N(0, I_d)``, ``Y = rho w.Z + sqrt(1 - rho^2) eps`` with a random unit
  ``w``: ``I = -1/2 log(1 - rho^2)`` in closed form;
* ``mix``: class-conditional Gaussians ``Z | y ~ N(mu_y, I_d)``; truth by Monte Carlo
  of ``E[log p(y|z) - log p(y)]`` over the exact posterior (200,000 draws);
* ``indep``: ``Y`` independent of ``Z`` (truth 0), discrete and continuous;
* ``warp``: an invertible elementwise warp of ``Z`` (``sinh``, ``z^3``) after a
  random rotation, applied to a ``mix``/``gauss`` task: MI unchanged;
* ``heavy``: class-conditional multivariate Student-t (3 d.o.f.), MC truth over its
  exact posterior; and a Gaussian task seen through a Cauchy marginal warp.
* ``ywarp``: a ``k``-dimensional target, ``k`` independent linear-Gaussian channels on
  orthonormal directions of ``Z`` (``I = k x mi_each``), each target coordinate seen through
  the Cauchy warp (MI unchanged; Gaussian densities of ``Y`` read far above the truth);
  ``indep`` with ``params=(k,)``: a ``k``-dimensional Cauchy target independent of ``Z``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.special import log_softmax, ndtr

MC_SAMPLES = 200_000


@dataclass(frozen=True)
class BenchTask:
    name: str
    family: str
    discrete: bool
    d: int
    params: tuple = field(default=())

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` samples ``(Z (n, d), Y)``; deterministic for ``seed``."""
        return _SAMPLERS[self.family](self, n, np.random.default_rng(seed))

    @property
    def truth(self) -> float:
        """The true ``I(Y; Z)`` in nats (closed form or a fixed-seed Monte Carlo)."""
        return _truth(self)


def _unit(d: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal(d)
    return w / np.linalg.norm(w)


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


def _means(task: BenchTask) -> np.ndarray:
    """Class means: ``C`` random directions at distance ``sep`` from the origin (fixed seed)."""
    n_classes, sep = task.params[0], task.params[1]
    rng = np.random.default_rng(1000 + task.d * 7 + n_classes)
    return np.stack([sep * _unit(task.d, rng) for _ in range(n_classes)])


def _gauss(task, n, rng):
    mi = task.params[0]
    rho = math.sqrt(1 - math.exp(-2 * mi))
    w = _unit(task.d, np.random.default_rng(2000 + task.d))
    z = rng.standard_normal((n, task.d))
    y = rho * z @ w + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    return z, y


def _mix(task, n, rng, df: float | None = None):
    mu = _means(task)
    y = rng.integers(0, len(mu), n)
    noise = rng.standard_normal((n, task.d))
    if df is not None:  # multivariate t: a Gaussian over sqrt(chi2/df)
        noise /= np.sqrt(rng.chisquare(df, n) / df)[:, None]
    return mu[y] + noise, y


def _indep(task, n, rng):
    z = rng.standard_normal((n, task.d))
    if not task.discrete and task.params:
        return z, _to_cauchy(rng.standard_normal((n, task.params[0])))
    return (z, rng.integers(0, 2, n)) if task.discrete else (z, rng.standard_normal(n))


def _to_cauchy(x: np.ndarray) -> np.ndarray:
    """Gaussian CDF then the Cauchy quantile, per coordinate: invertible, so MI is unchanged."""
    return np.tan(math.pi * (np.clip(ndtr(x), 1e-12, 1 - 1e-12) - 0.5))


def _ywarp(task, n, rng):
    k, mi_each = task.params
    rho = math.sqrt(1 - math.exp(-2 * mi_each))
    w = np.linalg.qr(np.random.default_rng(5000 + task.d).standard_normal((task.d, k)))[0]  # (d, k) orthonormal
    z = rng.standard_normal((n, task.d))
    y = rho * z @ w + math.sqrt(1 - rho ** 2) * rng.standard_normal((n, k))
    return z, _to_cauchy(y)


def _warp(task, n, rng):
    base = BenchTask(task.name, task.params[1], task.discrete, task.d, task.params[2:])
    z, y = _SAMPLERS[base.family](base, n, rng)
    z = z @ _rotation(task.d, 3000 + task.d)
    return (np.sinh(z) if task.params[0] == "sinh" else z ** 3), y


def _heavy(task, n, rng):
    return _mix(task, n, rng, df=3.0)


def _cauchy(task, n, rng):
    z, y = _gauss(task, n, rng)
    # Gaussian CDF then the Cauchy quantile: invertible, so MI is unchanged
    return np.tan(math.pi * (np.clip(ndtr(z), 1e-12, 1 - 1e-12) - 0.5)), y


_SAMPLERS: dict[str, Callable] = {"gauss": _gauss, "mix": _mix, "indep": _indep, "warp": _warp,
                                  "heavy": _heavy, "cauchy": _cauchy, "ywarp": _ywarp}


@lru_cache(maxsize=None)
def _truth(task: BenchTask) -> float:
    if task.family == "indep":
        return 0.0
    if task.family in ("gauss", "cauchy"):
        return task.params[0]
    if task.family == "ywarp":
        return task.params[0] * task.params[1]
    if task.family == "warp":
        return _truth(BenchTask(task.name, task.params[1], task.discrete, task.d, task.params[2:]))
    rng = np.random.default_rng(12345)
    z, y = _SAMPLERS[task.family](task, MC_SAMPLES, rng)
    mu = _means(task)
    # squared distances (M, C) without the (M, C, d) broadcast (2 GB at d=128, C=10)
    sq = (z ** 2).sum(1)[:, None] - 2 * z @ mu.T + (mu ** 2).sum(1)[None, :]
    if task.family == "heavy":
        loglik = -(3.0 + task.d) / 2 * np.log1p(sq / 3.0)
    else:
        loglik = -0.5 * sq
    log_post = log_softmax(loglik, axis=1)  # uniform prior over classes
    return float(np.mean(log_post[np.arange(len(y)), y]) + math.log(len(mu)))


def suite(quick: bool = False) -> list[BenchTask]:
    """The ground-truth tasks; ``quick`` is a representative subset (one per family and regime)."""
    full = [
        BenchTask("gauss-d4-mi0.5", "gauss", False, 4, (0.5,)),
        BenchTask("gauss-d32-mi1.5", "gauss", False, 32, (1.5,)),
        BenchTask("gauss-d128-mi3", "gauss", False, 128, (3.0,)),
        BenchTask("gauss-d8-mi3", "gauss", False, 8, (3.0,)),
        BenchTask("gauss-d128-mi0.5", "gauss", False, 128, (0.5,)),
        BenchTask("mix-d2-c2", "mix", True, 2, (2, 2.0)),
        BenchTask("mix-d16-c4", "mix", True, 16, (4, 3.0)),
        BenchTask("mix-d64-c10", "mix", True, 64, (10, 4.0)),
        BenchTask("mix-d128-c2", "mix", True, 128, (2, 1.5)),
        BenchTask("mix-d128-c10", "mix", True, 128, (10, 6.0)),
        BenchTask("indep-d32-discrete", "indep", True, 32),
        BenchTask("indep-d16-continuous", "indep", False, 16),
        BenchTask("warp-sinh-mix-d16-c4", "warp", True, 16, ("sinh", "mix", 4, 3.0)),
        BenchTask("warp-cube-gauss-d8-mi1", "warp", False, 8, ("cube", "gauss", 1.0)),
        BenchTask("heavy-t3-d8-c4", "heavy", True, 8, (4, 3.0)),
        BenchTask("heavy-cauchy-gauss-d8-mi1", "cauchy", False, 8, (1.0,)),
        BenchTask("heavy-cauchy-target-d8-k2-mi0.5", "ywarp", False, 8, (2, 0.25)),
        BenchTask("indep-d16-k2-cauchy-continuous", "indep", False, 16, (2,)),
    ]
    if not quick:
        return full
    keep = {"gauss-d32-mi1.5", "gauss-d8-mi3", "mix-d16-c4", "mix-d128-c10", "indep-d32-discrete",
            "warp-sinh-mix-d16-c4", "heavy-t3-d8-c4", "heavy-cauchy-gauss-d8-mi1",
            "heavy-cauchy-target-d8-k2-mi0.5"}
    return [t for t in full if t.name in keep]


def within_tolerance(estimate: float, truth: float) -> bool:
    """The accuracy target: within ``max(0.05 nats, 10% of truth)``."""
    return abs(estimate - truth) <= max(0.05, 0.10 * truth)


def run_suite(tasks: list[BenchTask], estimators: list[str | None], *, n: int = 5000, seed: int = 0,
              device: str = "auto", on_result: Callable[[dict], None] | None = None) -> dict:
    """Run every estimator on every task (same samples for all); returns rows and a summary.

    ``None`` in ``estimators`` means "the default for the task's kind of Y".
    """
    import torch._dynamo  # noqa: F401  (torch.optim imports it on first use: keep it out of task 1's time)

    from mi_toolkit.api import estimate
    from mi_toolkit.estimators import ESTIMATORS

    rows = []
    for task in tasks:
        z, y = task.sample(n, seed)
        truth = task.truth
        for name in estimators:
            if name is not None and ESTIMATORS.get(name).discrete_only and not task.discrete:
                continue  # e.g. probe: integer labels only
            if name is not None and ESTIMATORS.get(name).continuous_only and task.discrete:
                continue  # binned, gaussian: float targets only
            res = estimate(z, y, name, seed=seed, device=device)
            row = {"task": task.name, "family": task.family, "discrete": task.discrete, "d": task.d,
                   "n": n, "truth": truth, "requested": name or "default", **res.to_dict()}
            row.pop("curve")
            row["within_tol"] = within_tolerance(res.mi, truth)
            row["covers"] = res.ci_low <= truth <= res.ci_high
            rows.append(row)
            if on_result is not None:
                on_result(row)
    return {"rows": rows, "summary": summarise(rows)}


def summarise(rows: list[dict]) -> dict:
    """Per requested estimator: accuracy rate, interval coverage, worst |MI| on independent data,
    median seconds."""
    out = {}
    for name in dict.fromkeys(r["requested"] for r in rows):
        mine = [r for r in rows if r["requested"] == name]
        indep = [abs(r["mi"]) for r in mine if r["family"] == "indep"]
        out[name] = {
            "tasks": len(mine),
            "within_tol_rate": float(np.mean([r["within_tol"] for r in mine])),
            "coverage_rate": float(np.mean([r["covers"] for r in mine])),
            "max_abs_indep": max(indep) if indep else None,
            "median_seconds": float(np.median([r["seconds"] for r in mine])),
        }
    return out
