"""How the probe chooses among candidates with a held-out set: on the held-out folds ("test", the
default) against 5-fold CV on the fit pool ("fit"), side by side on the same real states.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_selection.py --model runs/pipeline/models/predgen

The pools are the quick pipeline's earlier ones (600 SST-2 train sentences disjoint from the LM's
training examples, NOT length-matched, and 600 validation sentences, seed 0), where the fit pool
differs from the evaluation pool (phrases against sentences). For each rule: the PCA sweep
(k = 1, 2, 4, 8, nested) and the DPI report's within-model part, their readings, the paired
comparisons, and the CPU seconds. Writes ``benchmarks/results/bench_selection.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mi_toolkit.estimators import ProbeConfig  # noqa: E402
from mi_toolkit.measures.dpi import ModelStates, dpi_from_states  # noqa: E402
from mi_toolkit.measures.estimate import Estimation  # noqa: E402
from mi_toolkit.measures.pools import PoolSpec, draw_pools  # noqa: E402
from mi_toolkit.measures.sweep import sweep_states  # noqa: E402
from mi_toolkit.states import checkpoints as ck  # noqa: E402
from mi_toolkit.states.extract import ExtractOptions, extract  # noqa: E402
from predgen_common.io import write_results_json  # noqa: E402
from predgen_mi.pipeline import local_data_dir  # noqa: E402


def one_rule(fit, ev, rule: str, name: str) -> dict:
    how = Estimation(config=ProbeConfig(select_on=rule))
    start = time.process_time()
    sweep = sweep_states(fit, ev, [1, 2, 4, 8], how)
    rep = dpi_from_states([ModelStates(name, name, fit, ev)], how)
    return {"cpu_seconds": round(time.process_time() - start, 1),
            "sweep_mi": [r.mi for r in sweep.results], "sweep_comparisons": [c.sentence() for c in sweep.comparisons],
            "sweep_flags": [f["message"] for f in sweep.flags],
            "within_mi": {k: v.mi for k, v in rep.results[name].items()},
            "within_comparisons": [c.sentence() for c in rep.comparisons if c.kind == "within"],
            "reads_lower": sum(c.verdict == "reads lower" for c in list(sweep.comparisons) + rep.comparisons)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="runs/pipeline/models/predgen")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_selection.json")
    args = ap.parse_args()
    ddir = local_data_dir(args.data_dir)
    info = ck.describe(args.model)
    fit_ex, ev_ex, pools = draw_pools([args.model], ck.task_for(info, "sst2"),
                                      PoolSpec(n_fit=args.n, n_eval=args.n, seed=0, data_dir=ddir,
                                               match_lengths=False))
    fit = extract(args.model, "sst2", "train", -1, data_dir=ddir, seed=0, options=ExtractOptions(examples=fit_ex))
    ev = extract(args.model, "sst2", "validation", -1, data_dir=ddir, seed=0, options=ExtractOptions(examples=ev_ex))
    name = ck.method_name(info)
    rules = {rule: one_rule(fit, ev, rule, name) for rule in ("test", "fit")}
    out = {"model": args.model, "pools": pools.to_dict(), "rules": rules,
           "cpu_ratio_fit_over_test": rules["fit"]["cpu_seconds"] / max(rules["test"]["cpu_seconds"], 1e-9),
           "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_selection.py --model " + args.model}
    print(write_results_json(args.out, out))
    for rule, r in rules.items():
        print(rule, [round(x, 3) for x in r["sweep_mi"]], r["reads_lower"], "reads-lower verdicts,", r["cpu_seconds"], "s")


if __name__ == "__main__":
    main()
