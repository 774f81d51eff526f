"""Usable information against fit-set size on the three methods' SST-2 checkpoints (issue 14).

For each checkpoint: the pooled last-token state, the full token states and R, read at 5 fit-set
sizes up to 4/5 of the pool (cross-fitted over a pool of SST-2 train sentences disjoint from the LMs'
training examples and drawn to the validation sentences' lengths: the fit pool of fig2 at the same
--max-samples, so the states are shared), with the online code length (MDL) and paired comparisons
at every size. ``--controls`` adds the shuffled-label and random-init controls for those methods.

With seed folders (``--models-from DIR`` where ``DIR/<method>/seed-<s>/`` are one method's trained seeds, as
``mi pipeline --seeds K`` writes them), every checkpoint is read on one pool disjoint from all of their
training examples, and one file reports, at every size and for every representation, each method's mean
over seeds with its two-level interval, the between- and within-seed spreads, and the method comparisons
over seeds (no method verdict under 3 seeds per method); each seed's own curve is kept in the JSON, and
the controls are read on each chosen method's first seed.

    .venv/bin/python analyses/curve_by_n.py --quick --models-from runs/pipeline/models --max-samples 2500 --suffix=-n2500
    .venv/bin/python analyses/curve_by_n.py --quick --models-from runs/pipeline/models --max-samples 2500 \
        --suffix=-n2500-seeds   # runs/pipeline/models/<method>/seed-<s>/: one file over seeds
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from _common import checkpoint, data_dir, parser, save

METHODS = ("predictor", "generator", "predgen")


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--representations", default="pooled:last,full,R")
    ap.add_argument("--max-samples", type=int, default=2500, help="pool size (the largest fit set is 4/5 of it)")
    ap.add_argument("--like-samples", type=int, default=872, help="validation sentences whose lengths the pool follows")
    ap.add_argument("--sizes", type=int, default=5, help="geometric grid of this many fit-set sizes")
    ap.add_argument("--controls", default="predgen", help="methods that also get the controls ('' for none)")
    args = ap.parse_args()
    from mi_toolkit.measures.curve import CurveConfig
    from mi_toolkit.measures.curve_groups import is_single
    from mi_toolkit.measures.curve_model import CurveOptions, model_curve, parse_representations
    from mi_toolkit.reports.curve import curve_html

    reps = parse_representations(args.representations, 2)
    options = CurveOptions(tuple(reps), config=CurveConfig(n_sizes=args.sizes),
                           controls={m for m in args.controls.split(",") if m})
    paths = {method: checkpoint(args, method, "sst2", evaluate=False) for method in args.methods.split(",")}
    if not all(is_single([p]) for p in paths.values()):
        return over_seeds(args, paths, options)
    for method, path in paths.items():
        curve, _ = model_curve(pool_setting(args, [path]), options)
        save(args, f"curve_by_n_{method}_sst2", {"checkpoint": str(path), "curve": curve.to_dict()},
             curve_html(curve))


def pool_setting(args: argparse.Namespace, models: list[Path]) -> Any:
    """The curve's Setting: a pool of --max-samples SST-2 train sentences disjoint from the models' training
    examples, drawn to the lengths of --like-samples validation sentences (fig2's fit pool)."""
    from mi_toolkit.measures.setting import Setting

    return Setting(models, "sst2", fit_split="train", eval_split="validation", n_fit=args.max_samples,
                   n_eval=args.like_samples, seed=args.seed, data_dir=data_dir(args.data_dir))


def over_seeds(args: argparse.Namespace, paths: dict[str, Path], options: Any) -> None:
    """One pool, every seed of every method: the means over seeds and the method comparisons, in one file
    (``options``: the curve's ``CurveOptions``; its controls on each chosen method's first seed)."""
    from mi_toolkit.measures.curve_groups import model_curves
    from mi_toolkit.reports.curve import seed_curves_html

    sc, _ = model_curves(pool_setting(args, list(paths.values())), options)
    save(args, "curve_by_n_sst2", {"checkpoints": {m: str(p) for m, p in paths.items()}, "curves": sc.to_dict()},
         seed_curves_html(sc, title="Usable information against fit-set size, over seeds (SST-2)"))


if __name__ == "__main__":
    main()
