"""Figure 6: WDAL against the adaptive and adapter-only losses.

The published WDAL, max(L_W^2, L_D^2) * exp(-|log L_W - log L_D|), equals L_W x L_D exactly
for positive losses (predgen_core.methods.losses; docs/training.md), so the paper's
"multiplicative" arm is the same loss: the two are one arm here, "wdal (= multiplicative)".
Asking for both (``--losses wdal,multiplicative,...``) trains both anyway, as a replicate: the
difference between them is then floating-point and ordering noise of training, not an effect
of the loss, and the JSON says so.

    .venv/bin/python analyses/fig6_loss_functions.py --quick
"""
from __future__ import annotations

from _ablation import run_variants
from _common import parser

SAME = {"wdal", "multiplicative"}


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--losses", default="wdal,adaptive,adapter-only")
    args = ap.parse_args()
    metric = "mse" if args.dataset in ("stsb", "sick") else "accuracy"
    losses = args.losses.split(",")
    label = {l: ("wdal (= multiplicative)" if l in SAME and len(SAME & set(losses)) == 1 else l) for l in losses}
    note = ("PredGen with each loss combiner (predgen_core.methods.losses); everything else equal. WDAL and "
            "multiplicative are the same function (L_W x L_D)")
    note += ("; both were trained here as replicates, so their difference is training noise, not a loss effect."
             if SAME <= set(losses) else ", so one arm stands for both.")
    run_variants(args, "fig6_loss_functions", args.dataset, {label[l]: {"loss": l} for l in losses}, metric, note)


if __name__ == "__main__":
    main()
