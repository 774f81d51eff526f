"""Coverage of the two-level (seeds x examples) interval of a method difference, where the truth is known.

Each simulated "checkpoint" of a method reads the same evaluation examples; its per-example values are
``mu_method + a_seed + b_example + noise`` (``a_seed ~ N(0, tau^2)``, the retraining effect; ``b_example``, the
example's difficulty, shared by every checkpoint; noise ``N(0, sigma^2)``). The true method difference is
``mu_a - mu_b``. For each setting, R replications: the share of two-level 95% intervals
(:func:`mi_toolkit.measures.seeds.two_level`) that cover it, beside the share of one-checkpoint intervals (the
first seed of each method, examples only) that do.

    .venv/bin/python benchmarks/bench_seeds.py [--replications 1000] [--json benchmarks/results/bench_seeds.json]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mi_toolkit.measures.seeds import one_level, two_level  # noqa: E402
from predgen_common.io import write_json_atomic  # noqa: E402

# (seeds per method, seed SD tau, per-example noise sigma): n = 872 examples (SST-2 validation), the sizes
# of the quick pipeline's readings (values of about 0.3 nats, per-example SD about 0.5)
SETTINGS = [(3, 0.03, 0.25), (4, 0.03, 0.25), (5, 0.03, 0.25), (3, 0.0, 0.25), (3, 0.06, 0.25), (8, 0.03, 0.25)]


def simulate(rng: np.random.Generator, seeds: int, tau: float, sigma: float, n: int = 872,
             delta: float = 0.03) -> list[np.ndarray]:
    """Two methods' ``(seeds, n)`` per-example values on the same examples; their true difference is ``delta``."""
    difficulty = rng.normal(0, 0.4, n)
    return [mu + rng.normal(0, tau, (seeds, 1)) + difficulty + rng.normal(0, sigma, (seeds, n))
            for mu in (0.30 + delta, 0.30)]


def coverage(seeds: int, tau: float, sigma: float, replications: int, delta: float = 0.03) -> dict:
    rng = np.random.default_rng(seeds * 1000 + int(tau * 100))
    two = one = 0
    widths = []
    for _ in range(replications):
        groups = simulate(rng, seeds, tau, sigma, delta=delta)
        s = two_level(groups, [1, -1])
        lo, hi = one_level(groups, [1, -1])
        two += s.ci_low <= delta <= s.ci_high
        one += lo <= delta <= hi
        widths.append(s.ci_high - s.ci_low)
    return {"seeds": seeds, "tau": tau, "sigma": sigma, "true_difference": delta, "replications": replications,
            "two_level_coverage": two / replications, "one_checkpoint_coverage": one / replications,
            "median_two_level_width": float(np.median(widths))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/bench_seeds.json"))
    args = ap.parse_args()
    start = time.perf_counter()
    rows = [coverage(s, t, g, args.replications) for s, t, g in SETTINGS]
    for r in rows:
        print(f"S={r['seeds']} tau={r['tau']:.2f}: two-level {r['two_level_coverage']:.3f}, "
              f"one checkpoint {r['one_checkpoint_coverage']:.3f}, width {r['median_two_level_width']:.3f}")
    write_json_atomic(args.json, {"command": "benchmarks/bench_seeds.py " + " ".join(sys.argv[1:]), "rows": rows,
                                  "seconds": round(time.perf_counter() - start, 1)})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
