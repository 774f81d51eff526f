"""Merged against unmerged LoRA for the toolkit's reads: greedy decoding of the label
tokens, and the states of prompt + generated tokens, on one trained checkpoint.

Both arms run in one process on the same prompts (unmerged first, then the adapter is
merged in place with ``mi_toolkit.states.checkpoints.merge_for_inference``); best of
``--repeats`` each. The generated tokens must agree and the states must match to
float32 rounding, else the script exits 1.

    .venv/bin/python benchmarks/bench_merge.py --checkpoint runs/pipeline/models/generator \\
        --json benchmarks/results/bench_merge.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def best(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from mi_toolkit.states.checkpoints import merge_for_inference
    from predgen_core.checkpoint import load
    from predgen_common.io import write_results_json

    ld = load(args.checkpoint)
    ex = ld.task.load("validation", data_dir=str(REPO.parent / "shared" / "data"), max_samples=args.n)
    prompts = [ld.task.prompt(e) for e in ex]
    arms = {}
    for arm in ("unmerged", "merged"):
        if arm == "merged" and not merge_for_inference(ld.model):
            sys.exit("this checkpoint's adapter cannot be merged")
        gen_s, gen = best(lambda: ld.generate_targets(prompts), args.repeats)
        st_s, states = best(lambda: ld.hidden_states(prompts), args.repeats)
        arms[arm] = {"generate_s": gen_s, "states_s": st_s, "tokens": gen, "states": states}
    diff = max(float((a - b).abs().max()) for a, b in zip(arms["unmerged"]["states"], arms["merged"]["states"]))
    same = arms["unmerged"]["tokens"] == arms["merged"]["tokens"]
    out = {"checkpoint": str(args.checkpoint), "n": len(prompts), "repeats": args.repeats,
           "same_tokens": same, "max_abs_state_diff": diff,
           **{f"{a}_{k}": round(v[k], 3) for a, v in arms.items() for k in ("generate_s", "states_s")},
           "speedup_generate": round(arms["unmerged"]["generate_s"] / arms["merged"]["generate_s"], 3),
           "speedup_states": round(arms["unmerged"]["states_s"] / arms["merged"]["states_s"], 3)}
    print(json.dumps(out, indent=1))
    if args.json:
        write_results_json(args.json, out)
    if not same or diff > 1e-2:
        sys.exit(1)


if __name__ == "__main__":
    main()
