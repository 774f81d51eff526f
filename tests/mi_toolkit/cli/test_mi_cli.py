"""`mi estimate` / `mi bench` through typer's CliRunner, including every bad input from the issue."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app

runner = CliRunner()


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    z = rng.standard_normal((400, 3)) + 2.0 * y[:, None]
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    return tmp_path


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_estimate_prints_and_writes_json(arrays):
    out = arrays / "out" / "mi.json"
    res = _run("estimate", "--features", arrays / "z.npy", "--labels", arrays / "y.npy",
               "--estimator", "classifier", "--seed", 3, "--device", "cpu", "--json", out)
    assert res.exit_code == 0, res.output
    assert "nats" in res.output and "classifier" in res.output
    data = json.loads(out.read_text())
    for key in ("mi", "ci_low", "ci_high", "estimator", "ceiling", "n_train", "n_test", "p_value", "seconds"):
        assert key in data
    assert data["estimator"] == "classifier" and data["seed"] == 3
    assert data["ci_low"] <= data["mi"] <= data["ci_high"]
    assert data["ceiling"] == pytest.approx(np.log(2), abs=0.01)
    assert 0.3 < data["mi"] <= data["ceiling"] + 0.05
    assert not list(out.parent.glob(".*tmp"))  # nothing half-written left behind


def test_estimate_3d_features_and_continuous_target(arrays):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((300, 4, 2))
    y = z[:, 0, 0] + 0.5 * rng.standard_normal(300)
    np.save(arrays / "z3.npy", z)
    np.save(arrays / "yc.npy", y)
    out = arrays / "c.json"
    res = _run("estimate", "--features", arrays / "z3.npy", "--labels", arrays / "yc.npy",
               "--estimator", "ksg", "--json", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["ceiling"] is None and data["mi"] > 0.3


def _bad(tmp_path, name, arr):
    path = tmp_path / name
    np.save(path, arr)
    return path


@pytest.mark.parametrize("case, fragment", [
    ("missing", "not found"),
    ("unreadable", "not a readable"),
    ("mismatch", "N=400 rows but labels have N=399"),
    ("small", "at least 20"),
    ("nan_z", "NaN or inf"),
    ("inf_y", "NaN or inf"),
    ("single", "single class"),
    ("strings", "non-numeric"),
    ("objects", "non-numeric"),
    ("estimator", "choose one of: classifier, infonce, smile, mine, nwj, ksg"),
    ("cuda", "CUDA"),
])
def test_bad_input_is_one_line_exit_2(arrays, case, fragment):
    z, y = arrays / "z.npy", arrays / "y.npy"
    extra: list = []
    zarr = np.load(z)
    if case == "missing":
        z = arrays / "nope.npy"
    elif case == "unreadable":
        z = arrays / "junk.npy"
        z.write_bytes(b"this is not numpy")
    elif case == "mismatch":
        y = _bad(arrays, "y399.npy", np.load(y)[:399])
    elif case == "small":
        z = _bad(arrays, "z10.npy", zarr[:10])
        y = _bad(arrays, "y10.npy", np.load(y)[:10])
    elif case == "nan_z":
        zarr[5, 1] = np.nan
        z = _bad(arrays, "znan.npy", zarr)
    elif case == "inf_y":
        y = _bad(arrays, "yinf.npy", np.where(np.arange(400) == 3, np.inf, 1.0))
    elif case == "single":
        y = _bad(arrays, "y1.npy", np.zeros(400, dtype=int))
    elif case == "strings":
        y = _bad(arrays, "ys.npy", np.array(["a", "b"] * 200))
    elif case == "objects":
        np.save(arrays / "yo.npy", np.array([{"a": 1}] * 400, dtype=object), allow_pickle=True)
        y = arrays / "yo.npy"
    elif case == "estimator":
        extra = ["--estimator", "bogus"]
    elif case == "cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        extra = ["--device", "cuda"]
    res = _run("estimate", "--features", z, "--labels", y, *extra)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert fragment in res.output


def test_bench_runs_the_suite_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    res = _run("bench", "--quick", "--estimators", "ksg", "--n", 300, "--json", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    from mi_toolkit.bench.synthetic import suite

    assert len(data["rows"]) == len(suite(True)) and "ksg" in data["summary"]
    assert {"truth", "mi", "ci_low", "ci_high", "seconds", "within_tol"} <= set(data["rows"][0])
    assert "within max(0.05, 10%)" in res.output


def test_bench_rejects_unknown_estimator():
    res = _run("bench", "--estimators", "classifier,bogus")
    assert res.exit_code == 2 and "unknown estimator 'bogus'" in res.output
