"""Figure 6: WDAL against the adaptive, multiplicative and adapter-only losses.

    .venv/bin/python analyses/fig6_loss_functions.py --quick
"""
from __future__ import annotations

from _ablation import run_variants
from _common import parser


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--losses", default="wdal,adaptive,multiplicative,adapter-only")
    args = ap.parse_args()
    metric = "mse" if args.dataset in ("stsb", "sick") else "accuracy"
    run_variants(args, "fig6_loss_functions", args.dataset, {l: {"loss": l} for l in args.losses.split(",")},
                 metric, "PredGen with each loss combiner (predgen_core.methods.losses); everything else equal.")


if __name__ == "__main__":
    main()
