"""A usable-information curve as a self-contained HTML page.

One line per representation (95% intervals) against fit-set size on a log axis, the crossings
flagged, the paired comparisons at each size, the online code lengths, the controls beside
the real readings, the conditional readings, and the most and least informative examples.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import plotly.graph_objects as go

from mi_toolkit.measures.curve import CurveResult
from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.per_example import extremes
from mi_toolkit.reports import html as report

CURVE_NOTE = ("Each point is the usable information of one representation for probes fitted on n examples (a lower "
              "bound on the mutual information for this probe family at this n). Every example is scored at every n "
              "by a probe that never saw it, and the n fit rows are the same for every representation, so the "
              "readings at one n are paired. A comparison taken at one n holds at that n only.")
MDL_NOTE = ("Online code length (Voita & Titov 2020): the labels sent block by block along the size grid, each block "
            "coded by the probe fitted on the rows before it (the candidate that coded the earlier blocks best), the "
            "first block in the uniform code. Compression against the prior code (label frequencies of the earlier "
            "rows) is about 1 when the representation tells nothing about the label; against the uniform code it is "
            "Voita & Titov's figure.")


def curve_figure(res: CurveResult, title: str = "Usable information against fit-set size") -> go.Figure:
    fig = go.Figure()
    for rep, results in res.results.items():
        fig.add_trace(go.Scatter(
            x=res.sizes, y=[r.mi for r in results], mode="lines+markers", name=rep,
            error_y=dict(type="data", symmetric=False, array=[r.ci_high - r.mi for r in results],
                         arrayminus=[r.mi - r.ci_low for r in results]),
            hovertext=[f"{rep}, n={n}: {fmt_result(r)} nats ({r.chosen})" for n, r in zip(res.sizes, results)],
            hoverinfo="text"))
    for c in res.crossings:  # red only where the ordering reverses beyond the paired intervals (one rule)
        red = c["beyond_intervals"]
        fig.add_vrect(x0=c["between"][0], x1=c["between"][1], fillcolor="#f4cccc" if red else "#eeeeee",
                      opacity=0.3, line_width=0)
        fig.add_annotation(x=(c["between"][0] * c["between"][1]) ** 0.5, y=max(r.mi for v in res.results.values()
                                                                              for r in v),
                           text=f"{c['a']} / {c['b']} cross" + ("" if red else " (within noise)"), showarrow=False,
                           font={"color": "#a40000" if red else "#666666"})
    fig.add_hline(y=res.ceiling, line_dash="dot", annotation_text=f"H(Y) = {res.ceiling:.3f} nats")
    fig.update_layout(title=title, xaxis_title="fit-set size n (log scale)", yaxis_title="usable information (nats)",
                      xaxis_type="log", template="plotly_white")
    return fig


def _readings(res: CurveResult) -> str:
    reps = list(res.results)
    rows = [[n] + [fmt_result(res.results[r][i]) for r in reps] for i, n in enumerate(res.sizes)]
    body = report.table(["n"] + [f"{r} nats [95% CI]" for r in reps], rows)
    body += report.comparison_table(res.comparisons, "a", "b", "a - b nats [95% paired CI]")
    flags = [f"<p class='{'flag' if c['beyond_intervals'] else 'note'}'>{report.esc(c['message'])}</p>"
             for c in res.crossings]
    lower = [c for c in res.comparisons if c.kind == "within" and c.verdict == "reads lower"]
    flags += [f"<p class='flag'>{report.esc(c.sentence())}: a container reads below its part beyond the paired "
              "interval (selection noise of the estimator; the DPI rules out a loss)</p>" for c in lower]
    if not res.crossings:
        flags.append("<p>No two curves cross inside the measured range.</p>")
    return body + "".join(flags) + f"<p class='note'>{report.esc(CURVE_NOTE)}</p>"


def _codes(res: CurveResult) -> str:
    rows = [(rep, f"{c.nats:.1f}", f"{c.bits:.1f}", f"{c.compression_prior:.3f}", f"{c.compression_uniform:.3f}",
             f"{c.spread[0]:.1f} to {c.spread[1]:.1f}", c.n, ", ".join(map(str, c.schedule)))
            for rep, c in res.codes.items()]
    body = report.table(["representation", "online code (nats)", "(bits)", "compression vs prior code",
                         "vs uniform code", "range over orderings (nats)", "labels sent", "block boundaries"], rows)
    curve = [(rep, ", ".join(f"n={p['n']}: {p['nats']:.1f}" for p in c.per_log_n())) for rep, c in res.codes.items()]
    body += report.table(["representation", "code length of the first n labels (nats), against log n"], curve)
    return body + f"<p class='note'>{report.esc(MDL_NOTE)}</p>"


def _controls(res: CurveResult) -> str:
    if res.controls is None:
        return "<p>No controls were run (pass --controls).</p>"
    rows = [(c.kind, c.representation, fmt_result(c.real), fmt_result(c.control),
             f"{c.selectivity:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]", c.verdict) for c in res.controls.controls]
    notes = "".join(f"<p class='note'>{report.esc(n)}</p>" for n in res.controls.notes)
    return report.table(["control", "representation", "real reading", "control reading",
                         "selectivity nats [95% paired CI]", "verdict"], rows) + notes


def _conditional(res: CurveResult) -> str:
    if not res.conditional:
        return ""
    rows = [(c.target, c.given, f"{c.value:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]", f"{c.h_given:.3f}",
             f"{c.h_joint:.3f}", "detected" if c.detected else "not detected") for c in res.conditional]
    return report.table(["R", "given B", "I_V(Y; R | B) nats [95% paired CI]", "H_V(Y|B)", "H_V(Y|B,R)", ""], rows)


def _examples(rows: Sequence[dict[str, Any]] | None, reps: Sequence[str], k: int = 8) -> str:
    if not rows:
        return ""
    out = []
    for rep in reps:
        most, least = extremes(rows, rep, k)
        for what, sel in (("most", most), ("least", least)):
            out.append(f"<h3>{report.esc(rep)}: the {what} informative examples</h3>" + report.table(
                ["id", "text", "label", f"PVI {rep} (nats)"],
                [(r["id"], str(r["text"])[:160], r["label"], f"{r[f'pvi_{rep}']:+.3f}") for r in sel]))
    return "".join(out)


def curve_html(res: CurveResult, *, per_example: Sequence[dict[str, Any]] | None = None,
               title: str = "Usable information against fit-set size") -> str:
    sections = [("Readings against n", _readings(res)), ("Online code length", _codes(res)),
                ("Controls", _controls(res))]
    if res.conditional:
        sections.append(("Conditional usable information", _conditional(res)))
    if per_example:
        sections.append(("Per-example PVI (largest n)", _examples(per_example, list(res.results))))
    meta = {k: v for k, v in res.meta.items()}
    sections.append(("Provenance", f"<p class='note'>{report.esc(meta)}</p>"))
    return report.page(title, sections, [(0, curve_figure(res))])


def write_curve(res: CurveResult, output: str | Path, **kw: Any) -> Path:
    return report.write_page(output, curve_html(res, **kw))
