"""Figure 2: MI of each method's representation (Predictor Zp vs Generator / PredGen Z_r), SST-2 and STS-B.

Trains the three methods on each dataset with the mode's budget (or reuses --models-from),
then runs the DPI report (within each model, across methods, ceiling; paired, Holm) with a
probe fit pool disjoint from the LMs' training examples, and saves JSON + HTML per dataset.
A killed run resumes: extracted states are cached per shard.

    .venv/bin/python analyses/fig2_mi_by_method.py --quick
    # a useful n on the pipeline's checkpoints (long; all 872 validation sentences):
    .venv/bin/python analyses/fig2_mi_by_method.py --quick --datasets sst2 --models-from runs/pipeline/models \
        --max-samples 2000 --eval-samples 872 --suffix=-n2000
"""
from __future__ import annotations

from _common import budget, checkpoint, data_dir, parser, save

METHODS = ("predictor", "generator", "predgen")


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--datasets", default="sst2,stsb")
    ap.add_argument("--pca-k", type=int, default=2)
    ap.add_argument("--max-samples", type=int, default=None,
                    help="sentences per split for MI (default: 200 quick, so both datasets fit in 15 min; "
                         "the budget's otherwise)")
    ap.add_argument("--eval-samples", type=int, default=None, help="evaluation-pool size (default: --max-samples)")
    args = ap.parse_args()
    n = args.max_samples or (200 if args.quick else budget(args).mi_samples)
    from mi_toolkit.measures.dpi import dpi_for
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.reports.dpi import dpi_html

    for ds in args.datasets.split(","):
        paths = [checkpoint(args, m, ds, evaluate=False) for m in METHODS]
        setting = Setting.from_references(paths, ds, data_dir=data_dir(args.data_dir), max_samples=n,
                                          eval_samples=args.eval_samples, seed=args.seed)
        rep = dpi_for(setting, pca_k=args.pca_k)
        save(args, f"fig2_mi_by_method_{ds}", {"dataset": ds, "checkpoints": [str(p) for p in paths],
                                               "report": rep.to_dict()},
             dpi_html(rep, f"Figure 2 ({ds}): usable information by method"))


if __name__ == "__main__":
    main()
