"""`mi estimate` with a multi-dimensional continuous target: the bound is the headline, the estimate beside it."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((600, 4))
    y = np.column_stack([z[:, 0] + 0.5 * rng.standard_normal(600), rng.standard_normal((600, 5))])
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    return tmp_path


@pytest.mark.parametrize("options", [[], ["--estimator", "binned", "--estimator-option", "companion_always=true"]])
def test_a_six_column_target_prints_the_bound_and_the_estimate_or_why_not(arrays, options):
    out = arrays / "mi.json"
    res = CliRunner().invoke(app, ["estimate", "--features", str(arrays / "z.npy"), "--labels", str(arrays / "y.npy"),
                                   "--device", "cpu", "--json", str(out), *options], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "a lower bound on I(Y; Z)" in res.output and "estimate, not a bound" in res.output
    data = json.loads(out.read_text())
    truth = 0.5 * np.log(1 + 1 / 0.25)   # I(Z_0; Z_0 + 0.5 e) = 0.80
    assert data["estimator"] == "binned" and data["is_bound"] is True and 0.5 < data["mi"] < truth + 0.05
    if options:
        assert data["estimate"]["label"] == "estimate, not a bound" and data["estimate"]["ci_low"] > 0.3
    else:   # a linear task: the linear regressor leads, so the estimate is skipped and the console says why
        assert data["estimate"] is None and "companion_always=true" in data["config"]["estimate_skipped"]
        assert "not run: the first (linear) regressor" in res.output


@pytest.mark.parametrize("make, fragment", [
    (lambda r: r.standard_normal((500, 3)), "N=600 rows but labels have N=500"),
    (lambda r: np.where(np.arange(600)[:, None] == 7, np.inf, r.standard_normal((600, 3))), "NaN or inf"),
    (lambda r: np.column_stack([r.standard_normal(600), np.zeros(600)]), "constant"),
])
def test_bad_targets_are_one_line_exit_2(arrays, make, fragment):
    np.save(arrays / "bad.npy", make(np.random.default_rng(1)))
    res = CliRunner().invoke(app, ["estimate", "--features", str(arrays / "z.npy"), "--labels",
                                   str(arrays / "bad.npy"), "--device", "cpu"])
    assert res.exit_code == 2 and fragment in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
