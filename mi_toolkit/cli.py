"""The ``mi`` command line: a thin typer layer over :mod:`mi_toolkit.api` and :mod:`mi_toolkit.bench`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from predgen_core.errors import UserError, run_cli, user_errors

app = typer.Typer(help="Mutual-information estimators for model representations.",
                  no_args_is_help=True, add_completion=False)


def _estimator_name(name: Optional[str]) -> Optional[str]:
    """Validate an estimator name early (a UserError lists the valid names)."""
    from mi_toolkit.estimators import ESTIMATORS

    if name is not None and name != "default":
        ESTIMATORS.get(name)
        return name
    return None


def estimate_from_arrays(features: Path, labels: Path, *, estimator: Optional[str], seed: int,
                         device: str):
    """The array path of ``mi estimate``: load ``.npy`` files and estimate (one call)."""
    from mi_toolkit.api import estimate as estimate_mi
    from mi_toolkit.validate import load_array

    z = load_array(features, "features")
    y = load_array(labels, "labels")
    return estimate_mi(z, y, estimator, seed=seed, device=device)


def _print_result(result, source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"I(Y; Z) — {source}", show_header=False)
    table.add_row("estimate", f"[bold]{result.mi:.4f}[/bold] nats  (95% CI {result.ci_low:.4f} – {result.ci_high:.4f})")
    table.add_row("estimator", f"{result.estimator} ({'discrete' if result.discrete else 'continuous'} Y, seed {result.seed}, {result.device})")
    table.add_row("ceiling H(Y)", "n/a (continuous Y)" if result.ceiling is None else f"{result.ceiling:.4f} nats")
    table.add_row("permutation p", f"{result.p_value:.4g}")
    table.add_row("samples", f"train {result.n_train}, held-out test {result.n_test}")
    table.add_row("wall time", f"{result.seconds:.2f} s")
    table.add_row("interval", result.interval_method)
    console = Console()
    console.print(table)
    if result.above_ceiling:
        console.print("[bold red]warning:[/bold red] the estimate exceeds the plug-in H(Y) ceiling; "
                      "this is estimator error, not information")
    if result.below_zero:
        console.print("[bold red]warning:[/bold red] the whole interval is below 0, which true MI never is; "
                      "this is estimator error (too few samples for this input width): nothing detected")


@app.command()
@user_errors
def estimate(
    features: Optional[Path] = typer.Option(None, "--features", help="Z: float .npy, N x d or N x n x d"),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Y: integer .npy (discrete) or float N / N x k"),
    estimator: Optional[str] = typer.Option(None, "--estimator", help="default: classifier (see docs/estimators.md)"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the result as JSON here"),
    model: Optional[Path] = typer.Option(None, "--model", help="model mode: a checkpoint folder (with --dataset)"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="model mode: the task, e.g. sst2"),
    split: str = typer.Option("validation", "--split", help="model mode: the evaluation split"),
    fit_split: str = typer.Option("train", "--fit-split", help="model mode: the split the critic trains on"),
    representation: str = typer.Option("full", "--representation", help="model mode: full | pooled | full+pooled"),
    pooling: str = typer.Option("last", "--pooling", help="model mode: first | mean | last (pooled)"),
    pca_k: int = typer.Option(2, "--pca-k", help="model mode: PCA components of the full states"),
    pca_axis: str = typer.Option("token", "--pca-axis", help="model mode: token (default) | feature"),
    layer: int = typer.Option(-1, "--layer", help="model mode: hidden layer (-1 = last)"),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", help="model mode: examples per split"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="model mode: folder of <task>/ folders (or $MI_TOOLKIT_DATA)"),
) -> None:
    """Estimate I(Y; Z): from .npy arrays (--features/--labels) or a checkpoint's states (--model/--dataset)."""
    from predgen_core.io import write_json_atomic

    name = _estimator_name(estimator)
    if model is not None or dataset is not None:
        if features is not None or labels is not None:
            raise UserError("give --model with --dataset, or --features with --labels, not both")
        if model is None or dataset is None:
            raise UserError("model mode needs both --model CKPT and --dataset NAME (e.g. --dataset sst2)")
        from mi_toolkit.cli_models import estimate_model_cmd

        estimate_model_cmd(model, dataset, split=split, fit_split=fit_split, representation=representation,
                           pooling=pooling, pca_k=pca_k, pca_axis=pca_axis, layer=layer, estimator=name,
                           max_samples=max_samples, data_dir=data_dir, json_out=json_out, seed=seed, device=device)
        return
    if features is None or labels is None:
        raise UserError("pass --features Z.npy and --labels Y.npy, or --model CKPT --dataset NAME")
    result = estimate_from_arrays(features, labels, estimator=name, seed=seed, device=device)
    _print_result(result, f"{features.name} vs {labels.name}")
    if json_out is not None:
        write_json_atomic(json_out, {**result.to_dict(), "features": str(features), "labels": str(labels)})


@app.command()
@user_errors
def bench(
    quick: bool = typer.Option(False, "--quick", help="a representative subset (~1-3 min on 2 cores)"),
    estimators: str = typer.Option("default", "--estimators", help="comma-separated names; 'default' = per-kind default"),
    n: int = typer.Option(5000, "--n", help="samples per task"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write rows and summary as JSON here"),
) -> None:
    """Run the ground-truth suite and print estimates against the truth."""
    from rich.console import Console
    from rich.progress import Progress

    from mi_toolkit.bench import run_suite, suite
    from mi_toolkit.validate import resolve_device
    from predgen_core.io import write_json_atomic

    names = [_estimator_name(s.strip()) for s in estimators.split(",") if s.strip()]
    if not names:
        raise UserError("--estimators is empty; pass e.g. --estimators classifier,ksg")
    if n < 100:
        raise UserError(f"--n {n} is too small for the suite; use at least 100")
    resolve_device(device)
    tasks = suite(quick)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task("mi bench", total=len(tasks) * len(names))
        out = run_suite(tasks, names, n=n, seed=seed, device=device,
                        on_result=lambda row: progress.advance(bar))
    _print_bench(out)
    if json_out is not None:
        write_json_atomic(json_out, {"quick": quick, "n": n, "seed": seed, **out})


def _print_bench(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="mi bench: estimates vs ground truth (nats)")
    for col in ("task", "truth", "estimator", "estimate", "95% CI", "ok", "s"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    for r in out["rows"]:
        flag = "[green]yes[/green]" if r["within_tol"] else "[red]no[/red]"
        table.add_row(r["task"], f"{r['truth']:.3f}", r["estimator"], f"{r['mi']:.3f}",
                      f"{r['ci_low']:.3f} – {r['ci_high']:.3f}", flag, f"{r['seconds']:.1f}")
    console = Console()
    console.print(table)
    for name, s in out["summary"].items():
        indep = "n/a" if s["max_abs_indep"] is None else f"{s['max_abs_indep']:.3f}"
        console.print(f"{name}: within max(0.05, 10%) on {s['within_tol_rate']:.0%}, interval covers truth on "
                      f"{s['coverage_rate']:.0%}, max |MI| on independent data {indep}, "
                      f"median {s['median_seconds']:.2f} s/task")


def _register_model_commands() -> None:
    from mi_toolkit.cli_models import register

    register(app)  # pca-sweep, dpi, heatmap, pipeline


_register_model_commands()


def main() -> None:
    run_cli(app)
