"""A usable-information curve as a self-contained HTML page.

One line per representation (95% intervals) against fit-set size on a log axis, the crossings
flagged, the paired comparisons at each size, the online code lengths, the controls beside
the real readings, the conditional readings, and the most and least informative examples.
For groups of checkpoints (one per method, :mod:`mi_toolkit.measures.curve_seeds`): each group's
seed-mean line with its two-level band and how many seeds it stands on, the method comparisons
over seeds at each size, and each checkpoint's own curve.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from mi_toolkit.measures.curve import CurveResult
from mi_toolkit.measures.curve_seeds import SeedCurves
from mi_toolkit.measures.dpi import NO_METHOD_VERDICT, ONE_RUN
from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.per_example import extremes
from mi_toolkit.measures.seeds import MIN_SEEDS
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


# ---- groups of checkpoints (one group per method): means over seeds ------------------------------------------

SEEDS_NOTE = ("Each line is a group's mean over its seeds (one trained checkpoint each, all read on the same pool "
              "with the same folds and fit rows); the band is its 95% two-level interval: the seed term (variance "
              "of the per-seed means over the seeds) plus the example term (variance over the shared examples), "
              "Student's t with Satterthwaite's degrees of freedom (measures/seeds.py). The between-seed SD says "
              "how far a retraining moves the reading, the within-seed SE what one checkpoint's interval covers. "
              "A group of one checkpoint has no seed term: its band covers which examples were drawn only. A "
              f"method verdict needs at least {MIN_SEEDS} seeds in each group; the thin dotted lines are the seeds.")


def _rgba(color: str, alpha: float) -> str:
    h = color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def _seed_text(s: Any) -> str:
    """A mean over seeds as the toolkit writes a reading ('not detected' when its interval reaches 0)."""
    return fmt_result({"mi": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high})


def seed_curves_figure(sc: SeedCurves, title: str = "Usable information against fit-set size, over seeds") -> go.Figure:
    """Each group and representation: the seed-mean line with its two-level band, and each seed dotted."""
    fig, palette = go.Figure(), qualitative.Plotly
    traces = [(g, rep, rows) for g, per in sc.readings.items() for rep, rows in per.items()]
    for i, (g, rep, rows) in enumerate(traces):
        color, k, label = palette[i % len(palette)], len(sc.groups[g]), f"{g} {rep}"
        fig.add_trace(go.Scatter(x=sc.sizes + sc.sizes[::-1], y=[s.ci_high for s in rows] +
                                 [s.ci_low for s in rows][::-1], fill="toself", fillcolor=_rgba(color, 0.15),
                                 line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=label))
        fig.add_trace(go.Scatter(
            x=sc.sizes, y=[s.mean for s in rows], mode="lines+markers", name=f"{label} ({k} seed{'s' * (k != 1)})",
            line={"color": color}, legendgroup=label, hoverinfo="text",
            hovertext=[f"{label}, n={n}: {_seed_text(s)} nats, mean over {k} seed(s); between-seed SD "
                       f"{s.between_seed_sd:.3f}, within-seed SE {s.within_seed_se:.3f}"
                       for n, s in zip(sc.sizes, rows)]))
        for m in sc.groups[g] if k > 1 else []:
            fig.add_trace(go.Scatter(x=sc.sizes, y=[r.mi for r in sc.curves[m].results[rep]], mode="lines",
                                     line={"color": color, "width": 1, "dash": "dot"}, legendgroup=label,
                                     showlegend=False, hovertext=m, hoverinfo="text+y"))
    fig.add_hline(y=sc.ceiling, line_dash="dot", annotation_text=f"H(Y) = {sc.ceiling:.3f} nats")
    fig.update_layout(title=title, xaxis_title="fit-set size n (log scale)", yaxis_title="usable information (nats)",
                      xaxis_type="log", template="plotly_white")
    return fig


def _seed_readings(sc: SeedCurves) -> str:
    rows = [(g, rep, n, _seed_text(s), len(sc.groups[g]),
             f"{s.between_seed_sd:.3f}" if len(sc.groups[g]) > 1 else "none (1 seed)", f"{s.within_seed_se:.3f}",
             f"{s.total_se:.3f}") for g, per in sc.readings.items() for rep, rs in per.items()
            for n, s in zip(sc.sizes, rs)]
    return (f"<p><b>{report.esc(sc.stands_on())}</b></p>" + report.table(
        ["group", "representation", "n", "mean over seeds nats [95% two-level CI]", "seeds", "between-seed SD",
         "within-seed SE", "combined SE"], rows) + f"<p class='note'>{report.esc(SEEDS_NOTE)}</p>")


def _seed_comparisons(sc: SeedCurves) -> str:
    if not sc.comparisons:
        return "<p>One group: no comparison between methods.</p>"
    rows = [(c.representation, c.n, c.group_a, c.group_b, c.difference(),
             "/".join(map(str, c.comparison.summary.n_seeds)),
             "none (1 seed each)" if c.one_run else f"{c.comparison.summary.between_seed_sd:.3f}",
             f"{c.comparison.summary.within_seed_se:.3f}",
             f"{c.comparison.p_holm:.3g}", c.verdict + (f" ({ONE_RUN})" if c.one_run else ""))
            for c in sc.comparisons]
    body = report.table(["representation", "n", "a", "b", "a - b nats [95% two-level CI]", "seeds",
                         "between-seed SD", "within-seed SE", "Holm p", "method verdict"], rows)
    body += ("<p class='note'>Paired over the shared examples; Holm over every size, representation and pair of "
             "this report. A comparison at one n holds at that n only.</p>")
    return body + ("" if sc.has_method_verdict else f"<p class='flag'>{report.esc(NO_METHOD_VERDICT)}</p>")


def _per_seed(sc: SeedCurves) -> str:
    rows = [(g, m, rep, *[fmt_result(r) for r in sc.curves[m].results[rep]])
            for g, ms in sc.groups.items() for m in ms for rep in sc.curves[m].results]
    body = report.table(["group", "checkpoint", "representation"] + [f"n={n}" for n in sc.sizes], rows)
    flags = [f"<p class='flag'>{report.esc(m)}: {report.esc(c.sentence())}: a container reads below its part "
             "beyond the paired interval (selection noise of the estimator)</p>"
             for m, cur in sc.curves.items() for c in cur.comparisons
             if c.kind == "within" and c.verdict == "reads lower"]
    return body + "".join(flags) + ("<p class='note'>Each checkpoint's own curve (its intervals cover the examples "
                                    "only); the JSON keeps every one whole, with its online code and comparisons.</p>")


def seed_curves_html(sc: SeedCurves, *, per_example: Sequence[dict[str, Any]] | None = None,
                     title: str = "Usable information against fit-set size, over seeds") -> str:
    """A self-contained page: the seed means with their bands, the method comparisons, each seed's curve."""
    sections = [("Means over seeds against n", _seed_readings(sc)),
                ("Methods over seeds at each n", _seed_comparisons(sc)), ("Each checkpoint", _per_seed(sc))]
    for m, cur in sc.curves.items():
        if cur.controls is not None:
            sections.append((f"Controls ({m})", _controls(cur)))
    if per_example:
        reps = [k[len("pvi_"):] for k in per_example[0] if k.startswith("pvi_")]
        sections.append(("Per-example PVI (mean over seeds, largest n)", _examples(per_example, reps)))
    sections.append(("Provenance", f"<p class='note'>{report.esc(sc.meta)}</p>"))
    return report.page(title, sections, [(0, seed_curves_figure(sc))])


def write_seed_curves(sc: SeedCurves, output: str | Path, **kw: Any) -> Path:
    return report.write_page(output, seed_curves_html(sc, **kw))
