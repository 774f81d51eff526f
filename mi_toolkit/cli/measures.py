"""The model-based ``mi`` commands: ``estimate --model``, ``pca-sweep``, ``dpi``, ``heatmap``.

Each command builds its arguments, calls a measure (``mi_toolkit.measures``) and
hands the result to its report (``mi_toolkit.reports``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, List, Optional

import typer
from rich.console import Console

from predgen_common.errors import user_errors
from predgen_common.io import write_results_json

from mi_toolkit.cli.estimator_options import check_options, estimator_config
from mi_toolkit.cli.options import (DataDir, Dataset, Device, Estimator, EstimatorOptions, FitSplit, JsonOut, Layer,
                                    MaxSamples, Model, Output, PcaAxis, PcaK, RowDim, Seed, Split)
from mi_toolkit.cli.preflight import (check_device, check_estimator, check_inputs, check_ks, check_representation,
                                     check_text)

# The measures and reports import torch and scikit-learn: each command imports them inside, after
# check_inputs, so a bad option or a missing file is answered in the time Python starts.

EvalSamples = Annotated[Optional[int], typer.Option(
    "--eval-samples", help="evaluation-pool size (default: --max-samples; every model is scored on the same examples)")]
OverlappingFitPool = Annotated[bool, typer.Option(
    "--overlapping-fit-pool", help="draw the probe's fit pool without removing the LMs' training examples "
                                   "(default: removed, see docs/reading-mi.md); the report then warns")]
AnyLengthFitPool = Annotated[bool, typer.Option(
    "--any-length-fit-pool", help="draw the fit pool without matching the evaluation pool's sentence lengths "
                                  "(default: matched when the splits differ, see docs/reading-mi.md)")]


def _print_result(res: Any, info: dict[str, Any]) -> None:
    from mi_toolkit.reports.console import print_result

    print_result(res, f"I(Y; {info.get('representation')})",
                 {"measured": f"fit on {info.get('fit_split')}, reported on {info.get('eval_split')}; "
                              f"tokens: {info.get('tokens_used')}"})


def estimate_model_cmd(model: Path, dataset: str, representation: tuple[str, str, int, str], *,
                       estimator: Optional[str] = None, estimator_options: Optional[List[str]] = None,
                       json_out: Optional[Path] = None, **options: Any) -> Any:
    """``mi estimate --model CKPT --dataset NAME``: fit on ``fit_split``, report on ``split``; the fit pool
    leaves out the checkpoint's training examples (the model's :class:`~mi_toolkit.measures.setting.Setting`).

    ``representation``: ``(name, pooling, pca_k, pca_axis)``; ``options``: the Setting's option names
    (``split``, ``fit_split``, ``layer``, ``max_samples``, ``data_dir``, ``seed``, ``device``)."""
    check_representation(representation[0], representation[1], representation[3])
    check_options(estimator, estimator_options)
    splits = (options.get("fit_split", "train"), options.get("split", "validation"))
    options["data_dir"] = check_inputs([model], dataset, splits, data_dir=options.get("data_dir"),
                                       max_samples=options.get("max_samples"), seed=options.get("seed", 0),
                                       outputs={"--json": json_out})
    config = estimator_config(estimator, estimator_options)  # before any weights load
    from mi_toolkit.measures.estimate import estimate_for
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.states.representations import Representation

    setting = Setting.from_options([model], dataset, **options)
    res, info = estimate_for(setting, Representation(*representation), estimator=estimator, config=config)
    _print_result(res, info)
    if json_out:
        write_results_json(json_out, {**res.to_dict(), **info, "checkpoint": str(model)})
    return res


@user_errors
def pca_sweep_cmd(model: Model, dataset: Dataset,
                  k: Annotated[str, typer.Option("--k", help="comma-separated PCA sizes")] = "1,2,4,8,12,16",
                  split: Split = "validation", fit_split: FitSplit = "train", axis: PcaAxis = "token",
                  row_dim: RowDim = None, layer: Layer = -1, estimator: Estimator = None,
                  max_samples: MaxSamples = None, eval_samples: EvalSamples = None,
                  overlapping_fit_pool: OverlappingFitPool = False, any_length_fit_pool: AnyLengthFitPool = False,
                  data_dir: DataDir = None, output: Output = Path("sweep.html"), json_out: JsonOut = None, seed: Seed = 0,
                  device: Device = "auto", estimator_option: EstimatorOptions = None) -> None:
    """Usable information against the number of PCA components k (Figure 7); each k nests the smaller ones."""
    check_ks(k)
    estimator = check_estimator(estimator)
    check_options(estimator, estimator_option)
    check_device(device)
    check_representation("full", "last", axis)
    data_dir = check_inputs([model], dataset, (fit_split, split), data_dir=data_dir, max_samples=max_samples, seed=seed,
                            outputs={"--output": output, "--json": json_out})
    config = estimator_config(estimator, estimator_option)  # before any weights load
    from mi_toolkit.measures.fmt import fmt_result
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.measures.sweep import parse_ks, pca_sweep_for
    from mi_toolkit.reports.sweep import write_sweep

    setting = Setting.from_options([model], dataset, split=split, fit_split=fit_split, layer=layer,
                                   max_samples=max_samples, eval_samples=eval_samples, data_dir=data_dir, seed=seed,
                                   device=device, overlapping_fit_pool=overlapping_fit_pool,
                                   any_length_fit_pool=any_length_fit_pool)
    res = pca_sweep_for(setting, parse_ks(k), axis=axis, estimator=estimator, row_dim=row_dim, config=config)
    con = Console()
    for kk, r in zip(res.ks, res.results):
        con.print(f"k={kk:>3}  I(Y; PCA_k(Z)) = {fmt_result(r)} nats")
    for c in res.comparisons:
        con.print(f"- {c.sentence()}")
    for w in res.meta.get("warnings", []):
        con.print(f"[red]warning[/red]: {w}")
    for f in res.flags:
        con.print(f"[red]flag[/red]: {f['message']}")
    for d in res.dips:
        con.print(f"note: dip within noise: {d['message']}")
    con.print(f"wrote {write_sweep(res, output)}")
    if json_out:
        write_results_json(json_out, res.to_dict())


@user_errors
def dpi_cmd(models: Annotated[List[Path], typer.Option("--models", help="checkpoint folders: --models PRED GEN PREDGEN; a folder of one method's seeds (a checkpoint per subfolder) or a quoted glob is a seed group")],
            dataset: Dataset,
            more: Annotated[Optional[List[Path]], typer.Argument(hidden=True, help="further checkpoint folders")] = None,
            split: Split = "validation", fit_split: FitSplit = "train", pca_k: PcaK = 2, row_dim: RowDim = None,
            layer: Layer = -1, estimator: Estimator = None, max_samples: MaxSamples = None,
            eval_samples: EvalSamples = None, overlapping_fit_pool: OverlappingFitPool = False,
            any_length_fit_pool: AnyLengthFitPool = False, data_dir: DataDir = None, output: Output = Path("report.html"), json_out: JsonOut = None, seed: Seed = 0,
            device: Device = "auto", estimator_option: EstimatorOptions = None) -> None:
    """DPI report: (a) within each model, (b) across methods, (c) the ceiling H(Y); paired, Holm-corrected."""
    estimator = check_estimator(estimator)
    check_options(estimator, estimator_option)
    check_device(device)
    from mi_toolkit.measures.seeds import expand_groups  # numpy only: a seed group is a folder of checkpoints

    expanded = expand_groups(list(models) + list(more or []))
    data_dir = check_inputs([c for c, _ in expanded], dataset, (fit_split, split), data_dir=data_dir,
                            max_samples=max_samples, seed=seed, outputs={"--output": output, "--json": json_out})
    config = estimator_config(estimator, estimator_option)  # before any weights load
    from mi_toolkit.measures.dpi import dpi_for
    from mi_toolkit.measures.fmt import fmt_result
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.reports.dpi import write_dpi

    # the references again (not the expanded checkpoints): a seed group's unfinished seeds are named in the report
    setting = Setting.from_references(list(models) + list(more or []), dataset, split=split, fit_split=fit_split,
                                      layer=layer, max_samples=max_samples, eval_samples=eval_samples,
                                      data_dir=data_dir, seed=seed, device=device,
                                      overlapping_fit_pool=overlapping_fit_pool,
                                      any_length_fit_pool=any_length_fit_pool)
    rep = dpi_for(setting, pca_k=pca_k, estimator=estimator, row_dim=row_dim, config=config)
    con = Console()
    for name, r, x in rep.across():
        con.print(f"(b) {name:<12} {r:<14} {fmt_result(x)} nats")
    if rep.ceiling is not None:
        con.print(f"(c) ceiling H(Y) = {rep.ceiling:.3f} nats")
    for line in [f"[red]flag[/red]: {f}" for f in rep.flags] + [f"- {v}" for v in rep.verdicts]:
        con.print(line)
    con.print(f"wrote {write_dpi(rep, output)}")
    if json_out:
        write_results_json(json_out, rep.to_dict())


@user_errors
def heatmap_cmd(model: Model,
                text: Annotated[str, typer.Option("--text", help="the input text ('|||' between fields of multi-field tasks)")],
                dataset: Annotated[Optional[str], typer.Option("--dataset", help="dataset the critic trains on (default: the checkpoint's task)")] = None,
                split: Split = "train",
                label: Annotated[Optional[float], typer.Option("--label", help="regression: the value whose digits form the rows")] = None,
                layer: Layer = -1, estimator: Estimator = None, max_samples: MaxSamples = 1000,
                data_dir: DataDir = None,
                no_attributions: Annotated[bool, typer.Option("--no-attributions", help="skip the captum attributions")] = False,
                controls: Annotated[bool, typer.Option("--controls", help="also read the control task (a random "
                                                       "label per token type) and report the selectivity")] = False,
                output: Output = Path("heatmap.html"),
                png: Annotated[bool, typer.Option("--png", help="also write a PNG (needs kaleido)")] = False,
                json_out: JsonOut = None, seed: Seed = 0) -> None:
    """Token-label PVI heatmap of one text (probes split by sentence), with captum attributions beside it."""
    check_text(text)
    estimator = check_estimator(estimator)
    if png:
        from mi_toolkit.reports.html import check_png_renderer  # imports torch: only with --png

        check_png_renderer()
    data_dir = check_inputs([model], dataset, (split,), data_dir=data_dir, max_samples=max_samples, seed=seed,
                            outputs={"--output": output, "--json": json_out})
    from mi_toolkit.measures.heatmap import HeatmapOptions, heatmap
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.reports.heatmap import write_heatmap

    # the probes' pool is --split's (the fit split); a heatmap reads no evaluation pool. --estimator is checked
    # and unused: the cells need a fitted probe that scores new tokens (pvi.GroupedProbe)
    setting = Setting.from_options([model], dataset, fit_split=split, split=None, max_samples=max_samples,
                                   layer=layer, seed=seed, data_dir=data_dir)
    res = heatmap(setting, text, HeatmapOptions(label=label, attributions=not no_attributions, controls=controls))
    con = Console()
    shown = list(zip(res.rows, res.pvi)) + ([(f"gen:{res.generated_label}", res.generated[0])]
                                            if res.generated is not None else [])
    for row, vals in shown:
        con.print(f"{row:>12}: " + "  ".join(f"{t.strip()}={v:+.2f}" for t, v in zip(res.tokens, vals)))
    for c in res.controls:
        con.print(f"control task: selectivity {c['selectivity']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] nats"
                  f" ({c['verdict']})")
    for p in write_heatmap(res, output, png=png):
        con.print(f"wrote {p}")
    if json_out:
        write_results_json(json_out, res.to_dict())
