"""Usable information against fit-set size on the three methods' SST-2 checkpoints (issue 14).

For each checkpoint: the pooled last-token state, the full token states and R, read at 5 fit-set
sizes up to 4/5 of the pool (cross-fitted over a pool of SST-2 train sentences disjoint from the LMs'
training examples and drawn to the validation sentences' lengths: the fit pool of fig2 at the same
--max-samples, so the states are shared), with the online code length (MDL) and paired comparisons
at every size. ``--controls`` adds the shuffled-label and random-init controls for those methods.

    .venv/bin/python analyses/curve_by_n.py --quick --models-from runs/pipeline/models --max-samples 2500 --suffix=-n2500
"""
from __future__ import annotations

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
    from mi_toolkit.measures.curve_model import model_curve, parse_representations
    from mi_toolkit.reports.curve import curve_html

    reps = parse_representations(args.representations, 2)
    with_controls = {m for m in args.controls.split(",") if m}
    for method in args.methods.split(","):
        path = checkpoint(args, method, "sst2", evaluate=False)
        curve, _ = model_curve(path, "sst2", representations=reps, split="train", max_samples=args.max_samples,
                               data_dir=data_dir(args.data_dir), config=CurveConfig(n_sizes=args.sizes),
                               seed=args.seed, controls=method in with_controls, like_split="validation",
                               like_samples=args.like_samples)
        save(args, f"curve_by_n_{method}_sst2", {"checkpoint": str(path), "curve": curve.to_dict()},
             curve_html(curve))


if __name__ == "__main__":
    main()
