"""The DPI report as a self-contained HTML page: the three parts, flags, verdicts, provenance."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from predgen_core.methods.heads import POOLINGS

from mi_toolkit.measures.dpi import DPIReport
from mi_toolkit.measures.fmt import fmt_result, provenance
from mi_toolkit.reports import html as report


def dpi_figures(rep: DPIReport) -> tuple[go.Figure, go.Figure]:
    """(a) the across-methods bars, (b) every representation of every model, each with the ceiling."""
    rows = rep.across()
    fig_a = go.Figure(go.Bar(
        x=[f"{m} ({'Zp' if r.startswith('pooled') else 'Z_r'})" for m, r, _ in rows], y=[x.mi for *_, x in rows],
        error_y=dict(type="data", symmetric=False, array=[x.ci_high - x.mi for *_, x in rows],
                     arrayminus=[x.mi - x.ci_low for *_, x in rows]),
        hovertext=[provenance(x) for *_, x in rows], hoverinfo="text+y"))
    fig_b = go.Figure()
    for name, reps in rep.results.items():
        keys = ["full+pooled", "full"] + [f"pooled:{g}" for g in POOLINGS]
        fig_b.add_trace(go.Bar(name=name, x=keys, y=[reps[k].mi for k in keys],
                               error_y=dict(type="data", symmetric=False, array=[reps[k].ci_high - reps[k].mi for k in keys],
                                            arrayminus=[reps[k].mi - reps[k].ci_low for k in keys])))
    for fig, title in ((fig_a, "(a) across methods"), (fig_b, "(b) within each model")):
        if rep.ceiling is not None:
            fig.add_hline(y=rep.ceiling, line_dash="dot", annotation_text=f"H(Y) = {rep.ceiling:.3f}")
        fig.update_layout(title=title, yaxis_title="MI lower bound (nats)", template="plotly_white", barmode="group")
    return fig_a, fig_b


def dpi_html(rep: DPIReport, title: str = "DPI report") -> str:
    """A self-contained page with the three parts, flags and verdicts."""
    a_rows = [(m, rep.methods[m], r, fmt_result(x), provenance(x)) for m, r, x in rep.across()]
    part_a = report.table(["model", "method", "representation", "MI nats [95% CI]", "how"], a_rows) + \
        "<p class='note'>Different models: the DPI does not order them; this comparison is empirical.</p>"
    b_rows = [(m, k, fmt_result(x), f"{x.p_value:.3g}") for m, reps in rep.results.items() for k, x in reps.items()]
    part_b = report.table(["model", "representation", "MI nats [95% CI]", "p"], b_rows) + (
        f"<p class='note'>full = token-axis PCA_{rep.pca_k}(Z); full+pooled = R = [PCA_{rep.pca_k}(Z); first; mean; last]. "
        "The DPI guarantees I(Y;R) &ge; I(Y;g(Z)) for every pooling g; it bounds I(Y;PCA_k(Z)) and I(Y;g(Z)) "
        "by I(Y;Z) but does not order those two.</p>")
    ceiling = (f"<p>H(Y) = {rep.ceiling:.3f} nats (plug-in, evaluation split).</p>" if rep.ceiling is not None
               else "<p>Continuous target: no finite ceiling.</p>")
    flags = "".join(f"<p class='flag'>{report.esc(f)}</p>" for f in rep.flags) or "<p>No flags.</p>"
    verdicts = "<ul>" + "".join(f"<li>{report.esc(v)}</li>" for v in rep.verdicts) + "</ul>"
    fig_a, fig_b = dpi_figures(rep)
    sections = [("(a) Across methods", part_a), ("(b) Within each model", part_b), ("(c) Ceiling", ceiling),
                ("Flags", flags), ("Verdicts", verdicts), ("Provenance", f"<p class='note'>{report.esc(rep.meta)}</p>")]
    return report.page(title, sections, [(0, fig_a), (1, fig_b)])


def write_dpi(rep: DPIReport, output: str | Path, title: str = "DPI report") -> Path:
    """Write the page atomically; returns its path."""
    return report.write_page(output, dpi_html(rep, title))
