"""``mi estimate`` (arrays, or a checkpoint's states) and ``mi bench`` (the ground-truth suite)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from predgen_common.errors import UserError, user_errors
from predgen_common.io import write_results_json
from predgen_core.preflight import check_output
from predgen_common.progress import Phase

from mi_toolkit.bench.suites import SUITES, SuiteOptions
from mi_toolkit.cli.features import FeatureFile, inspect_features
from mi_toolkit.cli.estimator_options import check_options, estimator_config
from mi_toolkit.cli.options import (DataDir, Device, Estimator, EstimatorOptions, FitSplit, JsonOut, Layer, MaxSamples,
                                    PcaAxis, PcaK, Seed, Split)
from mi_toolkit.cli.preflight import check_device, check_estimator, check_representation
from mi_toolkit.validate import as_states, load_array

# Every module this command needs beyond the checks (mi_toolkit.api, the estimators, the measures,
# the reports) imports torch or scikit-learn: each is imported inside the command, after its
# arguments were checked, so a bad input is answered in the time Python starts.

# array mode reads at most this many rows unless --max-samples picks a subset (1e5 x 2: about 2.5 min on 2 cores)
MAX_ARRAY_ROWS = 100_000

FeaturesKey = Annotated[Optional[str], typer.Option(
    "--features-key", help="the array to read from an .npz, .safetensors or torch.save file of several")]
MaskKey = Annotated[Optional[str], typer.Option(
    "--mask-key", help="the (N, T) mask of (N, T, d) features in the same file (default: an array named "
                       "mask or attention_mask, if any)")]


def estimate_mi(*args: Any, **kwargs: Any) -> Any:
    """:func:`mi_toolkit.api.estimate`, imported on the first call (torch and scikit-learn, after the checks)."""
    from mi_toolkit.api import estimate

    return estimate(*args, **kwargs)


def check_arrays(features: Path, labels: Path, max_samples: Optional[int], features_key: Optional[str] = None,
                 mask_key: Optional[str] = None) -> FeatureFile:
    """Headers only: the features file (any format), the labels .npy, their row counts, the row cap."""
    feats = inspect_features(features, features_key, mask_key)
    y = load_array(labels, "labels", mmap=True)
    if y.ndim == 0 or y.shape[0] != feats.rows:
        raise UserError(f"features have N={feats.rows} rows but labels have N={y.shape[0] if y.ndim else 0}; "
                        "pass arrays with one label per feature row")
    if max_samples is None and feats.rows > MAX_ARRAY_ROWS:
        raise UserError(f"--features has {feats.rows:,} rows, above the {MAX_ARRAY_ROWS:,} that array mode reads "
                        f"whole (time and memory grow with N); pass --max-samples {MAX_ARRAY_ROWS} for a seeded, "
                        "stratified subset of rows")
    return feats


def estimate_from_arrays(features: Path, labels: Path, *, estimator: Optional[str], max_samples: Optional[int] = None,
                         features_key: Optional[str] = None, mask_key: Optional[str] = None, **options: Any):
    """The array path of ``mi estimate``: check the files' headers, load them and estimate (one call).
    ``options``: :func:`mi_toolkit.api.estimate`'s keywords (``seed``, ``device``, ``config``)."""
    feats = check_arrays(features, labels, max_samples, features_key, mask_key)
    z, mask = feats.load()
    y = load_array(labels, "labels")
    rows = sample_rows(len(z), y, max_samples, options.get("seed", 0))
    if rows is not None:
        z, y, mask = z[rows], y[rows], (None if mask is None else mask[rows])
    states = z if mask is None else as_states(z, mask)   # padded token states read with their mask
    result = estimate_mi(states, y, estimator, **options)  # probing: a phase of its own
    for note in result.config.get("input_notes", []):
        typer.echo(f"note: {note}", err=True)
    return result


def subsample_rows(z: np.ndarray, y: np.ndarray, max_samples: Optional[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_samples`` rows of ``z`` and ``y`` (seeded; stratified for integer labels); above
    :data:`MAX_ARRAY_ROWS` rows without ``--max-samples``, a one-line refusal before any work."""
    rows = sample_rows(len(z), y, max_samples, seed)
    return (z, y) if rows is None else (z[rows], y[rows])


def sample_rows(n: int, y: np.ndarray, max_samples: Optional[int], seed: int) -> Optional[np.ndarray]:
    """The sorted rows :func:`subsample_rows` keeps, or None for all of them."""
    if max_samples is None and n > MAX_ARRAY_ROWS:
        raise UserError(f"--features has {n:,} rows, above the {MAX_ARRAY_ROWS:,} that array mode reads whole "
                        f"(time and memory grow with N); pass --max-samples {MAX_ARRAY_ROWS} for a seeded, "
                        "stratified subset of rows")
    if max_samples is None or max_samples >= n or len(y) != n:
        return None  # a length mismatch is named by the estimator's checks
    from sklearn.model_selection import train_test_split

    strata = y if np.issubdtype(np.asarray(y).dtype, np.integer) and np.asarray(y).ndim == 1 else None
    if strata is not None and np.bincount(np.unique(strata, return_inverse=True)[1]).min() < 2:
        strata = None
    rows, _ = train_test_split(np.arange(n), train_size=max_samples, random_state=seed, stratify=strata)
    return np.sort(rows)


@user_errors
def estimate(
    features: Annotated[Optional[Path], typer.Option("--features", help="Z: .npy, .npz, .safetensors or torch.save "
                                                     "file; N x d or N x T x d (with an N x T mask)")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="Y: integer .npy (discrete) or float N / N x k")] = None,
    estimator: Estimator = None, seed: Seed = 0, device: Device = "auto", json_out: JsonOut = None,
    model: Annotated[Optional[Path], typer.Option("--model", help="model mode: a checkpoint folder (with --dataset)")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="model mode: the task, e.g. sst2")] = None,
    split: Split = "validation", fit_split: FitSplit = "train",
    representation: Annotated[str, typer.Option("--representation", help="model mode: full (token states) | token-pca (the paper's Z_r) | pooled | full+pooled")] = "full",
    pooling: Annotated[str, typer.Option("--pooling", help="model mode: first | mean | last (pooled)")] = "last",
    pca_k: PcaK = 2, pca_axis: PcaAxis = "token", layer: Layer = -1, max_samples: MaxSamples = None,
    data_dir: DataDir = None, features_key: FeaturesKey = None, mask_key: MaskKey = None,
    estimator_option: EstimatorOptions = None,
) -> None:
    """Estimate I(Y; Z): from saved arrays (--features/--labels) or a model's states (--model/--dataset)."""
    name = check_estimator(estimator)
    check_options(name, estimator_option)
    check_device(device)
    check_output(json_out, "--json", inputs=[features, labels, model, data_dir])  # before any work
    if model is not None or dataset is not None:
        if features is not None or labels is not None:
            raise UserError("give --model with --dataset, or --features with --labels, not both")
        if model is None or dataset is None:
            raise UserError("model mode needs both --model CKPT and --dataset NAME (e.g. --dataset sst2)")
        check_representation(representation, pooling, pca_axis)
        from mi_toolkit.cli.measures import estimate_model_cmd

        estimate_model_cmd(model, dataset, (representation, pooling, pca_k, pca_axis), estimator=name,
                           estimator_options=estimator_option, json_out=json_out, split=split, fit_split=fit_split,
                           layer=layer, max_samples=max_samples, data_dir=data_dir, seed=seed, device=device)
        return
    if features is None or labels is None:
        raise UserError("pass --features Z.npy and --labels Y.npy, or --model CKPT --dataset NAME")
    if estimator_option:  # the files' headers answer first: building the config imports the registry (torch)
        check_arrays(features, labels, max_samples, features_key, mask_key)
    _estimate_arrays(features, labels, json_out, dict(
        estimator=name, seed=seed, device=device, max_samples=max_samples, features_key=features_key,
        mask_key=mask_key, config=estimator_config(name, estimator_option)))


def _estimate_arrays(features: Path, labels: Path, json_out: Optional[Path], options: dict[str, Any]) -> Any:
    """Estimate from the arrays (``options``: :func:`estimate_from_arrays`'s keywords), print, write the JSON."""
    result = estimate_from_arrays(features, labels, **options)
    from mi_toolkit.estimators.companion import companion_rows  # torch too: after the checks and the work
    from mi_toolkit.reports.console import print_result

    # a continuous target's headline is the bound; the critic's estimate beside it is a row of its own
    print_result(result, f"I(Y; Z) — {features.name} vs {labels.name}", notes=companion_rows(result))
    if json_out is not None:
        write_results_json(json_out, {**result.to_dict(), "features": str(features), "labels": str(labels),
                                      "features_key": options["features_key"], "max_samples": options["max_samples"]})
    return result


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
    suite_name: Optional[str] = typer.Option(None, "--suite", help="a named suite instead of the ground-truth "
                                             "tasks: " + ", ".join(SUITES.list())),
) -> None:
    """Run the ground-truth suite and print estimates against the truth."""
    check_output(json_out, "--json")
    check_device(device)
    named = SUITES.get(suite_name) if suite_name is not None else None   # unknown: one line naming the suites
    if named is not None and real:
        raise UserError("pass --suite NAME or --real, not both")
    if real:  # the real-state suite has its own runner and table (mi_toolkit.bench.real)
        from mi_toolkit.bench.real import main as real_main

        real_main(quick, estimators, seed, device, json_out)
        return
    names = [check_estimator(s.strip()) for s in estimators.split(",") if s.strip()]
    if not names:
        raise UserError("--estimators is empty; pass e.g. --estimators classifier,ksg")
    if n < 100:
        raise UserError(f"--n {n} is too small for the suite; use at least 100")
    if named is not None:   # a registered suite computes (torch, after the checks) and prints its own table
        out = named.run(SuiteOptions(quick, names, n, seed, device))
        named.show(out)
        if json_out is not None:
            write_results_json(json_out, {"quick": quick, "n": n, "seed": seed, **out})
        return
    from mi_toolkit.bench.synthetic import run_suite, suite  # torch, after the checks
    from mi_toolkit.validate import resolve_device

    resolve_device(device)
    tasks = suite(quick)
    with Phase("mi bench", total=len(tasks) * len(names), unit="estimates") as progress:
        out = run_suite(tasks, names, n=n, seed=seed, device=device, on_result=lambda row: progress.step())
    _print_bench(out)
    if json_out is not None:
        write_results_json(json_out, {"quick": quick, "n": n, "seed": seed, **out})


def _print_bench(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from mi_toolkit.estimators.result import table_cells

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
