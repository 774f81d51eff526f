"""``mi curve``: usable information against fit-set size (with online code length, controls, conditional
readings and a per-example PVI table), from a model's states or from ``.npy`` arrays; with groups of
checkpoints (a folder of one method's seeds, or a quoted glob, per ``--model``), every checkpoint on one pool
and each method's mean over its seeds (:mod:`mi_toolkit.measures.curve_seeds`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, List, Optional

import numpy as np
import typer
from rich.console import Console

from predgen_common.errors import UserError, user_errors
from predgen_common.io import write_results_json
from predgen_core.preflight import check_output

from mi_toolkit.cli.estimator_options import build_config, split_options
from mi_toolkit.cli.options import DataDir, Device, JsonOut, Layer, MaxSamples, Output, PcaK, Seed
from mi_toolkit.cli.preflight import check_device, check_inputs
from mi_toolkit.measures.per_example import check_per_example_path
from mi_toolkit.validate import load_array

# The measures and reports import torch and scikit-learn: the command imports them inside, after
# its arguments were checked, so a bad input is answered in the time Python starts.

Sizes = Annotated[Optional[str], typer.Option("--sizes", help="fit-set sizes, e.g. 125,250,500,1000,2000 "
                                                               "(default: --n-sizes geometric sizes up to all the data)")]
ProbeOptions = Annotated[Optional[List[str]], typer.Option(
    "--estimator-option", metavar="KEY=VALUE",
    help="set a field of the probe's config (ProbeConfig, docs/estimators.md), e.g. --estimator-option "
         "penalties=0.01,0.1 (repeat the flag); the curve's folds and repeats are --folds and --repeats")]
# the curve draws its own folds and repeats: the probe's fields of those names would be silently ignored
CURVE_OWNS = {"folds": "mi curve sets the folds with --folds", "repeats": "mi curve sets the repeats with --repeats"}
PerExample = Annotated[Optional[Path], typer.Option(
    "--per-example", help="write one row per example (id, text, label, fold, PVI per representation) here: "
                          ".csv, or .parquet with pyarrow installed")]


def parse_sizes(text: Optional[str]) -> Optional[tuple[int, ...]]:
    if text is None:
        return None
    try:
        sizes = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise UserError(f"--sizes must be comma-separated integers such as 125,250,500, not {text!r}") from None
    if not sizes:
        raise UserError("--sizes is empty; pass e.g. 125,250,500,1000,2000")
    return sizes


def _arrays(z: List[str], y: Path, contains: List[str]) -> tuple[dict[str, Any], np.ndarray, dict[str, list[str]]]:
    reps = {}
    for spec in z:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--z {spec!r}: write NAME=FILE.npy, e.g. --z last=last.npy")
        reps[name] = load_array(Path(path), f"--z {name}")
    parts = {}
    for spec in contains:
        name, sep, rest = spec.partition("=")
        if not sep:
            raise UserError(f"--contains {spec!r}: write CONTAINER=PART,PART, e.g. --contains both=last,window")
        parts[name] = [p.strip() for p in rest.split(",") if p.strip()]
    return reps, load_array(y, "--y"), parts


def _check_options(read: List[Any], output: Path, json_out: Optional[Path], per_example: Optional[Path],
                   device: str, sizes: Optional[str]) -> Optional[tuple[int, ...]]:
    """The outputs (writable, not one of ``read``, the inputs), ``--device`` and ``--sizes``; returns the sizes."""
    check_output(output, "--output", inputs=read)
    check_output(json_out, "--json", inputs=read)
    check_per_example_path(per_example)
    check_device(device)
    return parse_sizes(sizes)


def _check_models(models: List[Path], dataset: Optional[str], splits: tuple[Optional[str], ...],
                  data_dir: Optional[str], max_samples: Optional[int], seed: int) -> Optional[str]:
    """Model mode's inputs, before torch: every group's folder, then each checkpoint against the dataset and
    the named ``splits``; returns the data folder (:func:`~mi_toolkit.cli.preflight.check_inputs`)."""
    from mi_toolkit.measures.seeds import check_group_folders, expand_groups  # numpy only

    check_group_folders(models)  # a folder of seeds with no finished checkpoint: one line, before torch
    return check_inputs([c for c, _ in expand_groups(models)], dataset, tuple(s for s in splits if s),
                        data_dir=data_dir, max_samples=max_samples, seed=seed)


def _print(res: Any, con: Console) -> None:
    from mi_toolkit.measures.fmt import fmt_result

    for rep, results in res.results.items():
        con.print(f"{rep}: " + "; ".join(f"n={n} {fmt_result(r)}" for n, r in zip(res.sizes, results)))
        c = res.codes[rep]
        con.print(f"  online code {c.nats:.1f} nats ({c.bits:.1f} bits) for {c.n} labels; compression "
                  f"{c.compression_prior:.3f} vs the prior code, {c.compression_uniform:.3f} vs uniform")
    for c in res.crossings:
        con.print(f"[red]crossing[/red]: {c['message']}")
    for c in (res.controls.controls if res.controls else []):
        con.print(f"control {c.kind} / {c.representation}: selectivity {c.selectivity:+.3f} "
                  f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]: {c.verdict}")
    for c in res.conditional:
        con.print(f"- {c.describe()}")


@user_errors
def curve_cmd(
    model: Annotated[Optional[List[Path]], typer.Option(
        "--model", help="a checkpoint, transformers folder, registered name or hub id (with --dataset); a folder "
                        "of one method's seeds or a quoted glob is a seed group; repeat for one group per method")]
    = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="the task, e.g. sst2")] = None,
    representations: Annotated[str, typer.Option("--representations", help="model mode: pooled:first|mean|last, "
                                                 "full, token-PCA_k, R (comma-separated)")] = "pooled:last,full,R",
    split: Annotated[str, typer.Option("--split", help="the split the pool is drawn from")] = "train",
    like_split: Annotated[Optional[str], typer.Option("--like-split", help="draw the pool to the sentence lengths "
                                                      "of this split (e.g. validation), as mi dpi draws its fit pool")]
    = None,
    z: Annotated[Optional[List[str]], typer.Option("--z", help="array mode: NAME=FILE.npy (repeat)")] = None,
    y: Annotated[Optional[Path], typer.Option("--y", help="array mode: integer labels .npy")] = None,
    contains: Annotated[Optional[List[str]], typer.Option("--contains", help="array mode: CONTAINER=PART,PART")] = None,
    sizes: Sizes = None, n_sizes: Annotated[int, typer.Option("--n-sizes", min=2)] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="re-drawn folds and orders")] = 1,
    folds: Annotated[int, typer.Option("--folds", min=2)] = 5,
    controls: Annotated[bool, typer.Option("--controls", help="shuffled labels, and a random-init model of the same "
                                           "architecture (model mode), beside the real readings (seed groups: on "
                                           "each group's first seed)")] = False,
    given: Annotated[Optional[str], typer.Option("--given", help="conditional readings I_V(Y; R | this) for every "
                                                 "representation that contains it")] = None,
    per_example: PerExample = None, max_samples: MaxSamples = None, layer: Layer = -1, pca_k: PcaK = 2,
    data_dir: DataDir = None, output: Output = Path("curve.html"), json_out: JsonOut = None, seed: Seed = 0,
    device: Device = "auto", estimator_option: ProbeOptions = None,
) -> None:
    """Usable information against fit-set size, one line per representation, with online code lengths; with a
    group of checkpoints per method (--model FOLDER-OF-SEEDS, repeated), the means over seeds and the methods."""
    models = list(model or [])
    read = [*models, data_dir, y, *[spec.split("=", 1)[-1] for spec in z or []]]  # what must not be overwritten
    sizes_ = _check_options(read, output, json_out, per_example, device, sizes)
    split_options(estimator_option)  # the KEY=VALUE syntax, before torch
    if models:
        if z or y is not None:
            raise UserError("give --model with --dataset, or --z with --y, not both")
        data_dir = _check_models(models, dataset, (split, like_split), data_dir, max_samples, seed)
    elif not z or y is None:
        raise UserError("pass --model M --dataset D, or --z NAME=FILE.npy (one or more) with --y LABELS.npy")
    else:
        arrays = _arrays(z, y, contains or [])  # read and checked before torch
    from mi_toolkit.estimators.specs import ProbeConfig  # torch and scikit-learn, after the checks
    from mi_toolkit.measures.curve import CurveConfig
    from mi_toolkit.measures.curve_model import CurveOptions, parse_representations
    from mi_toolkit.measures.per_example import per_example_rows
    from mi_toolkit.measures.setting import Setting

    probe = build_config(ProbeConfig, estimator_option, owner="probe", exclude=CURVE_OWNS)
    cfg = CurveConfig(sizes=sizes_, n_sizes=n_sizes, folds=folds, repeats=repeats, probe=probe)
    if models:
        # the pool is the fit pool of --split, drawn to --like-split's lengths when given (its whole split)
        setting = Setting(models, dataset, fit_split=split, eval_split=like_split, n_fit=max_samples, layer=layer,
                          seed=seed, device=device, data_dir=data_dir, folds=folds)
        options = CurveOptions(tuple(parse_representations(representations, pca_k)), pca_k, cfg, controls, given)
        res, rows = _model_mode(setting, options)
    else:
        res, labels = _array_curve(arrays, cfg, seed, device, controls, given)
        rows = per_example_rows(res, labels=labels.tolist())
    _report(res, rows, per_example, output, json_out)


def _model_mode(setting: Any, options: Any) -> tuple[Any, list[dict[str, Any]]]:
    """One checkpoint: its curve, as ever; groups of checkpoints (a folder of seeds, a glob, several models):
    every checkpoint's curve on one pool and the means over seeds (``SeedCurves``). ``setting``: the
    :class:`~mi_toolkit.measures.setting.Setting` of ``--model``; ``options``: the curve's ``CurveOptions``.
    Returns the result and the per-example rows (seed means for groups)."""
    from mi_toolkit.measures.curve_groups import is_single, model_curves
    from mi_toolkit.measures.curve_model import model_curve
    from mi_toolkit.measures.curve_seeds import per_example_means
    from mi_toolkit.measures.per_example import per_example_rows

    if is_single(setting.models):
        res, examples = model_curve(setting, options)
        rows = per_example_rows
    else:
        res, examples = model_curves(setting, options)
        rows = per_example_means
    return res, rows(res, texts=[e.text for e in examples], labels=[e.label for e in examples])


def _report(res: Any, rows: list[dict[str, Any]], per_example: Optional[Path], output: Path,
            json_out: Optional[Path]) -> None:
    """Print the readings, write the per-example table, the page and the JSON (a curve, or curves over seeds)."""
    from mi_toolkit.measures.curve_seeds import SeedCurves
    from mi_toolkit.measures.per_example import write_per_example
    from mi_toolkit.reports.curve import write_curve, write_seed_curves

    seeds = isinstance(res, SeedCurves)
    con = Console()
    (_print_seeds if seeds else _print)(res, con)
    if per_example:
        con.print(f"wrote {write_per_example(per_example, rows)}")
    con.print(f"wrote {(write_seed_curves if seeds else write_curve)(res, output, per_example=rows)}")
    if json_out:
        write_results_json(json_out, res.to_dict())


def _array_curve(arrays: tuple[dict[str, Any], np.ndarray, dict[str, list[str]]], cfg: Any, seed: int, device: str,
                 controls: bool, given: Optional[str]) -> tuple[Any, np.ndarray]:
    """Array mode of ``mi curve`` on ``_arrays``'s ``(reps, labels, parts)``: ``(CurveResult, labels)``."""
    from mi_toolkit.measures.controls import curve_controls
    from mi_toolkit.measures.curve import learning_curve
    from mi_toolkit.measures.curve_model import conditional_curve

    reps, labels, parts = arrays
    res = learning_curve(reps, labels, contains=parts, config=cfg, seed=seed, device=device)
    if controls:
        res.controls = curve_controls(reps, labels, res, contains=parts, config=cfg, seed=seed, device=device)
    if given:
        res.conditional = conditional_curve(res, given, seed)
    return res, labels


def _print_seeds(sc: Any, con: Console) -> None:
    """Each group's mean over seeds at every size, and the comparisons at the largest size."""
    from mi_toolkit.measures.fmt import fmt_result

    con.print(sc.stands_on())
    for group, per_rep in sc.readings.items():
        for rep, rows in per_rep.items():
            con.print(f"{group} {rep}: " + "; ".join(
                f"n={n} {fmt_result({'mi': s.mean, 'ci_low': s.ci_low, 'ci_high': s.ci_high})}"
                for n, s in zip(sc.sizes, rows)))
    for c in sc.comparisons:
        if c.n == sc.sizes[-1]:
            con.print(f"- {c.sentence()}")
    if sc.comparisons and not sc.has_method_verdict:
        from mi_toolkit.measures.dpi import NO_METHOD_VERDICT

        con.print(f"- {NO_METHOD_VERDICT}")
