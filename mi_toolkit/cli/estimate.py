"""``mi estimate`` (arrays, or a checkpoint's states) and ``mi bench`` (the ground-truth suite)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from predgen_core.errors import UserError, user_errors
from predgen_core.io import write_results_json

from mi_toolkit.api import estimate as estimate_mi
from mi_toolkit.bench import run_suite, suite
from mi_toolkit.cli.measures import estimate_model_cmd
from mi_toolkit.cli.options import (DataDir, Dataset, Device, Estimator, FitSplit, JsonOut, Layer, MaxSamples,
                                        PcaAxis, PcaK, Seed, Split)
from mi_toolkit.estimators import ESTIMATORS
from mi_toolkit.estimators.result import table_cells
from predgen_core.preflight import check_output
from mi_toolkit.reports.console import print_result
from mi_toolkit.validate import load_array, resolve_device


def _estimator_name(name: Optional[str]) -> Optional[str]:
    """Validate an estimator name early (a UserError lists the valid names)."""
    if name is not None and name != "default":
        ESTIMATORS.get(name)
        return name
    return None


# array mode reads at most this many rows unless --max-samples picks a subset (1e5 x 2: about 2.5 min on 2 cores)
MAX_ARRAY_ROWS = 100_000


def estimate_from_arrays(features: Path, labels: Path, *, estimator: Optional[str], seed: int,
                         device: str, max_samples: Optional[int] = None):
    """The array path of ``mi estimate``: load ``.npy`` files and estimate (one call)."""
    z = load_array(features, "features")
    y = load_array(labels, "labels")
    z, y = subsample_rows(z, y, max_samples, seed)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, disable=len(z) < 10_000) as progress:
        progress.add_task(f"mi estimate: {len(z):,} rows", total=None)
        result = estimate_mi(z, y, estimator, seed=seed, device=device)
    for note in result.config.get("input_notes", []):
        typer.echo(f"note: {note}", err=True)
    return result


def subsample_rows(z: np.ndarray, y: np.ndarray, max_samples: Optional[int], seed: int):
    """At most ``max_samples`` rows (seeded; stratified for integer labels); above
    :data:`MAX_ARRAY_ROWS` rows without ``--max-samples``, a one-line refusal before any work."""
    n = len(z)
    if max_samples is None and n > MAX_ARRAY_ROWS:
        raise UserError(f"--features has {n:,} rows, above the {MAX_ARRAY_ROWS:,} that array mode reads whole "
                        f"(time and memory grow with N); pass --max-samples {MAX_ARRAY_ROWS} for a seeded, "
                        "stratified subset of rows")
    if max_samples is None or max_samples >= n or len(y) != n:
        return z, y  # a length mismatch is named by the estimator's checks
    from sklearn.model_selection import train_test_split

    strata = y if np.issubdtype(np.asarray(y).dtype, np.integer) and np.asarray(y).ndim == 1 else None
    if strata is not None and np.bincount(np.unique(strata, return_inverse=True)[1]).min() < 2:
        strata = None
    rows, _ = train_test_split(np.arange(n), train_size=max_samples, random_state=seed, stratify=strata)
    rows = np.sort(rows)
    return z[rows], y[rows]


@user_errors
def estimate(
    features: Annotated[Optional[Path], typer.Option("--features", help="Z: float .npy, N x d or N x n x d")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="Y: integer .npy (discrete) or float N / N x k")] = None,
    estimator: Estimator = None, seed: Seed = 0, device: Device = "auto", json_out: JsonOut = None,
    model: Annotated[Optional[Path], typer.Option("--model", help="model mode: a checkpoint folder (with --dataset)")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="model mode: the task, e.g. sst2")] = None,
    split: Split = "validation", fit_split: FitSplit = "train",
    representation: Annotated[str, typer.Option("--representation", help="model mode: full (token states) | token-pca (the paper's Z_r) | pooled | full+pooled")] = "full",
    pooling: Annotated[str, typer.Option("--pooling", help="model mode: first | mean | last (pooled)")] = "last",
    pca_k: PcaK = 2, pca_axis: PcaAxis = "token", layer: Layer = -1, max_samples: MaxSamples = None,
    data_dir: DataDir = None,
) -> None:
    """Estimate I(Y; Z): from .npy arrays (--features/--labels) or a checkpoint's states (--model/--dataset)."""
    name = _estimator_name(estimator)
    check_output(json_out, "--json", inputs=[features, labels, model, data_dir])  # before any work
    if model is not None or dataset is not None:
        if features is not None or labels is not None:
            raise UserError("give --model with --dataset, or --features with --labels, not both")
        if model is None or dataset is None:
            raise UserError("model mode needs both --model CKPT and --dataset NAME (e.g. --dataset sst2)")
        estimate_model_cmd(model, dataset, split=split, fit_split=fit_split, representation=representation,
                           pooling=pooling, pca_k=pca_k, pca_axis=pca_axis, layer=layer, estimator=name,
                           max_samples=max_samples, data_dir=data_dir, json_out=json_out, seed=seed, device=device)
        return
    if features is None or labels is None:
        raise UserError("pass --features Z.npy and --labels Y.npy, or --model CKPT --dataset NAME")
    result = estimate_from_arrays(features, labels, estimator=name, seed=seed, device=device,
                                  max_samples=max_samples)
    print_result(result, f"I(Y; Z) — {features.name} vs {labels.name}")
    if json_out is not None:
        write_results_json(json_out, {**result.to_dict(), "features": str(features), "labels": str(labels),
                                      "max_samples": max_samples})


@user_errors
def bench(
    quick: bool = typer.Option(False, "--quick", help="a representative subset (~1-3 min on 2 cores)"),
    estimators: str = typer.Option("default", "--estimators", help="comma-separated names; 'default' = per-kind default"),
    n: int = typer.Option(5000, "--n", help="samples per task"),
    seed: Seed = 0,
    device: Device = "auto",
    json_out: Optional[Path] = typer.Option(None, "--json", help="write rows and summary as JSON here"),
    real: bool = typer.Option(False, "--real", help="tasks on real SmolLM2 states with a known answer, beside a "
                              "scikit-learn probe grid (--n ignored; extracts 2,500 sentences into the cache once)"),
) -> None:
    """Run the ground-truth suite and print estimates against the truth."""
    check_output(json_out, "--json")
    if real:  # the real-state suite has its own runner and table (mi_toolkit.estimators.realbench)
        from mi_toolkit.estimators.realbench import main as real_main

        real_main(quick, estimators, seed, device, json_out)
        return
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
        write_results_json(json_out, {"quick": quick, "n": n, "seed": seed, **out})


def _print_bench(out: dict) -> None:
    table = Table(title="mi bench: estimates vs ground truth (nats)")
    for col in ("task", "truth", "estimator", "estimate", "95% CI", "ok", "s"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    for r in out["rows"]:
        flag = "[green]yes[/green]" if r["within_tol"] else "[red]no[/red]"
        shown, ci = table_cells(r["mi"], r["ci_low"], r["ci_high"], r.get("detected", True))
        table.add_row(r["task"], f"{r['truth']:.3f}", r["estimator"], shown, ci, flag, f"{r['seconds']:.1f}")
    console = Console()
    console.print(table)
    for name, s in out["summary"].items():
        indep = "n/a" if s["max_abs_indep"] is None else f"{s['max_abs_indep']:.3f}"
        console.print(f"{name}: within max(0.05, 10%) on {s['within_tol_rate']:.0%}, interval covers truth on "
                      f"{s['coverage_rate']:.0%}, max |MI| on independent data {indep}, "
                      f"median {s['median_seconds']:.2f} s/task")
