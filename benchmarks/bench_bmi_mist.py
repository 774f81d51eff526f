"""The default estimator beside torch-mist 0.2.17 SMILE on the bmi v1 tasks: same samples, one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bmi_mist.py [--quick] [--n 5000] [--seed 0]

For every bmi v1 task (``mi_toolkit.bench.bmi``; ``--quick`` for its subset) one sample set of ``n`` rows is
drawn and given to

* the toolkit's default (``mi_toolkit.estimate(x, y)``: the headline bound and, unless the linear regressor led
  most folds, the critic estimate beside it), timed around the whole call, in this process, and
* torch-mist's ``estimate_mi(..., estimator="smile")`` in a subprocess run by ``benchmarks/.venv-mist``
  (``bench_estimators.ensure_mist_venv``: torch-mist needs numpy < 2), timed around ``estimate_mi`` alone.

Both run on one thread. ``--fast`` gives the toolkit the cheap setting instead (``binned`` with the
regression reader with the linear regressors only (``ridge`` and ``quad-ridge``), no estimate beside the
bound). Reported per task: both readings, their errors against the truth, both times and their
ratio; in the summary, the median time ratio (toolkit / torch-mist), each side's mean absolute error and
share within max(0.05, 15%) of the truth. Writes ``benchmarks/results/bench_bmi_mist.json``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_estimators import ensure_mist_venv, run_mist

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mist-timeout", type=float, default=600.0)
    ap.add_argument("--fast", action="store_true", help="the cheap setting instead: the regression reader "
                    "with ridge and quad-ridge, no estimate beside the bound")
    ap.add_argument("--out", type=Path, default=None, help="default: results/bench_bmi_mist[_fast].json")
    args = ap.parse_args()

    import torch
    import torch._dynamo  # noqa: F401  (one-time import kept out of every timing)

    torch.set_num_threads(1)
    from mi_toolkit import estimate
    from mi_toolkit.bench.bmi import suite, tolerance
    from predgen_common.io import write_results_json

    from mi_toolkit.estimators.continuous import BinnedConfig

    config = BinnedConfig.fast() if args.fast else None
    out_path = args.out or HERE / "results" / f"bench_bmi_mist{'_fast' if args.fast else ''}.json"
    ensure_mist_venv()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in suite(args.quick):
            x, y = task.sample(args.n, args.seed)
            path = Path(tmp) / f"{task.name}.npz"
            np.savez(path, z=x, y=y)
            t0 = time.perf_counter()
            res = estimate(x, y, "binned" if args.fast else None, config=config, seed=args.seed, device="cpu")
            ours = time.perf_counter() - t0
            mist = run_mist(path, "smile", args.mist_timeout, args.seed)
            tol = tolerance(task.truth)
            row = {"task": task.name, "dim_x": task.dim_x, "dim_y": task.dim_y, "truth": task.truth,
                   "default": {"estimator": res.estimator, "mi": res.mi, "ci_low": res.ci_low, "ci_high": res.ci_high,
                               "is_bound": res.is_bound, "seconds": ours, "bound_seconds": res.seconds,
                               "estimate_seconds": res.estimate["seconds"] if res.estimate else None,
                               "error": abs(res.mi - task.truth),
                               "within_tol": abs(res.mi - task.truth) <= tol,
                               "estimate": res.estimate["mi"] if res.estimate else None,
                               "estimate_ci": [res.estimate["ci_low"], res.estimate["ci_high"]] if res.estimate else None,
                               "estimate_skipped": res.estimate_skipped},
                   "mist_smile": {**mist, "abs_error": None if mist["mi"] is None else abs(mist["mi"] - task.truth),
                                  "within_tol": mist["mi"] is not None and abs(mist["mi"] - task.truth) <= tol},
                   "time_ratio": ours / mist["seconds"] if mist.get("seconds") else None}
            rows.append(row)
            m = mist["mi"]
            print(f"{task.name:36s} truth {task.truth:.3f} | default {res.mi:.3f} {ours:6.1f}s | mist-smile "
                  f"{'failed' if m is None else f'{m:.3f}'} {mist.get('seconds') or 0:6.1f}s | ratio "
                  f"{row['time_ratio'] or float('nan'):.2f}", flush=True)
    done = [r for r in rows if r["mist_smile"]["mi"] is not None]
    times = time_summaries(done) if done else None
    summary = {
        "tasks": len(rows), "mist_failures": len(rows) - len(done),
        "median_time_ratio_default_over_mist": times["median_of_ratios"] if times else None,
        "default": {"mean_abs_error": float(np.mean([r["default"]["error"] for r in rows])),
                    "within_tol_rate": float(np.mean([r["default"]["within_tol"] for r in rows])),
                    "median_seconds": float(np.median([r["default"]["seconds"] for r in rows])),
                    "estimates_run": sum(r["default"]["estimate"] is not None for r in rows),
                    # the console's "the bound reads below this interval: it is loose here"
                    "estimate_interval_above_bound": sum(r["default"]["estimate"] is not None
                                                         and r["default"]["estimate_ci"][0] > r["default"]["ci_high"]
                                                         for r in rows)},
        "median_time_ratio_bound_alone_over_mist": (float(np.median([r["default"]["bound_seconds"]
                                                                     / r["mist_smile"]["seconds"] for r in done]))
                                                    if done else None),
        # the same run summed up other ways: the headline above is the median of the task-by-task ratios
        "other_time_summaries": times,
        "mist_smile": {"mean_abs_error": float(np.mean([r["mist_smile"]["abs_error"] for r in done])) if done else None,
                       "within_tol_rate": float(np.mean([r["mist_smile"]["within_tol"] for r in rows])),
                       "median_seconds": float(np.median([r["mist_smile"]["seconds"] for r in done])) if done else None},
        "default_mean_abs_error_on_tasks_mist_answered": (float(np.mean([r["default"]["error"] for r in done]))
                                                          if done else None),
    }
    command = ("OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bmi_mist.py" + (" --quick" if args.quick else "")
               + (" --fast" if args.fast else "") + f" --n {args.n} --seed {args.seed}")
    write_results_json(out_path, {"command": command, "n": args.n, "seed": args.seed, "threads": 1,
                                  "setting": "fast" if args.fast else "default", "rows": rows, "summary": summary})
    print(json.dumps(summary, indent=2))
    print(f"wrote {out_path}")


def time_summaries(rows: list[dict]) -> dict[str, float]:
    """The default's time against SMILE's over ``rows``, summed up four ways: the median of the task-by-task
    ratios, their geometric mean, the ratio of the totals and the ratio of the two medians."""
    ours = np.array([r["default"]["seconds"] for r in rows])
    theirs = np.array([r["mist_smile"]["seconds"] for r in rows])
    return {"median_of_ratios": float(np.median(ours / theirs)),
            "geometric_mean_of_ratios": float(np.exp(np.mean(np.log(ours / theirs)))),
            "ratio_of_totals": float(ours.sum() / theirs.sum()),
            "ratio_of_medians": float(np.median(ours) / np.median(theirs))}


if __name__ == "__main__":
    main()
