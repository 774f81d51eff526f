"""Per-example PVI table: one row per example, csv (or parquet), checked before the work."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.measures import per_example as pe
from mi_toolkit.measures.curve import CurveConfig, learning_curve
from predgen_common.errors import UserError

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=100)


def test_rows_carry_each_examples_pvi_and_fold_and_extremes_order_them(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    curve = learning_curve({"x": X, "noise": X[:, 1:]}, y, config=CurveConfig(sizes=(40, 160), probe=FAST))
    rows = pe.per_example_rows(curve, texts=[f"t{i}" for i in range(200)], labels=y.tolist())
    assert len(rows) == 200 and set(rows[0]) == {"id", "text", "label", "fold", "pvi_x", "pvi_noise"}
    assert np.isclose(np.mean([r["pvi_x"] for r in rows]), curve.final("x").mi)
    most, least = pe.extremes(rows, "x", 5)
    assert most[0]["pvi_x"] >= most[-1]["pvi_x"] >= least[-1]["pvi_x"] >= least[0]["pvi_x"]
    path = pe.write_per_example(tmp_path / "t.csv", rows)
    back = list(csv.DictReader(open(path)))
    assert len(back) == 200 and back[3]["text"] == "t3"
    with pytest.raises(UserError, match="200 examples"):
        pe.per_example_rows(curve, texts=["a"])


def test_bad_paths_are_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="--per-example"):
        pe.check_per_example_path(blocker / "t.csv")
    with pytest.raises(UserError, match=".csv file"):
        pe.check_per_example_path(tmp_path / "t.xlsx")
    monkeypatch.setattr(pe, "_has_pyarrow", lambda: False)
    with pytest.raises(UserError, match="pyarrow"):
        pe.check_per_example_path(tmp_path / "t.parquet")
