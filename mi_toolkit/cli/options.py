"""The options several ``mi`` commands share, declared once (``Annotated`` aliases; defaults stay
in each command's signature, where they differ)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

DATA_DIR_HELP = ("folder of <task>/ data folders (default: the folder a checkpoint was trained from, else "
                 "$MI_TOOLKIT_DATA, else ../shared/data beside the repository, else the hub)")
ROW_DIM_HELP = ("reduce each d-wide row (PCA component or pooled state) to this many dims with a PCA "
                "fitted on the fit split before the critic (default: off; see docs/reading-mi.md)")

Model = Annotated[Path, typer.Option("--model", help="a checkpoint folder, a save_pretrained folder, a registered model (smollm2-135m, tiny-llama) or a hub id")]
Dataset = Annotated[str, typer.Option("--dataset", help="the task, e.g. sst2")]
Split = Annotated[str, typer.Option("--split", help="the evaluation split")]
FitSplit = Annotated[str, typer.Option("--fit-split", help="the split the critic trains on")]
Layer = Annotated[int, typer.Option("--layer", help="hidden layer (-1 = last)")]
Estimator = Annotated[Optional[str], typer.Option("--estimator", help="default: probe for labels, binned for continuous targets (see docs/estimators.md)")]
MaxSamples = Annotated[Optional[int], typer.Option("--max-samples", min=1, help="examples per split")]
DataDir = Annotated[Optional[str], typer.Option("--data-dir", help=DATA_DIR_HELP)]
PcaK = Annotated[int, typer.Option("--pca-k", min=1, help="PCA components of the full states")]
PcaAxis = Annotated[str, typer.Option("--pca-axis", help="token (default) | feature")]
RowDim = Annotated[Optional[int], typer.Option("--row-dim", min=1, help=ROW_DIM_HELP)]
Output = Annotated[Path, typer.Option("--output", help="the HTML page to write")]
JsonOut = Annotated[Optional[Path], typer.Option("--json", help="write the result as JSON here")]
Seed = Annotated[int, typer.Option("--seed")]
Device = Annotated[str, typer.Option("--device", help="auto | cpu | cuda")]
EstimatorOptions = Annotated[Optional[List[str]], typer.Option(
    "--estimator-option", metavar="KEY=VALUE",
    help="set a field of the --estimator's config, e.g. --estimator probe --estimator-option repeats=3 "
         "(repeat the flag; tuples as comma lists: penalties=0.01,0.1; nested: probe.pca_ks=8,16; "
         "fields in docs/estimators.md)")]
