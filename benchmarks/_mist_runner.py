"""Run torch-mist's ``estimate_mi`` on saved samples (executed inside benchmarks/.venv-mist).

torch-mist 0.2.17 needs numpy<2, so it cannot share the toolkit's venv; the benchmark
calls this script in a subprocess with ``--data task.npz --estimator smile|mine``
and reads one JSON line from stdout: ``{"mi": float|null, "seconds": float, "error": str|null}``.
``seconds`` times ``estimate_mi`` alone (imports excluded), like the toolkit's own timing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--estimator", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    import numpy as np
    import torch
    import torch._dynamo  # noqa: F401  (one-time import, kept out of the timing)
    from torch_mist import estimate_mi

    torch.manual_seed(args.seed)
    data = np.load(args.data)
    x = torch.tensor(data["z"], dtype=torch.float32)
    y = torch.tensor(data["y"], dtype=torch.float32).reshape(len(x), -1)
    # same standardisation as the toolkit so that only the estimator differs
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-8)
    y = (y - y.mean(0)) / y.std(0).clamp_min(1e-8)
    start = time.perf_counter()
    err = None
    try:
        out = estimate_mi((x, y), estimator=args.estimator, hidden_dims=[args.hidden], verbose=False)
        mi = float(out[0] if isinstance(out, tuple) else out)
    except Exception as exc:  # report, don't crash the whole benchmark
        mi, err = None, f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - start
    if mi is not None and not math.isfinite(mi):
        mi, err = None, f"non-finite estimate ({mi})"
    sys.stdout.write(json.dumps({"mi": mi, "seconds": seconds, "error": err}) + "\n")


if __name__ == "__main__":
    main()
