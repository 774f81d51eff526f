"""Console table of ``mi bench --suite consistency`` (:mod:`mi_toolkit.bench.consistency` computes it)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _cell(r: dict[str, Any]) -> str:
    return f"{r['mi']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"


def print_consistency(out: dict[str, Any]) -> None:
    """One table per estimator: each check's two readings (nats, 95% intervals) and whether it held."""
    console = Console()
    for rep in out["reports"]:
        table = Table(title=f"mi bench --suite consistency: {rep['estimator']} on {rep['data']}, N = {rep['n']}")
        for col in ("check", "reads", "", "against", "holds"):
            table.add_column(col)
        for c in rep["checks"]:
            flag = "[green]yes[/green]" if c["holds"] else "[red]no[/red]"
            table.add_row(f"{c['kind']}: {c['name']}", f"{c['left']['label']} {_cell(c['left'])}", c["relation"],
                          f"{c['right']['label']} {_cell(c['right'])}", flag)
        console.print(table)
        console.print(f"{rep['estimator']}: {rep['held']}/{len(rep['checks'])} checks hold within the intervals "
                      f"({rep['seconds']:.0f} s). Data processing holds when g(X) does not read above X beyond both "
                      "intervals; additivity when the pair's interval overlaps the sum of the two copies' (each copy "
                      "estimated on its own half of the rows).")
