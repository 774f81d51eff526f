"""``mi pipeline``: the CLI's door to :mod:`predgen_mi.pipeline` (train the three methods, then measure).

The CLI is the application layer: it may call the workflow package that sits above
``predgen_core`` and ``mi_toolkit``; nothing in mi_toolkit's library layers does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from predgen_core.defaults import DEFAULT_MODEL, MODEL_ENV
from predgen_common.errors import user_errors
from predgen_core.preflight import check_output_dir

from mi_toolkit.cli.options import DataDir


@user_errors
def pipeline_cmd(
    quick: Annotated[bool, typer.Option("--quick", help="the small budget (<= 30 min on 2 CPU cores)")] = False,
    out_dir: Annotated[Path, typer.Option("--out-dir")] = Path("runs/pipeline"),
    model: Annotated[str, typer.Option("--model", envvar=MODEL_ENV,
                                       help="base model (tiny-llama for a smoke test)")] = DEFAULT_MODEL,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="default: sst2 if reachable, else polarity")] = None,
    data_dir: DataDir = None,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", min=1, help="override the training steps per method")] = None,
    mi_samples: Annotated[Optional[int], typer.Option("--max-samples", min=1, help="override the examples per split for MI")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="the first training seed")] = 0,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="training runs per method (seeds --seed .. "
                                       "--seed + K - 1); 3 or more give method verdicts over seeds")] = 1,
) -> None:
    """Train predictor, generator and predgen, then write the DPI report, a PCA sweep and a heatmap."""
    check_output_dir(out_dir, "--out-dir")
    # Heavy and deliberate: the workflow imports transformers' Trainer (seconds of start-up),
    # which no other `mi` command needs, so `mi estimate --features ...` starts without it.
    from predgen_mi.pipeline import PipelineConfig, run_pipeline

    overrides = {k: v for k, v in dict(max_steps=max_steps, mi_samples=mi_samples).items() if v is not None}
    make = PipelineConfig.quick if quick else PipelineConfig.full
    cfg = make(out_dir=str(out_dir), model=model, dataset=dataset, data_dir=data_dir, seed=seed, seeds=seeds,
               **overrides)
    log = run_pipeline(cfg, say=typer.echo)
    for row in log["dpi"]["across_methods"]:
        typer.echo(f"{row['model']:<10} {row['representation']:<13} I = {row['description']}")
    for verdict in log["dpi"]["verdicts"]:
        if "over seeds" in verdict or "No method verdict" in verdict:
            typer.echo(verdict)
    typer.echo(f"total {log['seconds']['total']:.0f} s; wrote " + ", ".join(log["outputs"]))
