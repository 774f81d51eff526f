"""The model-based ``mi`` commands: ``estimate --model``, ``pca-sweep``, ``dpi``, ``heatmap``, ``pipeline``.

Each command builds its arguments and calls the library (``mi_toolkit.representations``,
``sweep``, ``dpi``, ``heatmap``, ``pipeline``). :func:`register` adds them to the ``mi``
typer app (``mi_toolkit.cli`` does); ``mi estimate`` calls :func:`estimate_model_cmd` when ``--model`` is given.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from predgen_core.errors import UserError, user_errors
from predgen_core.io import write_json_atomic

DATA_DIR_HELP = "folder of <task>/ data folders (falls back to $MI_TOOLKIT_DATA)"


def _console():
    from rich.console import Console

    return Console()


def _print_result(res: Any, info: dict[str, Any]) -> None:
    from mi_toolkit.report import fmt_result, provenance

    con = _console()
    con.print(f"I(Y; {info.get('representation')}) = [bold]{fmt_result(res)}[/bold] nats (95% interval)")
    con.print(f"  {provenance(res)}; fit on {info.get('fit_split')}, reported on {info.get('eval_split')}; "
              f"tokens: {info.get('tokens_used')}")
    if res.ceiling is not None:
        con.print(f"  ceiling H(Y) = {res.ceiling:.3f} nats; the estimate is a lower bound on the true MI")
    if getattr(res, "above_ceiling", False):
        typer.echo(f"warning: the estimate {res.mi:.3f} is above the ceiling H(Y) = {res.ceiling:.3f} nats: "
                   "that is estimator error, not information; try more samples or another estimator", err=True)
    if getattr(res, "below_zero", False):
        typer.echo(f"warning: the estimate {res.mi:.3f} is below 0 beyond its interval; MI cannot be negative, "
                   "so that is estimator error, not information; try more samples or a smaller --pca-k", err=True)


def estimate_model_cmd(model: Path, dataset: str, *, split: str = "validation", fit_split: str = "train",
                       representation: str = "full", pooling: str = "last", pca_k: int = 2, pca_axis: str = "token",
                       layer: int = -1, estimator: Optional[str] = None, max_samples: Optional[int] = None,
                       data_dir: Optional[str] = None, json_out: Optional[Path] = None, seed: int = 0,
                       device: str = "auto") -> Any:
    """``mi estimate --model CKPT --dataset NAME``: fit on ``fit_split``, report on ``split``."""
    from mi_toolkit.representations import Representation, estimate_model

    rep = Representation(representation, pooling, pca_k, pca_axis)
    res, info = estimate_model(model, dataset, rep=rep, eval_split=split, fit_split=fit_split, layer=layer,
                               data_dir=data_dir, max_samples=max_samples, estimator=estimator, seed=seed,
                               device=device)
    _print_result(res, info)
    if json_out:
        write_json_atomic(json_out, {**res.to_dict(), **info, "checkpoint": str(model)})
    return res


ROW_DIM_HELP = ("reduce each d-wide row (PCA component or pooled state) to this many dims with a PCA "
                "fitted on the fit split before the critic (default: off; see docs/reading-mi.md)")


@user_errors
def pca_sweep_cmd(
    model: Path = typer.Option(..., "--model", help="checkpoint folder"),
    dataset: str = typer.Option(..., "--dataset"),
    k: str = typer.Option("1,2,4,8,12,16", "--k", help="comma-separated PCA sizes"),
    split: str = typer.Option("validation", "--split", help="evaluation split"),
    fit_split: str = typer.Option("train", "--fit-split"),
    axis: str = typer.Option("token", "--pca-axis", help="token (default) or feature"),
    row_dim: Optional[int] = typer.Option(None, "--row-dim", help=ROW_DIM_HELP),
    layer: int = typer.Option(-1, "--layer"),
    estimator: Optional[str] = typer.Option(None, "--estimator"),
    max_samples: Optional[int] = typer.Option(None, "--max-samples"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    output: Path = typer.Option(Path("sweep.html"), "--output"),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """MI against the number of PCA components k (Figure 7); all k train as one batched job."""
    from mi_toolkit.report import fmt_result
    from mi_toolkit.sweep import parse_ks, pca_sweep, write_sweep

    res = pca_sweep(model, dataset, parse_ks(k), fit_split=fit_split, eval_split=split, layer=layer,
                    data_dir=data_dir, max_samples=max_samples, axis=axis, estimator=estimator, seed=seed,
                    device=device, row_dim=row_dim)
    con = _console()
    for kk, r in zip(res.ks, res.results):
        con.print(f"k={kk:>3}  I(Y; PCA_k(Z)) = {fmt_result(r)} nats")
    for f in res.flags:
        con.print(f"[red]flag[/red]: {f['message']}")
    write_sweep(res, output)
    con.print(f"wrote {output}")
    if json_out:
        write_json_atomic(json_out, res.to_dict())


@user_errors
def dpi_cmd(
    models: List[Path] = typer.Option(..., "--models", help="checkpoint folders: --models PRED GEN PREDGEN"),
    more: Optional[List[Path]] = typer.Argument(None, hidden=True, help="further checkpoint folders after --models"),
    dataset: str = typer.Option(..., "--dataset"),
    split: str = typer.Option("validation", "--split"),
    fit_split: str = typer.Option("train", "--fit-split"),
    pca_k: int = typer.Option(2, "--pca-k"),
    row_dim: Optional[int] = typer.Option(None, "--row-dim", help=ROW_DIM_HELP),
    layer: int = typer.Option(-1, "--layer"),
    estimator: Optional[str] = typer.Option(None, "--estimator"),
    max_samples: Optional[int] = typer.Option(None, "--max-samples"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    output: Path = typer.Option(Path("report.html"), "--output"),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """DPI report: (a) across methods, (b) within each model, (c) the ceiling H(Y)."""
    from mi_toolkit.dpi import dpi_html, dpi_report
    from mi_toolkit.report import fmt_result, write_page

    rep = dpi_report(list(models) + list(more or []), dataset, fit_split=fit_split, eval_split=split, layer=layer, data_dir=data_dir,
                     max_samples=max_samples, pca_k=pca_k, estimator=estimator, seed=seed, device=device,
                     row_dim=row_dim)
    con = _console()
    for name, r, x in rep.across():
        con.print(f"(a) {name:<12} {r:<14} {fmt_result(x)} nats")
    if rep.ceiling is not None:
        con.print(f"(c) ceiling H(Y) = {rep.ceiling:.3f} nats")
    for f in rep.flags:
        con.print(f"[red]flag[/red]: {f}")
    for v in rep.verdicts:
        con.print(f"- {v}")
    write_page(output, dpi_html(rep))
    con.print(f"wrote {output}")
    if json_out:
        write_json_atomic(json_out, rep.to_dict())


@user_errors
def heatmap_cmd(
    model: Path = typer.Option(..., "--model"),
    text: str = typer.Option(..., "--text", help="the input text ('|||' between fields of multi-field tasks)"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="dataset the critic trains on (default: the checkpoint's task)"),
    split: str = typer.Option("train", "--split"),
    label: Optional[float] = typer.Option(None, "--label", help="regression: the value whose digits form the rows"),
    layer: int = typer.Option(-1, "--layer"),
    estimator: Optional[str] = typer.Option(None, "--estimator"),
    max_samples: Optional[int] = typer.Option(1000, "--max-samples"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    no_attributions: bool = typer.Option(False, "--no-attributions", help="skip the captum attributions"),
    output: Path = typer.Option(Path("heatmap.html"), "--output"),
    png: bool = typer.Option(False, "--png", help="also write a PNG (needs kaleido)"),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Token-label PMI heatmap of one text, with captum attributions beside it."""
    from mi_toolkit.heatmap import heatmap, write_heatmap

    if png:
        from mi_toolkit.report import check_png_renderer

        check_png_renderer()
    res = heatmap(model, text, dataset, split=split, data_dir=data_dir, max_samples=max_samples, layer=layer,
                  label=label, estimator=estimator, seed=seed, attributions=not no_attributions)
    con = _console()
    for row, vals in zip(res.rows, res.pmi):
        con.print(f"{row:>12}: " + "  ".join(f"{t.strip()}={v:+.2f}" for t, v in zip(res.tokens, vals)))
    for p in write_heatmap(res, output, png=png):
        con.print(f"wrote {p}")
    if json_out:
        write_json_atomic(json_out, res.to_dict())


def register(app: typer.Typer) -> None:
    """Add the model-based commands (all but ``estimate``) to the ``mi`` app."""
    app.command("pca-sweep")(pca_sweep_cmd)
    app.command("dpi")(dpi_cmd)
    app.command("heatmap")(heatmap_cmd)
    from mi_toolkit.pipeline import pipeline_cmd

    app.command("pipeline")(pipeline_cmd)
