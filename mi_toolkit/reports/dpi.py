"""The DPI report as a self-contained HTML page.

Sections: what the theorem says (a plain-language box), the pools, (a) within each model,
(b) across methods, (c) the ceiling, flags, and provenance.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mi_toolkit.measures.dpi import FULL, NO_METHOD_VERDICT, R, DPIReport, pca_name
from mi_toolkit.measures.fmt import fmt_difference, fmt_result, provenance, shown_values
from mi_toolkit.measures.pools import Pools
from mi_toolkit.reports import html as report

THEOREM_BOX = (
    "<div style='border:1px solid #bbb;padding:0.6em 1em;background:#fafafa'>"
    "<p><b>What the theorem says.</b> Theorem 1 (the data processing inequality) says that a function of the "
    "states cannot hold more information about the label than the states themselves: I(Y; g(Z)) &le; I(Y; Z). "
    "When the states are an injective function of the input (an LM's hidden states almost surely are), Z "
    "determines the input, so I(Y; Z) equals I(Y; input) for every model, and the theorem holds with equality: "
    "it cannot order two models' true MI.</p>"
    "<p><b>What is measured instead.</b> Each number is the usable information (V-information, Xu et al. 2020) "
    "for a family of probes at this sample size: H(Y) minus the held-out cross-entropy of the best probe chosen "
    "by cross-validation. It is a lower bound on the true MI. Usable information need not obey the DPI "
    "(processing can make information easier to read), so the report nests by construction: a container's probe "
    "candidates include each part's, and it can read below a part only by selection noise.</p>"
    "<p><b>What a difference means.</b> A paired difference is the mean, over the same evaluation examples, of "
    "the per-example log-loss gains of two probes. 'Reads higher' means this probe family recovers more label "
    "information from one representation than from the other at this n, beyond the paired interval after a "
    "Holm correction over every comparison in this report. It does not mean that one representation "
    "<i>keeps</i> more information: the true MI of both may be equal (and is, for injective states).</p></div>"
)


def dpi_figures(rep: DPIReport) -> tuple[go.Figure, go.Figure]:
    """(b) the across-methods bars, (a) every representation of every model, each with the ceiling."""
    rows = rep.across()

    def bars(results, **kw):
        vals = [shown_values(x) for x in results]
        return dict(y=[v for v, _, _ in vals], error_y=dict(type="data", symmetric=False,
                    array=[hi - v for v, _, hi in vals], arrayminus=[v - lo for v, lo, _ in vals]), **kw)

    fig_b = go.Figure(go.Bar(x=[f"{m} ({r})" for m, r, _ in rows], hovertext=[provenance(x) for *_, x in rows],
                             hoverinfo="text+y", **bars([x for *_, x in rows])))
    fig_a = go.Figure()
    for name, reps in rep.results.items():
        keys = [k for k in (FULL, R, pca_name(rep.pca_k), "pooled:first", "pooled:mean", "pooled:last") if k in reps]
        fig_a.add_trace(go.Bar(name=name, x=keys, **bars([reps[k] for k in keys])))
    for fig, title in ((fig_a, "(a) within each model"), (fig_b, "(b) across methods (paper's Figure 2)")):
        if rep.ceiling is not None:
            fig.add_hline(y=rep.ceiling, line_dash="dot", annotation_text=f"H(Y) = {rep.ceiling:.3f}")
        fig.update_layout(title=title, yaxis_title="usable information (nats), a lower bound on MI",
                          template="plotly_white", barmode="group")
    return fig_a, fig_b


def _comparison_table(rep: DPIReport, kind: str) -> str:
    chosen = [c for c in rep.comparisons if c.kind == kind]
    if not chosen:
        return "<p>No comparisons of this kind.</p>"
    return report.comparison_table(chosen, "a", "b", "a - b nats [95% paired CI]")


def _reading(c: Any) -> str:
    """The conditional reading's verdict: its paired comparison's (one rule for both tables)."""
    if c.detected:
        return "adds information" + (f" (reads higher, Holm p = {c.p_holm:.3g})" if c.p_holm is not None else "")
    return "nothing detected beyond it at this n" + (f" ({c.verdict})" if c.verdict else "")


def _conditional_table(rep: DPIReport) -> str:
    """What each container adds beyond each of its parts, as conditional usable information."""
    if not rep.conditional:
        return ""
    rows = [(c.target, c.given, fmt_difference(c.value, c.ci_low, c.ci_high, c.neither_detected), f"{c.h_given:.3f}",
             f"{c.h_joint:.3f}", _reading(c))
            for c in rep.conditional]
    return (report.table(["container", "given part B", "I_V(Y; container | B) nats [95% paired CI]", "H_V(Y | B)",
                          "H_V(Y | container)", "reading"], rows) +
            "<p class='note'>Conditional usable information (Hewitt et al. 2021): H_V(Y | B) - H_V(Y | container), "
            "the held-out cross-entropy with the part alone minus that with the container, whose probe family holds "
            "every candidate of the part's. The same paired differences as the comparisons above, read as what "
            "the container adds.</p>")


def _seeds_html(rep: DPIReport) -> str:
    """Each seed group's reading over its seeds and the method differences, with both spreads apart."""
    if not rep.seed_readings:
        return ""
    rows = [(label, f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]", s.n_seeds[0], f"{s.between_seed_sd:.3f}",
             f"{s.within_seed_se:.3f}", f"{s.total_se:.3f}") for label, s in rep.seed_readings.items()]
    comps = [(c.a, c.b, f"{c.summary.mean:+.3f} [{c.summary.ci_low:+.3f}, {c.summary.ci_high:+.3f}]",
              "/".join(map(str, c.summary.n_seeds)), f"{c.summary.between_seed_sd:.3f}",
              f"{c.summary.within_seed_se:.3f}", f"{c.p_holm:.3g}", c.verdict) for c in rep.seed_comparisons]
    return ("<h3>Methods over seeds</h3>" + report.table(
        ["group and representation", "mean over seeds nats [95% two-level CI]", "seeds", "between-seed SD",
         "within-seed SE", "combined SE"], rows)
        + report.table(["a", "b", "a - b nats [95% two-level CI]", "seeds", "between-seed SD", "within-seed SE",
                        "Holm p", "method verdict"], comps)
        + "<p class='note'>Two-level interval: the seed term (variance of the per-seed means over the seeds) and "
          "the example term (variance over the shared evaluation examples of the per-example values, paired "
          "across groups), Student's t with Satterthwaite's degrees of freedom (measures/seeds.py; coverage in "
          "benchmarks/bench_seeds.py). A method verdict needs at least 3 seeds in each group.</p>")


def _pools_html(rep: DPIReport) -> str:
    if not rep.pools:
        return "<p class='note'>Pools not recorded (states passed in directly).</p>"
    lines = Pools(**rep.pools).lines()
    return "<ul>" + "".join(f"<li>{report.esc(x)}</li>" for x in lines) + "</ul>"


def dpi_html(rep: DPIReport, title: str = "DPI report") -> str:
    """A self-contained page: theorem box, pools, (a) within, (b) across, (c) ceiling, flags, provenance."""
    within_rows = [(m, k, fmt_result(x), provenance(x)) for m, reps in rep.results.items() for k, x in reps.items()]
    part_a = (report.table(["model", "representation", "usable information nats [95% CI]", "how"], within_rows)
              + _comparison_table(rep, "within") + _conditional_table(rep) + (
        f"<p class='note'>{FULL} = the token states (prompt [+ generated] tokens) read by the sequence probe; it "
        f"contains first/mean/last. {R} = [{pca_name(rep.pca_k)}; first; mean; last] contains each of its rows. "
        f"{pca_name(rep.pca_k)} is the paper's token-axis PCA (Z_r): it centres each example's tokens, so it does "
        "not contain the mean or the last token state and is not compared with them. Interval of each estimate: "
        "held-out sampling of the evaluation pool; of a difference: a paired bootstrap over the same examples.</p>"))
    across_rows = [(m, rep.methods[m], r, fmt_result(x), provenance(x)) for m, r, x in rep.across()]
    part_b = (report.table(["model", "method", "representation", "usable information nats [95% CI]", "how"],
                           across_rows) + _comparison_table(rep, "across")
              + "<p class='note'>An empirical comparison of usable information of different models (the paper's "
                "Figure 2: the Predictor's pooled state Zp against the Generator's and PredGen's Z_r, and each "
                "model's full token states). The DPI does not order different models.</p>"
              + _seeds_html(rep)
              + ("" if rep.has_method_verdict else f"<p class='flag'>{report.esc(NO_METHOD_VERDICT)}</p>"))
    ceiling = (f"<p>H(Y) = {rep.ceiling:.3f} nats (plug-in, evaluation pool): no estimate of I(Y; .) can exceed "
               "it.</p>" if rep.ceiling is not None else "<p>Continuous target: no finite ceiling.</p>")
    flags = "".join(f"<p class='flag'>{report.esc(f)}</p>" for f in rep.flags) or "<p>No flags.</p>"
    fig_a, fig_b = dpi_figures(rep)
    sections = [("What this report can and cannot say", THEOREM_BOX), ("Pools", _pools_html(rep)),
                ("(a) Within each model", part_a), ("(b) Across methods", part_b), ("(c) Ceiling", ceiling),
                ("Flags", flags), ("Provenance", f"<p class='note'>{report.esc(rep.meta)}</p>")]
    return report.page(title, sections, [(2, fig_a), (3, fig_b)])


def write_dpi(rep: DPIReport, output: str | Path, title: str = "DPI report") -> Path:
    """Write the page atomically; returns its path."""
    return report.write_page(output, dpi_html(rep, title))
