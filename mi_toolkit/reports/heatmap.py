"""A token-label heatmap as a self-contained HTML page (and a PNG where a renderer exists)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.heatmap import HeatmapResult
from mi_toolkit.reports import html as report

PVI_DEFINITION = ("PVI (pointwise V-information, Ethayarajh et al. 2022), in nats: log q(y | z_i) - log p(y), "
                  "how much more likely a probe q makes label y from token i's state than the label's base rate p.")


def _panel(fig: go.Figure, z: np.ndarray, rows: list[str], tokens: list[str], row: int, what: str, scale: str,
           bar_y: float) -> None:
    hover = [[f"token {j} {tokens[j]!r} | {name}: {what} {v:.3f}" for j, v in enumerate(vals)]
             for name, vals in zip(rows, z)]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig.add_trace(go.Heatmap(z=z, x=list(range(len(tokens))), y=rows, hovertext=hover, hoverinfo="text",
                             colorscale=scale, zmid=0, zmin=-(lim or 1.0), zmax=lim or 1.0, texttemplate="%{z:.2f}",
                             colorbar=dict(y=bar_y, len=0.8 / 3)), row=row, col=1)


def heatmap_figure(res: HeatmapResult) -> go.Figure:
    """Plotly figure: PVI (gold label), the generated-label view (if any), the attributions (if any)."""
    panels = [(res.pvi, res.rows, "PVI(token state -> gold label), nats", "PVI", "RdBu")]
    if res.generated is not None:
        panels.append((res.generated, [f"generated: {res.generated_label}"],
                       "pointwise information of the generated label with each input token, nats", "i", "RdBu"))
    if res.attributions is not None:
        panels.append((res.attributions, res.attribution_rows or res.rows,
                       "LayerIntegratedGradients: label-token log-prob", "attribution", "PiYG"))
    fig = make_subplots(rows=len(panels), cols=1, vertical_spacing=0.15, subplot_titles=[p[2] for p in panels])
    ticks = dict(tickmode="array", tickvals=list(range(len(res.tokens))),
                 ticktext=[t.strip() or repr(t) for t in res.tokens])
    for r, (z, rows, _, what, scale) in enumerate(panels, start=1):
        _panel(fig, np.asarray(z, float), rows, res.tokens, r, what, scale, 1 - (r - 0.5) / len(panels))
        fig.update_xaxes(ticks, row=r, col=1)
    fig.update_layout(height=200 + 200 * len(panels), template="plotly_white",
                      title=f"Token-label information: {res.meta.get('method', '')} on {res.meta.get('dataset', '')}")
    return fig


def heatmap_html(res: HeatmapResult) -> str:
    """A self-contained page: figure, strongest tokens per row, probe provenance, definitions."""
    rows = []
    for name, vals in zip(res.rows, res.pvi):
        order = [j for j in np.argsort(-np.nan_to_num(vals, nan=-np.inf))[:3]]
        rows.append((name, ", ".join(f"{res.tokens[j].strip()!r} {vals[j]:.2f}" for j in order)))
    body = f"<p>Text: <b>{report.esc(res.text)}</b></p>" + report.table(["row", "highest PVI tokens (nats)"], rows)
    body += f"<p class='note'>{report.esc(PVI_DEFINITION)}</p>"
    probes = [(p.get("view", "gold label"), fmt_result(p), p["n_pairs"], p["n_sentences"]) for p in res.probes]
    how = report.table(["probe", "held-out usable information of a token state [95% CI]", "pairs", "sentences"],
                       probes)
    how += _controls(res)
    pool = res.meta.get("fit_pool", {})
    how += ("<p class='note'>Probes: PCA -> standardise -> L2 logistic regression on (token state, label) pairs "
            f"of {res.meta.get('n_examples')} {report.esc(res.meta.get('dataset'))} "
            f"{report.esc(res.meta.get('split'))} sentences ({res.meta.get('n_pairs')} pairs, layer "
            f"{res.meta.get('layer')}), " + ("disjoint from the LM's training examples" if pool.get("disjoint")
                                               else "NOT checked against the LM's training examples") +
            ". Pairs are split by sentence (GroupKFold) and the interval is a bootstrap over sentences. "
            "A binary label shows one row: the other class's PVI is log(1 - q) - log(1 - p), determined by it. "
            "Generated-label view (generative checkpoints): i(y_hat; z_i) = log q'(y_hat | z_i) - log p'(y_hat), "
            "q' a probe of the label the model generated for each sentence, y_hat the label it generates for this "
            "text. Attributions: captum LayerIntegratedGradients over the input embeddings (baseline: the text "
            "tokens replaced by the pad token) of each row's label-token log-probability.</p>")
    how += "".join(f"<p class='flag'>{report.esc(w)}</p>" for w in res.meta.get("warnings", []))
    if res.attribution_info:
        how += report.table(["target token", "log p", "log p at baseline", "convergence delta"],
                            [(i["target_token"], f"{i['logprob']:.3f}", f"{i['baseline_logprob']:.3f}",
                              f"{i['delta']:.2g}") for i in res.attribution_info])
    return report.page("Token-label information heatmap", [("Heatmap", body), ("How it was made", how)],
                       [(0, heatmap_figure(res))])


def _controls(res: HeatmapResult) -> str:
    """The control task beside the gold-label probe: both readings and the selectivity (real - control)."""
    if not res.controls:
        return ""
    rows = [(fmt_result(c["real"]), fmt_result(c["control"]),
             f"{c['selectivity']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]", c["verdict"]) for c in res.controls]
    return (report.table(["gold label", "control task", "selectivity (nats, paired)", "verdict"], rows) +
            "<p class='note'>Control task (Hewitt &amp; Liang 2019): every token type gets one random label drawn "
            "from the label distribution, and the same probe reads it on the same pairs. A token probe that reads "
            "the gold label far above the control reads more than token identity; the interval is a bootstrap "
            "over sentences of the per-pair difference.</p>")


def write_heatmap(res: HeatmapResult, output: str | Path, png: bool = False) -> list[Path]:
    """Write the HTML (and, with ``png``, a PNG beside it where a renderer exists)."""
    paths = [report.write_page(output, heatmap_html(res))]
    if png:
        paths.append(report.save_png(heatmap_figure(res), Path(output).with_suffix(".png")))
    return paths
