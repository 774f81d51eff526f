"""A token-label heatmap as a self-contained HTML page (and a PNG where a renderer exists)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.heatmap import HeatmapResult
from mi_toolkit.reports import html as report


def heatmap_figure(res: HeatmapResult) -> go.Figure:
    """Plotly figure: the PMI heatmap on top, the attributions (if any) below, hover text on every cell."""
    x = list(range(len(res.tokens)))
    ticks = dict(tickmode="array", tickvals=x, ticktext=[t.strip() or repr(t) for t in res.tokens])
    n = 2 if res.attributions is not None else 1
    fig = make_subplots(rows=n, cols=1, vertical_spacing=0.18,
                        subplot_titles=["PMI(token state; label) in nats"]
                        + (["LayerIntegratedGradients: label-token log-prob"] if n == 2 else []))
    hover = [[f"token {j} {res.tokens[j]!r} | {row}: PMI {v:.3f} nats" for j, v in enumerate(vals)]
             for row, vals in zip(res.rows, res.pmi)]
    lim = float(np.nanmax(np.abs(res.pmi))) or 1.0
    fig.add_trace(go.Heatmap(z=res.pmi, x=x, y=res.rows, hovertext=hover, hoverinfo="text", colorscale="RdBu",
                             zmid=0, zmin=-lim, zmax=lim, texttemplate="%{z:.2f}", colorbar=dict(y=0.8, len=0.45)),
                  row=1, col=1)
    if n == 2:
        ahover = [[f"token {j} {res.tokens[j]!r} | {row}: attribution {v:.3f}" for j, v in enumerate(vals)]
                  for row, vals in zip(res.rows, res.attributions)]
        alim = float(np.abs(res.attributions).max()) or 1.0
        fig.add_trace(go.Heatmap(z=res.attributions, x=x, y=res.rows, hovertext=ahover, hoverinfo="text",
                                 colorscale="PiYG", zmid=0, zmin=-alim, zmax=alim, texttemplate="%{z:.2f}",
                                 colorbar=dict(y=0.2, len=0.45)), row=2, col=1)
    for r in range(1, n + 1):
        fig.update_xaxes(ticks, row=r, col=1)
    fig.update_layout(height=260 + 200 * n, template="plotly_white",
                      title=f"Token-label MI: {res.meta.get('method', '')} on {res.meta.get('dataset', '')}")
    return fig


def heatmap_html(res: HeatmapResult) -> str:
    """A self-contained page: figure, strongest tokens per row, critic provenance."""
    rows = []
    for name, vals in zip(res.rows, res.pmi):
        order = [j for j in np.argsort(-np.nan_to_num(vals, nan=-np.inf))[:3]]
        rows.append((name, ", ".join(f"{res.tokens[j].strip()!r} {vals[j]:.2f}" for j in order)))
    body = f"<p>Text: <b>{report.esc(res.text)}</b></p>" + report.table(["row", "highest PMI tokens (nats)"], rows)
    critics = [(c["estimator"], fmt_result(c), c["n_train"], c["n_test"]) for c in res.critic]
    how = report.table(["critic", "held-out I(token state; label) [95% CI]", "n_train pairs", "n_test pairs"], critics)
    how += ("<p class='note'>Each cell is T(z_i, y) - log E_{p(z)p(y)} e^T from a critic trained on (token state, "
            f"label) pairs: {res.meta.get('n_pairs')} pairs from {res.meta.get('n_examples')} examples of "
            f"{report.esc(res.meta.get('dataset'))} {report.esc(res.meta.get('split'))}, layer {res.meta.get('layer')}. "
            "Positive: the token's state makes that label more likely than its base rate. Pairs from one example "
            "share its label and may fall on both sides of the critic's split, so its held-out MI is optimistic. "
            "Attributions: captum LayerIntegratedGradients over the input embeddings (baseline: the text tokens "
            "replaced by the pad token) of each row's label-token log-probability.</p>")
    if res.attribution_info:
        how += report.table(["target token", "log p", "log p at baseline", "convergence delta"],
                            [(i["target_token"], f"{i['logprob']:.3f}", f"{i['baseline_logprob']:.3f}",
                              f"{i['delta']:.2g}") for i in res.attribution_info])
    return report.page("Token-label MI heatmap", [("Heatmap", body), ("How it was made", how)],
                       [(0, heatmap_figure(res))])


def write_heatmap(res: HeatmapResult, output: str | Path, png: bool = False) -> list[Path]:
    """Write the HTML (and, with ``png``, a PNG beside it where a renderer exists)."""
    paths = [report.write_page(output, heatmap_html(res))]
    if png:
        paths.append(report.save_png(heatmap_figure(res), Path(output).with_suffix(".png")))
    return paths
