"""The probe's generative heads (LDA, regularised QDA, Gaussian naive Bayes): what they read, what they cost.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/bench_generative.py

1. ``mixture``: a 64-dimensional, 4-class Gaussian mixture with imbalanced classes (priors 0.5, 0.25,
   0.15, 0.10), class means at distance 1.25 from the origin and per-class diagonal standard deviations
   ``exp(U(-0.3, 0.3))`` (fixed seed), N = 5,000. Truth: ``E[log p(y|z) - log p(y)]`` by Monte Carlo over
   the true densities (200,000 draws). Read by the engine without and with the generative heads, and by
   scikit-learn's GaussianNB cross-fitted on the engine's folds (5 stratified folds, seed 0).
2. ``timing``: the engine's CPU seconds (best of 3, one thread) on a 2,500 x 576 array with a binary
   label (LM-like scales: three high-variance dimensions over a geometric spectrum; the label a noisy
   linear function of a few dimensions), without and with the generative heads, and their ratio.
3. ``suite``: the discrete tasks of ``mi bench`` (N = 5,000, seed 0), without and with.

Writes ``benchmarks/results/bench_generative.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mi_toolkit import estimate  # noqa: E402
from mi_toolkit.bench.synthetic import suite  # noqa: E402
from mi_toolkit.estimators import ProbeConfig  # noqa: E402
from predgen_common.io import write_results_json  # noqa: E402

PRIORS = np.array([0.5, 0.25, 0.15, 0.10])
D, SEP, SPREAD = 64, 1.25, 0.3


def mixture_params(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Class means ``(4, D)`` and per-class standard deviations ``(4, D)``."""
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((4, D))
    mu *= SEP / np.linalg.norm(mu, axis=1, keepdims=True)
    return mu, np.exp(rng.uniform(-SPREAD, SPREAD, (4, D)))


def mixture_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = mixture_params()
    rng = np.random.default_rng(seed)
    y = rng.choice(4, n, p=PRIORS)
    return mu[y] + sd[y] * rng.standard_normal((n, D)), y


def mixture_truth(m: int = 200_000) -> float:
    """``I(Y; Z)`` in nats: the mean log posterior ratio under the true densities, over ``m`` fresh draws."""
    mu, sd = mixture_params()
    z, y = mixture_sample(m, 12345)
    ll = np.stack([-0.5 * (((z - mu[c]) / sd[c]) ** 2).sum(1) - np.log(sd[c]).sum() for c in range(4)], 1)
    ll += np.log(PRIORS)
    post = ll - logsumexp(ll, axis=1, keepdims=True)
    return float(np.mean(post[np.arange(m), y] - np.log(PRIORS[y])))


def gnb_reading(z: np.ndarray, y: np.ndarray) -> float:
    """GaussianNB cross-fitted on the engine's folds, read as ``mean log q(y|z) - log p(y)`` (fold priors)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB

    vals = np.empty(len(y))
    for tr, sc in StratifiedKFold(5, shuffle=True, random_state=0).split(z, y):
        lp = GaussianNB().fit(z[tr], y[tr]).predict_log_proba(z[sc])
        prior = np.log(np.bincount(y[tr], minlength=4) / len(tr))
        vals[sc] = np.maximum(lp[np.arange(len(sc)), y[sc]], -50.0) - prior[y[sc]]
    return float(vals.mean())


def _reading(z: np.ndarray, y: np.ndarray, generative: bool) -> dict:
    start = time.process_time()
    r = estimate(z, y, "probe", config=ProbeConfig(generative=generative), seed=0, device="cpu")
    return {"mi": round(r.mi, 4), "ci": [round(r.ci_low, 4), round(r.ci_high, 4)], "chosen": r.chosen,
            "per_fold": r.config["per_fold_choice"], "candidates": len(r.candidates) - 1,
            "cpu_s": round(time.process_time() - start, 2)}


def bench_mixture() -> dict:
    z, y = mixture_sample(5000, 0)
    out = {"truth": round(mixture_truth(), 4), "gnb": round(gnb_reading(z, y), 4),
           "before": _reading(z, y, False), "after": _reading(z, y, True)}
    print("mixture", out, flush=True)
    return out


def bench_timing(repeats: int = 3) -> dict:
    rng = np.random.default_rng(0)
    n, d = 2500, 576
    scale = np.concatenate([[60.0, 30.0, 20.0], np.geomspace(5.0, 0.05, d - 3)])
    z = rng.standard_normal((n, d)) * scale
    y = (z[:, 0] / 60 + z[:, 5] / 4 + 0.8 * rng.standard_normal(n) > 0).astype(int)
    out = {}
    for gen in (False, True):
        runs = [_reading(z, y, gen) for _ in range(repeats)]
        best = min(runs, key=lambda r: r["cpu_s"])
        out["after" if gen else "before"] = {**best, "cpu_s_all": [r["cpu_s"] for r in runs]}
    out["ratio"] = round(out["after"]["cpu_s"] / out["before"]["cpu_s"], 3)
    print("timing", out, flush=True)
    return out


def bench_suite() -> list[dict]:
    rows = []
    for task in [t for t in suite() if t.discrete]:
        z, y = task.sample(5000, 0)
        row = {"task": task.name, "truth": round(task.truth, 4),
               "before": _reading(z, y, False), "after": _reading(z, y, True)}
        print(row["task"], row["truth"], row["before"]["mi"], row["after"]["mi"], row["after"]["chosen"], flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="mixture,timing,suite", help="comma-separated: mixture, timing, suite")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_generative.json")
    args = ap.parse_args()
    parts = {"mixture": bench_mixture, "timing": bench_timing, "suite": bench_suite}
    out = {name: parts[name]() for name in args.parts.split(",")}
    write_results_json(args.out, out)


if __name__ == "__main__":
    main()
