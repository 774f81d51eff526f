"""A PCA sweep as a self-contained HTML page: the curve with intervals, a table and the flags."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.sweep import SweepResult
from mi_toolkit.reports import html as report


def sweep_figure(res: SweepResult, title: str = "MI against PCA components") -> go.Figure:
    fig = report.error_bar_figure(res.ks, res.results, "I(Y; PCA_k(Z))", title=title,
                                  x_title="PCA components k", ceiling=res.ceiling)
    for f in res.flags:
        fig.add_annotation(x=f["k"], y=f["mi"], text="falls: noise", showarrow=True, arrowhead=2,
                           font={"color": "#a40000"})
    return fig


def sweep_html(res: SweepResult, title: str = "PCA sweep: MI against k") -> str:
    """A self-contained HTML page: the curve with intervals, a table and the flags."""
    rows = [(k, fmt_result(r), f"{r.p_value:.3g}", r.n_train, r.n_test, r.estimator)
            for k, r in zip(res.ks, res.results)]
    body = report.table(["k", "MI nats [95% CI]", "p", "n_train", "n_test", "estimator"], rows)
    flags = "".join(f"<p class='flag'>{report.esc(f['message'])}</p>" for f in res.flags) or \
        "<p>The estimates do not fall as k grows (as the DPI requires of the true MI).</p>"
    meta = f"<p class='note'>{report.esc(res.meta)}</p>"
    return report.page(title, [("Estimates", body + flags + meta)], [(0, sweep_figure(res))])


def write_sweep(res: SweepResult, output: str | Path) -> Path:
    return report.write_page(output, sweep_html(res))
