"""Accuracy and speed of the default estimator against torch-mist 0.2.17, side by side, same samples.

    .venv/bin/python benchmarks/bench_estimators.py [--full] [--n 5000] [--mist-timeout 120]

For every task of the ground-truth suite (``mi_toolkit.bench.synthetic``; ``--quick`` subset by
default, ``--full`` for all tasks) one sample set is drawn, saved, and given to

* the toolkit's default estimator (in this process; ``MIResult.seconds``), and
* torch-mist's ``estimate_mi(..., estimator='smile' | 'mine')`` in a subprocess run by
  ``benchmarks/.venv-mist`` (torch-mist needs numpy<2; the venv is created on first
  use with the local CPU torch 2.13.0, so no other torch is pulled), each under a
  wall-clock cap; a timeout is reported as such, never as a number.

Both sides time the estimation call only (imports excluded) and run single-threaded so
that the time ratio compares estimators, not thread scheduling. Writes
``benchmarks/results/bench_estimators.json`` and prints a table with the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MIST_VENV = HERE / ".venv-mist"
MIST_PY = MIST_VENV / "bin" / "python"


def ensure_mist_venv() -> Path:
    """Create ``benchmarks/.venv-mist`` with torch 2.13.0 + torch-mist 0.2.17 if missing."""
    check = [str(MIST_PY), "-c", "import torch, torch_mist; assert torch.__version__.startswith('2.13.0')"]
    if MIST_PY.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return MIST_PY
    subprocess.run([sys.executable, "-m", "venv", str(MIST_VENV)], check=True)
    pip = [str(MIST_PY), "-m", "pip", "install", "-q"]
    # torch first and alone (the local CPU wheel), then torch-mist with numpy<2 and pandas,
    # which torch-mist imports but does not declare
    subprocess.run(pip + ["torch==2.13.0"], check=True)
    subprocess.run(pip + ["torch-mist==0.2.17", "pandas", "numpy<2", "torch==2.13.0"], check=True)
    subprocess.run(check, check=True)
    return MIST_PY


def run_mist(data: Path, estimator: str, timeout: float, seed: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(MIST_PY), str(HERE / "_mist_runner.py"), "--data", str(data), "--estimator", estimator,
           "--seed", str(seed)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"mi": None, "seconds": None, "error": f"timeout after {timeout:.0f} s", "timed_out": True}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"mi": None, "seconds": time.perf_counter() - start, "timed_out": False,
                "error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return {**json.loads(lines[-1]), "timed_out": False}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="all suite tasks (default: the --quick subset)")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mist", default="smile,mine", help="torch-mist estimators ('' to skip)")
    ap.add_argument("--mist-timeout", type=float, default=120.0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_estimators.json")
    args = ap.parse_args()

    import torch
    import torch._dynamo  # noqa: F401  (one-time import kept out of every timing)

    torch.set_num_threads(1)
    from mi_toolkit import estimate
    from mi_toolkit.bench.synthetic import suite, summarise, within_tolerance
    from predgen_common.io import write_results_json

    mist_names = [m for m in args.mist.split(",") if m]
    if mist_names:
        ensure_mist_venv()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in suite(quick=not args.full):
            z, y = task.sample(args.n, args.seed)
            path = Path(tmp) / f"{task.name}.npz"
            np.savez(path, z=z, y=y)
            res = estimate(z, y, seed=args.seed, device="cpu")
            row = {"task": task.name, "family": task.family, "truth": task.truth, "requested": "default",
                   "estimator": res.estimator, "mi": res.mi, "ci_low": res.ci_low, "ci_high": res.ci_high,
                   "seconds": res.seconds, "p_value": res.p_value,
                   "within_tol": within_tolerance(res.mi, task.truth),
                   "covers": res.ci_low <= task.truth <= res.ci_high}
            for m in mist_names:
                out = run_mist(path, m, args.mist_timeout, args.seed)
                row[f"mist_{m}"] = {**out, "within_tol": out["mi"] is not None and within_tolerance(out["mi"], task.truth)}
                row[f"ratio_{m}"] = (out["seconds"] / res.seconds) if out["seconds"] else None
            rows.append(row)
            print(_line(row, mist_names), flush=True)
    summary = {"default": summarise(rows)["default"]}
    for m in mist_names:
        done = [r[f"mist_{m}"] for r in rows]
        ratios = [r[f"ratio_{m}"] for r in rows if r[f"ratio_{m}"]]
        summary[f"mist_{m}"] = {
            "within_tol_rate": float(np.mean([d["within_tol"] for d in done])),
            "timeouts": sum(d["timed_out"] for d in done),
            "failures": sum(d["mi"] is None and not d["timed_out"] for d in done),
            "median_seconds": float(np.median([d["seconds"] for d in done if d["seconds"]])) if ratios else None,
            "median_time_ratio_vs_default": float(np.median(ratios)) if ratios else None,
        }
    write_results_json(args.out, {"n": args.n, "seed": args.seed, "mist_timeout_s": args.mist_timeout,
                                 "threads": 1, "rows": rows, "summary": summary})
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")


def _line(row: dict, mist_names: list[str]) -> str:
    parts = [f"{row['task']:<28} truth {row['truth']:.3f} | {row['estimator']} {row['mi']:.3f} "
             f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] {row['seconds']:.1f}s"]
    for m in mist_names:
        o = row[f"mist_{m}"]
        val = "timeout" if o["timed_out"] else ("failed" if o["mi"] is None else f"{o['mi']:.3f}")
        secs = f"{o['seconds']:.1f}s" if o["seconds"] else "-"
        ratio = f"x{row[f'ratio_{m}']:.1f}" if row[f"ratio_{m}"] else ""
        parts.append(f"mist-{m} {val} {secs} {ratio}")
    return " | ".join(parts)


if __name__ == "__main__":
    main()
