"""Per-example PVI table: how much each example's label is told by each representation.

PVI (pointwise V-information, Ethayarajh et al. 2022) of example ``i`` under a representation:
``log q(y_i | z_i) - log p(y_i)`` in nats, ``q`` the cross-fitted probe that scored it (fitted
without it) and ``p`` the label prior of that probe's fit rows. The table takes the curve's
largest size (the probes that saw the most data; repeat-averaged), one row per example:
``id, text, label, fold, pvi_<representation>...``.

Written as CSV, or as parquet when the file ends in ``.parquet`` (needs pyarrow). The path
is checked before any work starts (:func:`check_per_example_path`).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_common.io import atomic_path
from predgen_core.preflight import check_output

FORMATS = (".csv", ".parquet")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401  (optional: only tells whether parquet can be written)
    except ImportError:
        return False
    return True


def check_per_example_path(path: str | Path | None, flag: str = "--per-example") -> None:
    """One line, before any work, when the table cannot be written there (format, folder, pyarrow)."""
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"{flag} {path}: name a .csv file (or .parquet, with pyarrow installed)")
    if path.suffix.lower() == ".parquet" and not _has_pyarrow():
        raise UserError(f"{flag} {path}: writing parquet needs pyarrow, which is not installed; "
                        "`pip install pyarrow` or name a .csv file")
    check_output(path, flag)


def per_example_rows(curve: Any, *, ids: Sequence[Any] | None = None, texts: Sequence[str] | None = None,
                     labels: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """One dict per example: ``id, text, label, fold`` and ``pvi_<rep>`` (nats) at the curve's largest size."""
    reps = list(curve.results)
    first = curve.final(reps[0])
    n = len(first.pointwise)
    for what, seq in (("ids", ids), ("texts", texts), ("labels", labels)):
        if seq is not None and len(seq) != n:
            raise UserError(f"{len(seq)} {what} for {n} examples; pass one per example")
    ids = list(ids) if ids is not None else list(range(n))
    rows = []
    for i in range(n):
        row = {"id": ids[i], "text": texts[i] if texts is not None else "",
               "label": labels[i] if labels is not None else "", "fold": int(first.fold_ids[i])}
        for rep in reps:
            row[f"pvi_{rep}"] = float(curve.final(rep).pointwise[i])
        rows.append(row)
    return rows


def write_per_example(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write the table atomically (CSV, or parquet for a ``.parquet`` path); returns its path."""
    path = Path(path)
    check_per_example_path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(list(rows)), tmp)
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["id"])
                writer.writeheader()
                writer.writerows(rows)
    return path


def extremes(rows: Sequence[dict[str, Any]], rep: str, k: int = 10) -> tuple[list[dict], list[dict]]:
    """The ``k`` examples with the most and the least information about their label under ``rep``."""
    key = f"pvi_{rep}"
    order = np.argsort([r[key] for r in rows], kind="stable")
    return [rows[i] for i in order[::-1][:k]], [rows[i] for i in order[:k]]
