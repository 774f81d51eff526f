"""Shared HTML and plotly helpers: self-contained pages (plotly.js inlined, open offline).

Every page carries how each number was obtained (estimator, splits, n, seed) and its
interval; the wording treats every estimate as a lower bound on the true MI.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Sequence

import plotly.graph_objects as go

from predgen_common.errors import UserError
from predgen_common.io import atomic_path, portable_text, write_text_atomic

from mi_toolkit.measures.fmt import fmt_result, provenance  # noqa: F401  (re-exported for the page modules)

LOWER_BOUND_NOTE = (
    "Each estimate is usable information in nats (H(Y) minus a held-out cross-entropy: a lower bound on the "
    "true mutual information for the probe family and sample size used), with a 95% interval that says what "
    "it covers. Two estimates are compared by their paired difference on the same examples, never by "
    "whether separate intervals overlap; a higher reading is evidence that more is recoverable, not that "
    "more is kept."
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.flag{color:#a40000;font-weight:600}.note{color:#555;font-size:0.92em}code{background:#f6f6f6;padding:0 3px}
"""


def esc(text: Any) -> str:
    return html.escape(str(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw_cols: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped unless their column index is in ``raw_cols``."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if j in raw_cols else esc(c)}</td>" for j, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_div(fig: Any, first: bool) -> str:
    """A plotly figure as an HTML fragment; the first one on a page inlines plotly.js."""
    return fig.to_html(full_html=False, include_plotlyjs=True if first else False,
                       config={"displaylogo": False})


def page(title: str, sections: Sequence[tuple[str, str]], figures: Sequence[tuple[int, Any]] = (),
         footer: str = "") -> str:
    """A complete self-contained page.

    ``sections``: ``(heading, html)`` pairs; ``figures``: ``(section index, plotly figure)``
    pairs appended to that section. plotly.js is inlined once, so the page opens offline.
    """
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>"]
    first = True
    for i, (heading, body) in enumerate(sections):
        parts.append(f"<h2>{esc(heading)}</h2>{body}" if heading else body)
        for j, fig in figures:
            if j == i:
                parts.append(figure_div(fig, first))
                first = False
    parts.append(f"<p class='note'>{esc(LOWER_BOUND_NOTE)}</p>{footer}</body></html>")
    return "".join(parts)


PLOTLY_FILE = "plotly.min.js"


def write_page(path: str | Path, text: str, *, plotlyjs: str | None = None) -> Path:
    """Write a page atomically (absolute paths in it made portable); returns its path.

    ``plotlyjs``: ``"inline"`` (the default; the page opens offline on its own) or
    ``"beside"``: the page loads ``plotly.min.js`` from its own folder, written there when
    missing, so committed figures share one 4.7 MB copy and still open offline. The
    default comes from ``$MI_PLOTLYJS`` when set.
    """
    mode = plotlyjs or os.environ.get("MI_PLOTLYJS") or "inline"
    if mode not in ("inline", "beside"):
        raise UserError(f"plotly.js mode {mode!r} is unknown; choose inline or beside")
    text = portable_page(text)
    if mode == "beside":
        text = share_plotlyjs(text, Path(path).parent)
    return write_text_atomic(path, text)


def portable_page(text: str) -> str:
    """:func:`predgen_common.io.portable_text` on a page, leaving the inlined plotly.js library untouched."""
    from plotly.offline import get_plotlyjs

    parts = text.split(get_plotlyjs())
    return get_plotlyjs().join(portable_text(part) for part in parts)


def share_plotlyjs(text: str, folder: Path) -> str:
    """``text`` with its inlined plotly.js replaced by ``<script src="plotly.min.js">``, the file
    written into ``folder`` (once; rewritten when the installed plotly differs)."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    inline = f"<script>{js}</script>"
    if inline not in text:
        return text
    target = Path(folder) / PLOTLY_FILE
    if not target.is_file() or target.stat().st_size != len(js.encode("utf-8")):
        write_text_atomic(target, js)
    return text.replace(inline, f'<script charset="utf-8" src="{PLOTLY_FILE}"></script>')


def check_png_renderer() -> None:
    """Raise a clear UserError when no static image renderer (kaleido) is installed."""
    try:
        import kaleido  # noqa: F401  (an optional renderer: imported only to see whether it is there)
    except ImportError:
        raise UserError(
            "--png needs a static image renderer and none is installed (plotly uses kaleido); "
            "install it with `pip install kaleido`, or open the HTML file and use its camera button"
        ) from None


def save_png(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as a PNG where a static renderer (kaleido) exists; a clear UserError otherwise."""
    check_png_renderer()
    with atomic_path(path) as tmp:
        fig.write_image(str(tmp), format="png")
    return Path(path)


def error_bar_figure(x: Sequence[Any], results: Sequence[Any], name: str, *, title: str, x_title: str,
                     ceiling: float | None = None, mode: str = "lines+markers"):
    """A plotly figure of MI estimates with asymmetric 95% error bars (and the H(Y) ceiling)."""
    mi = [r.mi for r in results]
    fig = go.Figure(go.Scatter(
        x=list(x), y=mi, mode=mode, name=name,
        error_y=dict(type="data", symmetric=False, array=[r.ci_high - r.mi for r in results],
                     arrayminus=[r.mi - r.ci_low for r in results]),
        hovertext=[f"{fmt_result(r)} nats<br>{provenance(r)}" for r in results], hoverinfo="text",
    ))
    if ceiling is not None:
        fig.add_hline(y=ceiling, line_dash="dot", annotation_text=f"H(Y) = {ceiling:.3f} nats")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="MI lower bound (nats)",
                      template="plotly_white")
    return fig


def comparison_table(comparisons: Sequence[Any], a_header: str, b_header: str, diff_header: str) -> str:
    """Paired comparisons (``measures.compare.Comparison``) as a table: a, b, difference [CI], Holm p, verdict."""
    rows = [(c.a, c.b, c.difference(), c.holm(), c.n, c.verdict)
            for c in comparisons]
    return table([a_header, b_header, diff_header, "Holm p", "n paired", "verdict"], rows)
