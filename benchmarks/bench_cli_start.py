"""How fast `mi` and `predgen` answer `--help` and bad input (issue 20: under 2 s on an idle machine).

Runs each command through its console entry in a fresh interpreter, several times, and records the
wall time, the CPU time (user+sys) and the load average. ``--before DIR`` also times a copy of the
packages in DIR (e.g. ``git archive HEAD mi_toolkit predgen_core predgen_mi | tar -x -C DIR``), on the
same machine in the same run.

    .venv/bin/python benchmarks/bench_cli_start.py [--before BASE_DIR] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from predgen_common.io import write_json_atomic  # noqa: E402

RUNNER = ("import sys; root, prog, *args = sys.argv[1:]; sys.path.insert(0, root); sys.argv = [prog, *args]; "
          "from importlib import import_module; "
          "import_module({'mi': 'mi_toolkit.cli', 'predgen': 'predgen_core.cli'}[prog]).main()")
COMMANDS = [
    "mi --help",
    "mi estimate --features nope.npy --labels y.npy",
    "mi estimate --features z1m.npy --labels y1m.npy",
    "mi estimate --features z.npy --labels y.npy --estimator nope",
    "mi estimate --model /nonexistent/ckpt --dataset sst2",
    "predgen evaluate /nonexistent/ckpt",
    "predgen train --method predgen --dataset sst2 --max-steps 0",
]


def timed(root: str, command: str, cwd: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUNNER, root, *command.split()], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "exit": proc.returncode,
            "stderr": proc.stderr.strip().splitlines()[-1][:160] if proc.stderr.strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a folder holding an older copy of the packages")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/cli_start.json"))
    args = ap.parse_args()
    roots = {"now": str(REPO), **({"before": args.before} if args.before else {})}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        np.save(cwd / "z.npy", np.zeros((40, 3)))
        np.save(cwd / "y.npy", np.arange(40) % 2)
        np.lib.format.open_memmap(cwd / "z1m.npy", mode="w+", dtype=np.float64, shape=(1_000_000, 2)).flush()
        np.save(cwd / "y1m.npy", np.zeros(1_000_000, np.int64))
        load_start = os.getloadavg()
        rows = [{"version": name, "command": c, **timed(root, c, cwd)}
                for _ in range(args.repeats) for name, root in roots.items() for c in COMMANDS]
    for r in rows:
        print(f"{r['version']:<6} {r['wall_s']:6.2f} s wall {r['cpu_s']:5.2f} s cpu  exit {r['exit']}  {r['command']}")
    write_json_atomic(args.out, {"cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
                                 "python": sys.version.split()[0], "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
