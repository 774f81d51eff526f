"""``mi layer-sweep`` (usable information against layer) and ``mi extract`` (fill the state cache,
also under ``accelerate launch``, one share of the shards per process)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from predgen_common.errors import user_errors
from predgen_common.io import write_json_atomic

from mi_toolkit.cli.estimator_options import check_options, estimator_config
from mi_toolkit.cli.options import (DataDir, Dataset, Device, Estimator, EstimatorOptions, FitSplit, JsonOut, MaxSamples,
                                    Model, Output, RowDim, Seed, Split)
from mi_toolkit.cli.preflight import check_choice, check_device, check_estimator, check_inputs, check_layers_syntax, POOLINGS

# The measures, reports and extraction import torch: each command imports them inside, after
# check_inputs, so a bad option or a missing file is answered in the time Python starts.

Layers = Annotated[str, typer.Option("--layers", help="'all' (0 = embeddings .. last layer) or indices, e.g. 0,4,8")]
Pooling = Annotated[Optional[str], typer.Option("--pooling", help="first | mean | last token of the prompt "
                                                 "(default: the architecture's: last for decoders, first for encoders)")]


@user_errors
def layer_sweep_cmd(model: Model, dataset: Dataset, layers: Layers = "all", pooling: Pooling = None,
                    split: Split = "validation", fit_split: FitSplit = "train", max_samples: MaxSamples = None,
                    estimator: Estimator = None, row_dim: RowDim = None, data_dir: DataDir = None,
                    output: Output = Path("layers.html"), json_out: JsonOut = None, seed: Seed = 0,
                    device: Device = "auto", estimator_option: EstimatorOptions = None) -> None:
    """Usable information against layer: every layer read in one forward pass, all estimated as one batched job."""
    check_layers_syntax(layers)
    if pooling is not None:
        check_choice("pooling", pooling, POOLINGS)
    estimator = check_estimator(estimator)
    check_options(estimator, estimator_option)
    check_device(device)
    data_dir = check_inputs([model], dataset, (fit_split, split), data_dir=data_dir, max_samples=max_samples, seed=seed,
                            outputs={"--output": output, "--json": json_out})
    config = estimator_config(estimator, estimator_option)  # before any weights load
    from mi_toolkit.measures.fmt import fmt_result
    from mi_toolkit.measures.layers import layer_sweep_for
    from mi_toolkit.measures.setting import FOLDS, Setting
    from mi_toolkit.reports.layers import write_layers

    # the pools must fill the probe's own folds (--estimator-option folds=...), so the setting takes them
    setting = Setting([model], dataset, fit_split=fit_split, eval_split=split, n_fit=max_samples, seed=seed,
                      device=device, data_dir=data_dir, folds=getattr(config, "folds", FOLDS))
    res = layer_sweep_for(setting, layers, pooling=pooling, estimator=estimator, row_dim=row_dim, config=config)
    con = Console()
    for lay, r in zip(res.layers, res.results):
        con.print(f"layer {lay:>3}  I(Y; {res.pooling}) = {fmt_result(r)} nats")
    for line in [f"[red]flag[/red]: {f}" for f in res.flags]:
        con.print(line)
    con.print(f"best layer: {res.best}; wrote {write_layers(res, output)}")
    if json_out:
        write_json_atomic(json_out, res.to_dict())


@user_errors
def extract_cmd(model: Model, dataset: Dataset,
                splits: Annotated[str, typer.Option("--splits", help="comma-separated splits to extract")] = "train,validation",
                layers: Annotated[str, typer.Option("--layers", help="'all', or indices such as -1 or 0,4,8")] = "-1",
                max_samples: MaxSamples = None, data_dir: DataDir = None, seed: Seed = 0,
                keep_tokens: Annotated[bool, typer.Option("--keep-tokens/--pooled-only",
                                                          help="store every token's states (default for one layer)")] = True) -> None:
    """Extract and cache states (the same cache every measure reads). Under `accelerate launch` each process
    extracts its share of the shards and the main process merges them into one cache folder."""
    check_layers_syntax(layers)
    data_dir = check_inputs([model], dataset, [s.strip() for s in splits.split(",") if s.strip()], data_dir=data_dir,
                            max_samples=max_samples, seed=seed)
    from mi_toolkit.measures.layers import model_depth, parse_layers
    from mi_toolkit.states import distributed
    from mi_toolkit.states.extract import extract_layers

    chosen = parse_layers(layers, model_depth(model), normalise=False)  # -1 keys the cache as --layer -1 does
    ranks = distributed.current()
    for split in [s.strip() for s in splits.split(",") if s.strip()]:
        hs = extract_layers(model, dataset, split, chosen, keep_tokens=keep_tokens, data_dir=data_dir,
                            max_samples=max_samples, seed=seed)
        if ranks.main:
            Console().print(f"{split}: {len(hs)} examples, layers {hs.layers}, d={hs.d}, "
                            f"{ranks.world} process(es) -> {hs.path}")
