"""Shared body of the ablation figures (4, 5, 6): train PredGen variants and evaluate each."""
from __future__ import annotations

from typing import Any

from _common import budget, checkpoint, data_dir, save


def run_variants(args: Any, name: str, dataset: str, variants: dict[str, dict[str, Any]], metric: str,
                 note: str) -> None:
    """Train one PredGen per variant (``TrainConfig`` overrides) and record its validation metric with a
    95% interval (Wilson for accuracy, bootstrap for MSE) over the evaluation examples; variants whose
    intervals overlap are not ordered by this run."""
    import plotly.graph_objects as go

    from mi_toolkit.reports import html as report
    from predgen_core.api import evaluate

    rows = []
    for label, overrides in variants.items():
        tag = "-" + label.split(" (")[0].replace(" ", "_").replace("=", "")  # "wdal (= multiplicative)" -> -wdal
        ckpt = checkpoint(args, "predgen", dataset, tag=tag, **overrides)
        m = evaluate(ckpt, dataset, max_samples=budget(args).eval_samples, data_dir=data_dir(args.data_dir),
                     seed=args.seed)
        rows.append({"variant": label, "overrides": overrides, "checkpoint": str(ckpt), "metrics": m})
        print(f"{label}: {metric} = {m[metric]:.4f} [{m[metric + '_ci'][0]:.4f}, {m[metric + '_ci'][1]:.4f}]")
    vals = [r["metrics"][metric] for r in rows]
    cis = [r["metrics"][metric + "_ci"] for r in rows]
    fig = go.Figure(go.Bar(x=[r["variant"] for r in rows], y=vals, error_y=dict(
        type="data", symmetric=False, array=[hi - v for v, (_, hi) in zip(vals, cis)],
        arrayminus=[v - lo for v, (lo, _) in zip(vals, cis)])))
    fig.update_layout(title=f"{name} on {dataset}", yaxis_title=metric, template="plotly_white")
    table = report.table([
        "variant", metric, "95% interval", "n", "parse failures"],
        [(r["variant"], f"{v:.4f}", f"[{lo:.4f}, {hi:.4f}]", r["metrics"].get("n"), r["metrics"].get("parse_failures"))
         for r, v, (lo, hi) in zip(rows, vals, cis)])
    html = report.page(f"{name} ({dataset})", [("Results", table + f"<p class='note'>{report.esc(note)}</p>")],
                       [(0, fig)])
    save(args, f"{name}_{dataset}", {"dataset": dataset, "metric": metric, "note": note, "rows": rows}, html)
