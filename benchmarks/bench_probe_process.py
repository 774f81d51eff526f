"""Whole-process time of ``mi estimate --estimator probe`` against torch-mist 0.2.17 SMILE, side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_probe_process.py [--full] [--n 5000] [--estimator probe]

For every discrete task of the ground-truth suite (``--quick`` subset by default), one sample
set is saved and given to two fresh processes, alternately, each single-threaded and timed
from launch to exit (imports included, as a user running the command sees it):
``mi estimate --features z.npy --labels y.npy --estimator probe --device cpu`` and
``python benchmarks/_mist_runner.py --estimator smile`` (torch-mist installed in the
toolkit's venv with ``pip install --no-deps torch-mist==0.2.17 pyro-ppl pyro-api opt_einsum
pandas``, so it runs on the same torch). Writes ``benchmarks/results/bench_estimators_probe.json``.
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
MI = Path(sys.executable).parent / "mi"


def _timed(cmd: list[str], timeout: float) -> tuple[float | None, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    wall = time.perf_counter() - start
    return (wall, proc.stdout) if proc.returncode == 0 else (None, (proc.stderr.strip().splitlines() or ["failed"])[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimator", default="probe")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_estimators_probe.json")
    args = ap.parse_args()
    from mi_toolkit.bench.synthetic import suite, within_tolerance
    from predgen_common.io import write_json_atomic

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in [t for t in suite(quick=not args.full) if t.discrete]:
            z, y = task.sample(args.n, args.seed)
            base = Path(tmp) / task.name
            np.save(f"{base}.z.npy", z.astype(np.float32))
            np.save(f"{base}.y.npy", y)
            np.savez(f"{base}.npz", z=z, y=y)
            res_json = Path(f"{base}.json")
            ours, msg = _timed([str(MI), "estimate", "--features", f"{base}.z.npy", "--labels", f"{base}.y.npy",
                                "--estimator", args.estimator, "--device", "cpu", "--seed", str(args.seed),
                                "--json", str(res_json)], args.timeout)
            mist, out = _timed([sys.executable, str(HERE / "_mist_runner.py"), "--data", f"{base}.npz",
                                "--estimator", "smile", "--seed", str(args.seed)], args.timeout)
            mi = json.loads(res_json.read_text())["mi"] if ours else None
            mist_mi = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])["mi"] if mist else None
            row = {"task": task.name, "truth": task.truth, "estimator": args.estimator, "mi": mi,
                   "within_tol": mi is not None and within_tolerance(mi, task.truth), "process_seconds": ours,
                   "error": None if ours else msg, "mist_smile_mi": mist_mi, "mist_smile_process_seconds": mist,
                   "mist_error": None if mist else out[-300:],
                   "time_ratio_ours_over_mist": ours / mist if ours and mist else None}
            rows.append(row)
            print(json.dumps(row), flush=True)
    ratios = [r["time_ratio_ours_over_mist"] for r in rows if r["time_ratio_ours_over_mist"]]
    summary = {"tasks": len(rows), "median_ratio_ours_over_mist": float(np.median(ratios)) if ratios else None,
               "max_ratio_ours_over_mist": max(ratios) if ratios else None,
               "total_ours_s": sum(r["process_seconds"] or 0 for r in rows),
               "total_mist_s": sum(r["mist_smile_process_seconds"] or 0 for r in rows),
               "load_average_at_end": os.getloadavg()}
    write_json_atomic(args.out, {"n": args.n, "seed": args.seed, "threads": 1, "rows": rows, "summary": summary})
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
