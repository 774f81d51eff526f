"""Does reducing each 576-wide row before the critic (``--row-dim``) change the DPI and sweep estimates?

Re-estimates the main job's DPI report and PCA sweep from its cached states with
``row_dim`` off and at several sizes (estimation only: no training, states reused), so
the effect of the critic's input width at a few hundred examples is measured, not guessed.

    .venv/bin/python analyses/row_dim_check.py --run runs/pipeline
"""
from __future__ import annotations

from pathlib import Path

from _common import data_dir, parser, save

METHODS = ("predictor", "generator", "predgen")


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--run", type=Path, default=Path("runs/pipeline"), help="an `mi pipeline` output folder")
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--row-dims", default="none,8,16,32,64")
    ap.add_argument("--max-samples", type=int, default=600, help="as the run's --max-samples (reuses its states)")
    args = ap.parse_args()
    from mi_toolkit.measures.dpi import dpi_for
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.measures.sweep import pca_sweep_for

    ckpts = [args.run / "models" / m for m in METHODS]
    common = dict(data_dir=data_dir(args.data_dir), max_samples=args.max_samples, seed=args.seed, progress=False)
    models = Setting.from_references(ckpts, args.dataset, **common)   # the DPI report's models
    last = Setting.from_options([ckpts[-1]], args.dataset, **common)  # the sweep's
    rows = []
    for text in args.row_dims.split(","):
        rd = None if text.strip() == "none" else int(text)
        rep = dpi_for(models, row_dim=rd)
        sweep = pca_sweep_for(last, [1, 2, 4, 8], row_dim=rd)
        rows.append({"row_dim": rd, "within_model": rep.to_dict()["within_model"], "dpi_flags": rep.flags,
                     "sweep": sweep.to_dict()})
        print(rd, {m: round(r["R"].mi, 3) for m, r in rep.results.items()},
              [round(r.mi, 3) for r in sweep.results])
    save(args, f"row_dim_check_{args.dataset}", {"run": str(args.run), "rows": rows})


if __name__ == "__main__":
    main()
