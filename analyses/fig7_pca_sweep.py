"""Figure 7 (appendix C.1): MI against the number of PCA components k.

Trains (or reuses, --models-from) a PredGen checkpoint and sweeps k with nested estimates
(PCA_k contains every smaller k) and paired step comparisons; a fall with k is flagged as
estimator noise.

    .venv/bin/python analyses/fig7_pca_sweep.py --quick
"""
from __future__ import annotations

from _common import budget, checkpoint, data_dir, parser, save


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--method", default="predgen")
    ap.add_argument("--k", default=None, help="default: 1,2,4,8 (quick) or 1,2,4,6,8,10,12,16 (full)")
    ap.add_argument("--pca-axis", default="token")
    ap.add_argument("--max-samples", type=int, default=None, help="fit-pool size (default: the budget's)")
    ap.add_argument("--eval-samples", type=int, default=None, help="evaluation-pool size (default: --max-samples)")
    args = ap.parse_args()
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.measures.sweep import parse_ks, pca_sweep_for
    from mi_toolkit.reports.sweep import sweep_html

    ks = parse_ks(args.k or ("1,2,4,8" if args.quick else "1,2,4,6,8,10,12,16"))
    ckpt = checkpoint(args, args.method, args.dataset)
    setting = Setting.from_options([ckpt], args.dataset, data_dir=data_dir(args.data_dir),
                                   max_samples=args.max_samples or budget(args).mi_samples,
                                   eval_samples=args.eval_samples, seed=args.seed)
    res = pca_sweep_for(setting, ks, axis=args.pca_axis)
    save(args, f"fig7_pca_sweep_{args.dataset}", {"checkpoint": str(ckpt), "sweep": res.to_dict()},
         sweep_html(res, f"Figure 7 ({args.dataset}, {args.method}): MI against PCA components"))


if __name__ == "__main__":
    main()
