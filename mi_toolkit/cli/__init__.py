"""The ``mi`` command line: one typer app; each command builds its arguments and calls the library.

Commands: ``estimate`` and ``bench`` (``cli.estimate``), ``pca-sweep``, ``dpi``, ``heatmap``
(``cli.measures``), ``layer-sweep`` and ``extract`` (``cli.layers``), ``curve`` (``cli.curve``), ``pipeline`` (``cli.pipeline``). Options several commands share are
declared once in ``cli.options``; ``cli.preflight`` checks arguments and ``cli.features`` reads
``--features`` files before anything imports torch, transformers or scikit-learn (each command
imports its measure inside, after the checks), so ``mi --help`` and a bad input answer at once.
``main()`` is the console script.
"""
from __future__ import annotations

import typer

from predgen_common.errors import run_cli

from mi_toolkit.cli.curve import curve_cmd
from mi_toolkit.cli.estimate import bench, estimate, estimate_from_arrays
from mi_toolkit.cli.layers import extract_cmd, layer_sweep_cmd
from mi_toolkit.cli.measures import dpi_cmd, heatmap_cmd, pca_sweep_cmd
from mi_toolkit.cli.pipeline import pipeline_cmd

app = typer.Typer(help="Mutual-information estimators for model representations.",
                  no_args_is_help=True, add_completion=False)
app.command("estimate")(estimate)
app.command("bench")(bench)
app.command("pca-sweep")(pca_sweep_cmd)
app.command("dpi")(dpi_cmd)
app.command("heatmap")(heatmap_cmd)
app.command("layer-sweep")(layer_sweep_cmd)
app.command("extract")(extract_cmd)
app.command("pipeline")(pipeline_cmd)
app.command("curve")(curve_cmd)

__all__ = ["app", "estimate_from_arrays", "main"]


def main() -> None:
    run_cli(app)
