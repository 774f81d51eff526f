"""Shared body of the ablation figures (4, 5, 6): train PredGen variants and evaluate each."""
from __future__ import annotations

from typing import Any

from _common import budget, checkpoint, data_dir, save


def run_variants(args: Any, name: str, dataset: str, variants: dict[str, dict[str, Any]], metric: str,
                 note: str) -> None:
    """Train one PredGen per variant (``TrainConfig`` overrides) and record its validation metric."""
    import plotly.graph_objects as go

    from mi_toolkit import report
    from predgen_core.api import evaluate

    rows = []
    for label, overrides in variants.items():
        tag = "-" + label.replace(" ", "_").replace("=", "")
        ckpt = checkpoint(args, "predgen", dataset, tag=tag, **overrides)
        m = evaluate(ckpt, dataset, max_samples=budget(args).eval_samples, data_dir=data_dir(args.data_dir),
                     seed=args.seed)
        rows.append({"variant": label, "overrides": overrides, "checkpoint": str(ckpt), "metrics": m})
        print(f"{label}: {metric} = {m[metric]:.4f}")
    fig = go.Figure(go.Bar(x=[r["variant"] for r in rows], y=[r["metrics"][metric] for r in rows]))
    fig.update_layout(title=f"{name} on {dataset}", yaxis_title=metric, template="plotly_white")
    table = report.table(["variant", metric, "n", "parse failures"],
                         [(r["variant"], f"{r['metrics'][metric]:.4f}", r["metrics"].get("n"),
                           r["metrics"].get("parse_failures")) for r in rows])
    html = report.page(f"{name} ({dataset})", [("Results", table + f"<p class='note'>{report.esc(note)}</p>")],
                       [(0, fig)])
    save(args, f"{name}_{dataset}", {"dataset": dataset, "metric": metric, "note": note, "rows": rows}, html)
