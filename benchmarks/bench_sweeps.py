"""Sweeps at the cost of the forward pass (issue 20, item 2): the probe's PCA solver, the layer sweep and
the curve, timed from cached states, with their readings, so that a run of the old code and one of the
new can be compared reading by reading.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweeps.py solver --label after
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweeps.py prepare     # states -> arrays, once
    OMP_NUM_THREADS=1 PYTHONPATH=BASE_DIR .venv/bin/python benchmarks/bench_sweeps.py layers --label before
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweeps.py layers --label after
    OMP_NUM_THREADS=1 PYTHONPATH=BASE_DIR .venv/bin/python benchmarks/bench_sweeps.py curve --label before
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweeps.py curve --label after
    .venv/bin/python benchmarks/bench_sweeps.py cli-layers --label after      # mi layer-sweep, 600 + 600
    .venv/bin/python benchmarks/bench_sweeps.py cli-curve --label after       # mi curve, N = 2,500

``--label before`` with ``PYTHONPATH`` on a worktree of the old commit (``git worktree add BASE_DIR
HEAD``) times the old code with the same script (the subprocess inherits ``PYTHONPATH``). Every run
records wall time, CPU time (user + sys, of this process and its children), the thread count and the
load average before and after (the machine is shared), and merges its entry into
``benchmarks/results/bench_sweeps.json`` under ``<mode>:<label>``.

* ``prepare`` (new code): the layer sweep's 31 pooled layer outputs of 600 + 600 sentences and the curve's
  inputs (pooled:last, full, R of 2,500 sentences), built as the commands build them, saved as arrays
  under ``$TMPDIR/bench_sweeps`` (the state cache's keys may differ between commits; arrays do not);
* ``layers`` / ``curve``: the probing alone (the layer sweep's estimates and comparisons;
  ``learning_curve``) on those arrays, with whichever code is on ``sys.path``: the same inputs for the
  old and the new code, reading by reading;
* ``solver``: the top-k solvers of :mod:`mi_toolkit.estimators.probe_pca` against a full ``d x d``
  ``eigh`` at the shapes of the curve's ``R`` (2,880 wide; fit sets of 752 and 2,000 rows) and of a
  layer (600 x 576), on synthetic LM-like rows (new code only);
* ``cli-layers``: ``mi layer-sweep --model smollm2-135m --dataset sst2 --max-samples 600`` (31 layer
  outputs), states cached by a first run;
* ``cli-curve``: ``mi curve --model runs/pipeline/models/predictor --dataset sst2 --split train
  --max-samples 2500 --like-split validation --representations pooled:last,full,R``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "results" / "bench_sweeps.json"
MI = str(REPO / ".venv" / "bin" / "mi")
CLI = {
    "cli-layers": [MI, "layer-sweep", "--model", "smollm2-135m", "--dataset", "sst2", "--max-samples", "600",
                   "--data-dir", "../shared/data"],
    "cli-curve": [MI, "curve", "--model", "runs/pipeline/models/predictor", "--dataset", "sst2", "--split", "train",
                  "--max-samples", "2500", "--like-split", "validation", "--representations", "pooled:last,full,R"],
}


def _code_label(root: Path) -> str:
    """Which code ran, without a machine path: this checkout, or another one (a worktree on PYTHONPATH) by commit."""
    import subprocess

    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    where = "this checkout" if root.resolve() == Path(__file__).resolve().parents[1] else "another worktree"
    return f"{where} at {head.stdout.strip() or 'unknown commit'}"


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench_solver(repeats: int = 3) -> dict[str, Any]:
    """CPU seconds (best of ``repeats``) of each solver at the shapes the sweeps meet."""
    import numpy as np

    from mi_toolkit.estimators.probe_pca import choose_solver, top_components

    rng = np.random.default_rng(0)
    out = {}
    for n, d in [(2000, 2880), (752, 2880), (600, 576), (2000, 576)]:
        scale = np.concatenate([[60.0, 30.0, 20.0], np.geomspace(5.0, 0.05, d - 3)])
        x = rng.standard_normal((n, d)) * scale
        x -= x.mean(0)
        row = {"auto": choose_solver(n, d, 64)}
        ref = top_components(x, 64, "full")[0]
        for solver in ("full", "gram", "covariance", "randomized"):
            best = float("inf")
            for _ in range(repeats):
                t = time.process_time()
                comps, _ = top_components(x, 64, solver)
                best = min(best, time.process_time() - t)
            # largest principal angle's sine between the 64-dim subspaces (0 = the same subspace)
            gap = float(np.linalg.norm(comps @ comps.T @ ref - ref, 2))
            row[solver] = {"cpu_s": round(best, 3), "subspace_sin": round(gap, 6)}
        out[f"{n}x{d}"] = row
        print(n, d, row, flush=True)
    return out


STATES = Path(tempfile.gettempdir()) / "bench_sweeps"


class _Captured(Exception):
    """Raised by the stand-in for ``learning_curve`` once the curve's inputs are built."""


def prepare_layers() -> None:
    """Extract (or read from the cache) the 31 layer outputs of 600 + 600 sentences, as ``mi layer-sweep`` does."""
    import numpy as np

    from mi_toolkit.measures import layers as lay
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.states.representations import labels_array

    got = {}
    lay.sweep_layer_states = lambda fit, ev, layers, *a, **kw: got.update(fit=fit, ev=ev, layers=layers,
                                                                          pooling=kw["pooling"])
    lay.layer_sweep_for(Setting.from_options(["smollm2-135m"], "sst2", max_samples=600, progress=False,
                                             data_dir=str(REPO.parent / "shared" / "data")), "all")
    fit, ev, layers = got["fit"], got["ev"], got["layers"]
    STATES.mkdir(exist_ok=True)
    np.savez(STATES / "layers.npz", layers=np.array(layers), y_fit=labels_array(fit.labels), y_ev=labels_array(ev.labels),
             fit=np.stack([fit.at(k).pooled(got["pooling"]) for k in layers]),
             ev=np.stack([ev.at(k).pooled(got["pooling"]) for k in layers]))


def prepare_curve() -> None:
    """Build the curve's inputs (pooled:last, full, R of 2,500 train sentences) as ``mi curve`` does."""
    import numpy as np

    import mi_toolkit.measures.curve_model as cm
    from mi_toolkit.measures.setting import Setting

    got = {}

    def capture(inputs, y, contains=None, **kw):
        got.update(inputs=inputs, y=y, contains=contains)
        raise _Captured

    cm.learning_curve = capture
    try:
        # 2,500 train sentences drawn to the lengths of the whole validation split (mi curve --like-split)
        setting = Setting(["runs/pipeline/models/predictor"], "sst2", fit_split="train", eval_split="validation",
                          n_fit=2500, progress=False)
        cm.model_curve(setting, cm.CurveOptions(("pooled:last", "full", "R")))
    except _Captured:
        pass
    STATES.mkdir(exist_ok=True)
    full = got["inputs"]["full"]
    np.savez(STATES / "curve.npz", y=got["y"], last=got["inputs"]["pooled:last"], R=got["inputs"]["R"],
             full_z=full.z, full_mask=full.mask, contains=json.dumps(got["contains"]))


def bench_layers() -> dict[str, Any]:
    """The layer sweep's probing of the prepared states (the code on ``sys.path``), with its readings."""
    import numpy as np

    from mi_toolkit.measures import layers as lay

    a = np.load(STATES / "layers.npz")
    layers = [int(x) for x in a["layers"]]
    t, c = time.perf_counter(), time.process_time()
    if hasattr(lay, "sweep_layer_arrays"):
        from mi_toolkit.measures.estimate import Estimation
        res = lay.sweep_layer_arrays(list(a["fit"]), list(a["ev"]), a["y_fit"], a["y_ev"], layers,
                                     Estimation(device="cpu"))
    else:   # the old code: one estimate_many task per layer, as its sweep_layer_states did
        from mi_toolkit.measures.estimate import estimate_split
        tasks = [(zf, a["y_fit"], ze, a["y_ev"]) for zf, ze in zip(a["fit"], a["ev"])]
        res = lay.LayerSweepResult(layers, estimate_split(tasks, None, device="cpu"), "last", None)
        res.comparisons = lay.compare_to_best(res)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"what": "probing of 31 layers x (600 fit + 600 eval) x 576, from prepared arrays",
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "readings": [{"layer": k, "mi": r.mi, "ci": [r.ci_low, r.ci_high], "chosen": r.chosen}
                         for k, r in zip(layers, res.results)]}


def bench_curve() -> dict[str, Any]:
    """``learning_curve`` of the prepared inputs (the code on ``sys.path``), with its readings."""
    import numpy as np

    from mi_toolkit.estimators.views import TokenStates
    from mi_toolkit.measures.curve import learning_curve

    a = np.load(STATES / "curve.npz")
    inputs = {"pooled:last": a["last"], "full": TokenStates(a["full_z"], a["full_mask"]), "R": a["R"]}
    t, c = time.perf_counter(), time.process_time()
    res = learning_curve(inputs, a["y"], contains=json.loads(str(a["contains"])), seed=0, device="cpu")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"what": "learning_curve of pooled:last, full, R (N = 2,500, 5 sizes) from prepared arrays",
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "readings": {rep: [{"n": n, "mi": r.mi, "ci": [r.ci_low, r.ci_high], "chosen": r.chosen}
                               for n, r in zip(res.sizes, v)] for rep, v in res.results.items()}}


def _readings(path: Path, mode: str) -> Any:
    data = json.loads(path.read_text())
    if mode == "cli-layers":
        return [{"layer": r["layer"], "mi": r["mi"], "ci": [r["ci_low"], r["ci_high"]], "chosen": r["chosen"]}
                for r in data["results"]]
    return {rep: [{"n": r["n"], "mi": r["mi"], "ci": [r["ci_low"], r["ci_high"]], "chosen": r["chosen"]} for r in v]
            for rep, v in data["results"].items()}


def bench_cli(mode: str) -> dict[str, Any]:
    """Run one CLI command (states cached), time it, and keep its readings."""
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "out.json"
        cmd = CLI[mode] + ["--output", str(Path(tmp) / "out.html"), "--json", str(js)]
        c0, t0 = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, _cpu(resource.RUSAGE_CHILDREN) - c0
        if proc.returncode:
            sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        readings = _readings(js, mode)
    shown = [a if not a.startswith("/") else Path(a).name for a in CLI[mode]]
    return {"command": " ".join(["mi"] + shown[1:]), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "readings": readings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["solver", "prepare", "layers", "curve", *CLI])
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import mi_toolkit

    entry: dict[str, Any] = {"code": _code_label(Path(mi_toolkit.__file__).parents[1]), "threads": os.environ.get(
        "OMP_NUM_THREADS", f"default ({os.cpu_count()} cores)"), "load_before": _load(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if args.mode == "prepare":      # new code: extraction keys may differ between commits; arrays do not
        prepare_layers(), prepare_curve()
        return
    c0, t0 = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    run = {"solver": bench_solver, "layers": bench_layers, "curve": bench_curve}.get(args.mode)
    entry.update(run() if run else bench_cli(args.mode))
    if args.mode == "solver":
        entry.update(wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(_cpu(resource.RUSAGE_SELF) - c0, 1))
    entry["load_after"] = _load()
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data[f"{args.mode}:{args.label}"] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{args.mode}:{args.label}", {k: v for k, v in entry.items() if k != "readings"})


if __name__ == "__main__":
    main()
