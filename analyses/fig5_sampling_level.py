"""Figure 5: token-level against sequence-level scheduled sampling (MSE on regression).

    .venv/bin/python analyses/fig5_sampling_level.py --quick
"""
from __future__ import annotations

from _ablation import run_variants
from _common import parser


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", default="stsb")
    args = ap.parse_args()
    metric = "mse" if args.dataset in ("stsb", "sick") else "accuracy"
    run_variants(args, "fig5_sampling_level", args.dataset,
                 {"sequence-level": {"sampling_level": "sequence"}, "token-level": {"sampling_level": "token"}},
                 metric, "PredGen with the two scheduled-sampling variants; everything else equal.")


if __name__ == "__main__":
    main()
