"""A PCA sweep as a self-contained HTML page: the curve with intervals, paired steps, flags, pools."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from mi_toolkit.measures.fmt import fmt_result, provenance
from mi_toolkit.measures.pools import Pools
from mi_toolkit.measures.sweep import SweepResult
from mi_toolkit.reports import html as report


def sweep_figure(res: SweepResult, title: str = "Usable information against PCA components") -> go.Figure:
    fig = report.error_bar_figure(res.ks, res.results, "I(Y; PCA_k(Z))", title=title,
                                  x_title="PCA components k", ceiling=res.ceiling)
    for f in res.flags:  # only falls whose paired verdict reads lower; dips within noise are not drawn
        fig.add_annotation(x=f["k"], y=f["mi"], text="reads lower: noise", showarrow=True, arrowhead=2,
                           font={"color": "#a40000"})
    return fig


def sweep_html(res: SweepResult, title: str = "PCA sweep: usable information against k") -> str:
    """A self-contained HTML page: the curve with intervals, a table, paired steps, flags and pools."""
    body = report.table(["k", "usable information nats [95% CI]", "how"],
                        [(k, fmt_result(r), provenance(r)) for k, r in zip(res.ks, res.results)])
    if res.comparisons:
        body += report.comparison_table(res.comparisons, "k", "vs smaller k", "difference nats [95% paired CI]")
    nested = ("Each k contains every smaller k (its probe candidates include theirs), so a reading can fall only by "
              "selection noise." if res.meta.get("nested_by_construction") else
              "These estimates are not nested by construction (estimator without contains=).")
    body += f"<p class='note'>{nested} Paired differences are over the same evaluation examples.</p>"
    warns = "".join(f"<p class='flag'>{report.esc(w)}</p>" for w in res.meta.get("warnings", []))
    flags = "".join(f"<p class='flag'>{report.esc(f['message'])}</p>" for f in res.flags) or \
        "<p>No estimate reads lower than a smaller k's (as the DPI requires of the true MI).</p>"
    flags += "".join(f"<p class='note'>dip within noise: {report.esc(d['message'])}</p>" for d in res.dips)
    pools = res.meta.get("pools")
    pool_html = ("<ul>" + "".join(f"<li>{report.esc(x)}</li>" for x in Pools(**pools).lines()) + "</ul>") if pools else ""
    meta = f"<p class='note'>{report.esc({k: v for k, v in res.meta.items() if k != 'pools'})}</p>"
    return report.page(title, [("Estimates", body + warns + flags), ("Pools and provenance", pool_html + meta)],
                       [(0, sweep_figure(res))])


def write_sweep(res: SweepResult, output: str | Path) -> Path:
    return report.write_page(output, sweep_html(res))
