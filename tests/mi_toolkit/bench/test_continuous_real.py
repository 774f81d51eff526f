"""Continuous targets on real-state-like arrays with an exact answer (``mi bench --suite real-continuous``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import mi_toolkit.bench.groundtruth_real as groundtruth_real
from mi_toolkit.bench.continuous_real import (ContinuousRealTask, continuous_suite, mixture_truth,
                                              run_continuous_real)
from mi_toolkit.bench.groundtruth_real import synthetic_states
from mi_toolkit.bench.suites import SUITES
from mi_toolkit.cli import app
from predgen_common.errors import UserError


def test_mixture_truth_matches_the_gaussian_channel_for_a_gaussian_f():
    # f standard normal (many atoms): I -> 0.5 ln(1 + 1 / sigma^2), the Gaussian channel's capacity at that SNR
    f = np.random.default_rng(0).standard_normal(5_000)
    f = (f - f.mean()) / f.std()
    assert mixture_truth(f, 0.5) == pytest.approx(0.5 * np.log(5.0), abs=2e-3)


def test_mixture_truth_of_well_separated_atoms_is_their_entropy():
    f = np.repeat([-3.0, 0.0, 3.0, 6.0], [10, 20, 30, 40]).astype(float)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert mixture_truth(f, 0.05) == pytest.approx(-(p * np.log(p)).sum(), abs=1e-6)


def test_mixture_truth_is_zero_for_a_constant_f_and_refuses_bad_input():
    assert mixture_truth(np.zeros(10), 0.5) == 0.0
    with pytest.raises(UserError, match="sigma > 0"):
        mixture_truth(np.arange(3.0), 0.0)


def test_tasks_are_deterministic_standardised_and_the_null_reads_zero():
    states = synthetic_states(300, 32, seed=1)
    for task in continuous_suite():
        z, y, truth = task.make(states)
        z2, y2, truth2 = task.make(states)
        assert np.array_equal(y, y2) and truth == truth2 and len(y) == 300 and y.dtype == np.float64
        assert z.ndim == (3 if task.form == "window" else 2)
        if task.label == "null":
            assert truth == 0.0
        else:   # a standardised f with sigma 0.5 carries at most the Gaussian channel's 0.80 nats, and well above 0
            assert 0.3 < truth <= 0.5 * np.log(1 + 1 / task.sigma ** 2) + 1e-9


def test_sin_of_the_top_component_is_not_linear_in_it():
    states = synthetic_states(400, 32, seed=2)
    _, y, _ = ContinuousRealTask("s", "last", "sin-pc1", sigma=1e-3).make(states)
    s1 = groundtruth_real._pc_scores(states.last.astype(np.float64), 1)[:, 0]
    assert abs(np.corrcoef(y, s1)[0, 1]) < 0.6   # far from a linear read-out of the component


def test_run_reports_the_share_of_the_truth_and_the_excess_over_it():
    states = synthetic_states(300, 16, seed=3)
    tasks = [ContinuousRealTask("lin", "last", "linear"), ContinuousRealTask("null", "last", "null")]
    out = run_continuous_real(tasks, ["gaussian"], states, seed=0, device="cpu")
    lin_grid, lin, null_grid, null = out["rows"]
    assert lin["share_of_truth"] == pytest.approx(lin["mi"] / lin["truth"]) and null["share_of_truth"] is None
    s = out["summary"]["gaussian"]
    assert s["tasks"] == 2 and s["max_above_truth"] == pytest.approx(max(lin["above_truth"], null["above_truth"]))
    assert s["grid_tasks"] == 1 and s["mean_vs_grid"] == pytest.approx(lin["vs_grid"])
    assert s["at_or_above_grid"] == int(lin["vs_grid"] >= -0.005)


def test_each_task_opens_with_the_grid_and_every_estimator_row_is_measured_against_it():
    states = synthetic_states(300, 16, seed=3)
    out = run_continuous_real([ContinuousRealTask("lin", "last", "linear"),
                               ContinuousRealTask("pos", "window", "position")], ["gaussian"], states, seed=0,
                              device="cpu")
    grid, est = out["rows"][0], out["rows"][1]
    assert [r["requested"] for r in out["rows"]] == ["sklearn-grid", "gaussian"] * 2
    entry = grid["chosen"].split(",")[0]
    assert grid["mi"] == max(grid["grid"].values()) == grid["grid"][entry]
    assert grid["estimator"] == f"best of grid ({entry})"
    assert "optimistic" in grid["note"] and grid["truth"] == est["truth"] and 0 < grid["mi"] < grid["truth"] + 0.05
    assert est["grid_best"] == grid["mi"] and est["vs_grid"] == pytest.approx(est["mi"] - grid["mi"])
    assert out["rows"][2]["input"] == "flattened" and "grid_tasks" not in out["summary"]["sklearn-grid"]


def test_the_suite_runs_through_the_cli(tmp_path, monkeypatch):
    assert "real-continuous" in SUITES.list()
    states = synthetic_states(200, 16, seed=4)
    monkeypatch.setattr(groundtruth_real, "real_states", lambda *a, **k: states)
    out = tmp_path / "rc.json"
    res = CliRunner().invoke(app, ["bench", "--suite", "real-continuous", "--quick", "--estimators", "gaussian",
                                   "--n", "150", "--device", "cpu", "--json", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["suite"] == "real-continuous" and len(data["rows"]) == 2 * len(continuous_suite(True))
    assert {r["n"] for r in data["rows"]} == {150} and "of the truth on average" in res.output
    assert "grid best" in res.output and "chosen on the scores (optimistic)" in res.output
    assert data["command"].startswith("OMP_NUM_THREADS=1 mi bench --suite real-continuous --estimators gaussian --n 150")


def test_a_row_says_when_the_estimate_beside_the_bound_was_not_run():
    from mi_toolkit.bench.continuous_real import reading_row

    task = ContinuousRealTask("lin", "last", "linear")
    d = {"estimator": "binned", "mi": 0.6, "seconds": 1.0, "is_bound": True, "estimate": None,
         "config": {"estimate_skipped": "not run: the first (linear) regressor led most folds"}}
    row = reading_row(task, 0.8, "default", d)
    assert row["estimate"] is None and row["estimate_skipped"].startswith("not run")
    ran = reading_row(task, 0.8, "default", {**d, "config": {}, "estimate": {"estimator": "infonce", "mi": 0.3}})
    assert ran["estimate"]["mi"] == 0.3 and ran["estimate_skipped"] is None
