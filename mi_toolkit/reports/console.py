"""Console output of an estimate: one table, and a warning on stderr where the number is estimator error."""
from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mi_toolkit.measures.fmt import shown_below_zero, shown_values


def print_result(res: Any, title: str, notes: dict[str, str] | None = None) -> None:
    """Print ``res`` (an MIResult) as a table titled ``title``, with ``notes`` as extra rows.

    An estimate above the ceiling H(Y), or below 0 beyond its interval, gets a
    one-line warning on stderr: both are estimator error, not information.
    """
    table = Table(title=title, show_header=False)
    # describe() is the one wording of an estimate: a null reading says "no information
    # detected at this n" with its best held-out value, never "0.000 [0.000, 0.000]".
    table.add_row("estimate", f"[bold]{res.describe()}[/bold]")
    table.add_row("estimator", f"{res.estimator} ({'discrete' if res.discrete else 'continuous'} Y, seed {res.seed}, "
                               f"{res.device})")
    table.add_row("ceiling H(Y)", "n/a (continuous Y)" if res.ceiling is None
                  else f"{res.ceiling:.4f} nats; the estimate is a lower bound on the true MI")
    table.add_row("permutation p", f"{res.p_value:.4g}")
    table.add_row("samples", f"train {res.n_train}, held-out test {res.n_test}")
    table.add_row("wall time", f"{res.seconds:.2f} s")
    table.add_row("interval", str(res.interval_method))
    for key, value in (notes or {}).items():
        table.add_row(key, str(value))
    Console().print(table)
    if res.above_ceiling:
        typer.echo(f"warning: the estimate {res.mi:.3f} is above the ceiling H(Y) = {res.ceiling:.3f} nats: "
                   "that is estimator error, not information; try more samples or another estimator", err=True)
    if shown_below_zero(res):  # the values describe() printed, so the warning agrees with them
        typer.echo(f"warning: the estimate {shown_values(res)[0]:.3f} is below 0 beyond its interval; MI cannot be "
                   "negative, "
                   "so that is estimator error, not information; try more samples or a smaller input "
                   "(--pca-k, --row-dim)", err=True)
