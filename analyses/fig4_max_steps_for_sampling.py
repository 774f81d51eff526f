"""Figure 4: effect of max_steps_for_sampling (how fast scheduled sampling reaches p = 1).

The paper measures accuracy on MultiArith; this reproduction uses SST-2 accuracy (or
--dataset) because MultiArith is not available offline. Values are scaled to the
budget's step count: fractions of the total steps.

    .venv/bin/python analyses/fig4_max_steps_for_sampling.py --quick
"""
from __future__ import annotations

from _ablation import run_variants
from _common import budget, parser


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--fractions", default="0.1,0.5,1.0,4.0", help="max_steps_for_sampling / total steps")
    args = ap.parse_args()
    steps = budget(args).max_steps
    variants = {f"mss={max(1, round(float(f) * steps))}": {"max_steps_for_sampling": max(1, round(float(f) * steps))}
                for f in args.fractions.split(",")}
    metric = "accuracy" if args.dataset != "stsb" else "mse"
    run_variants(args, "fig4_max_steps_for_sampling", args.dataset, variants, metric,
                 f"PredGen, {steps} optimiser steps; p(step) rises linearly to 1 over max_steps_for_sampling.")


if __name__ == "__main__":
    main()
