"""A layer sweep as a self-contained HTML page: usable information against layer, with intervals."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from mi_toolkit.measures.fmt import fmt_result, provenance
from mi_toolkit.measures.layers import LayerSweepResult
from mi_toolkit.reports import html as report

LAYER_NOTE = ("Layer 0 is the embeddings and the last layer is read after the final norm, as transformers' "
              "output_hidden_states numbers them. Layers are different functions of the input, none a function of "
              "another, so the data-processing inequality does not order them: a curve that rises and then falls "
              "is expected, and a dip is not a loss the next layer has to respect.")


def layers_figure(res: LayerSweepResult, title: str = "Usable information against layer") -> go.Figure:
    fig = report.error_bar_figure(res.layers, res.results, f"I(Y; {res.pooling} state)", title=title,
                                  x_title="layer (0 = embeddings)", ceiling=res.ceiling)
    fig.add_annotation(x=res.best, y=max(r.mi for r in res.results), text="best", showarrow=True, arrowhead=2)
    return fig


def layers_html(res: LayerSweepResult, title: str = "Layer sweep: usable information against layer") -> str:
    """The curve with intervals, a table of every layer, paired comparisons with the best layer, flags."""
    rows = [(lay, fmt_result(r), provenance(r)) for lay, r in zip(res.layers, res.results)]
    body = report.table(["layer", "usable information nats [95% CI]", "how"], rows)
    pairs = [(c.b, c.a, c.difference(), f"{c.p_holm:.3g}", c.verdict)
             for c in res.comparisons]
    if pairs:
        body += report.table(["layer", "vs", "best minus layer, nats [95% paired CI]", "Holm p", "verdict"], pairs)
        body += "<p class='note'>Paired differences over the same evaluation examples, Holm-corrected over the sweep.</p>"
    else:
        body += ("<p class='note'>No paired comparisons: the estimator gives no per-example values "
                 "(use --estimator probe).</p>")
    flags = "".join(f"<p class='flag'>{report.esc(f)}</p>" for f in res.flags)
    ceiling = f"<p>Ceiling H(Y) = {res.ceiling:.3f} nats (evaluation split).</p>" if res.ceiling is not None else ""
    meta = f"<p class='note'>{report.esc(res.meta)}</p>"
    return report.page(title, [("Estimates", body + flags + ceiling + f"<p class='note'>{report.esc(LAYER_NOTE)}</p>"),
                               ("Provenance", meta)], [(0, layers_figure(res))])


def write_layers(res: LayerSweepResult, output: str | Path) -> Path:
    return report.write_page(output, layers_html(res))
