"""The bmi v1 tasks (``mi bench --suite bmi``): their ground truth, their transforms, and the suite through the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr
from typer.testing import CliRunner

import mi_toolkit.bench.bmi as bmi
from mi_toolkit.bench.suites import SUITES
from mi_toolkit.cli import app


def test_the_forty_tasks_of_the_v1_list():
    tasks = bmi.bmi_tasks()
    assert len(tasks) == 40 and len({t.name for t in tasks}) == 40
    by = {t.name: t for t in tasks}
    assert by["multinormal-dense-5-5-0.5"].truth == pytest.approx(0.5 * math.log(36 / 11))   # 0.593 (issue 19)
    assert by["multinormal-sparse-25-25-2-2.0"].truth == pytest.approx(-math.log(1 - 0.8 ** 2))  # two pairs, r = 0.8
    assert by["student-identity-5-5-2"].truth == pytest.approx(0.448, abs=5e-4)
    assert by["1v1-additive-0.1"].truth == pytest.approx(0.1 - math.log(0.2))
    assert by["1v1-additive-0.75"].truth == pytest.approx(1 / 3)
    assert by["swissroll_x-normal_cdf-1v1-normal-0.75"].dim_x == 2
    assert {t.name for t in bmi.suite(quick=True)} == set(bmi.QUICK)


@pytest.mark.parametrize("dim, df", [(1, 1), (2, 2)])
def test_student_t_information_matches_a_monte_carlo_of_its_densities(dim, df):
    disp = np.eye(2 * dim)
    x = stats.multivariate_t(np.zeros(2 * dim), disp, df=df, seed=0).rvs(200_000)
    joint = stats.multivariate_t(np.zeros(2 * dim), disp, df=df).logpdf(x)
    margin = stats.multivariate_t(np.zeros(dim), np.eye(dim), df=df)
    mc = np.mean(joint - margin.logpdf(x[:, :dim]) - margin.logpdf(x[:, dim:]))
    assert bmi.student_mi(disp, dim, df) == pytest.approx(mc, abs=0.01)


def test_transforms_are_invertible_maps_of_the_base_draw():
    base = bmi.two_pair_task(3)
    x0, y0 = base.sample(500, 7)
    for name, f in (("normal_cdf", ndtr), ("half_cube", bmi.half_cube)):
        task = bmi.transformed(base, name, f, f)
        x, y = task.sample(500, 7)
        assert np.allclose(x, f(x0)) and np.allclose(y, f(y0)) and task.truth == base.truth
    spun = bmi.spiral(1, 2, 0.3)(y0)
    assert np.allclose(np.linalg.norm(spun, axis=1), np.linalg.norm(y0, axis=1))
    assert np.allclose(bmi.spiral(1, 2, -0.3)(spun), y0)      # the angle depends on the kept norm only
    u = np.linspace(0.01, 0.99, 50)
    q = bmi.mixture_quantile((0.3, 0.7), (0.0, 5.0))(u)
    assert np.allclose(0.3 * ndtr(q) + 0.7 * ndtr(q - 5.0), u, atol=1e-9) and np.all(np.diff(q) > 0)


def test_a_refusal_is_a_row_of_the_suite_not_a_crash():
    task = bmi.one_dim_tasks()[0]
    row = bmi.run_task(task, "binned", 40, 0, "cpu")          # 8 scored per fold: too few for 2 bins
    assert "too few examples" in row["error"]
    ok = bmi.run_task(task, "ksg", 400, 0, "cpu")
    assert ok["within_tol"] in (True, False) and ok["is_bound"] is None and "error" not in ok
    summary = bmi.summarise([row, {**ok, "requested": "binned"}])
    assert summary["binned"]["failures"] == 1 and summary["binned"]["tasks"] == 2


def test_the_suite_through_the_cli(tmp_path, monkeypatch):
    assert "bmi" in SUITES.list()
    monkeypatch.setattr(bmi, "suite", lambda quick=False: [bmi.dense_task(2), bmi.student_task(1, 1, 1)])
    out = tmp_path / "bmi.json"
    res = CliRunner().invoke(app, ["bench", "--suite", "bmi", "--estimators", "ksg,probe", "--n", "300",
                                   "--device", "cpu", "--json", str(out)], env={"COLUMNS": "220"})
    assert res.exit_code == 0, res.output
    assert "multinormal-dense-2-2-0.5" in res.output and "ksg: within tolerance on" in res.output
    data = json.loads(out.read_text())
    assert data["suite"] == "bmi" and len(data["rows"]) == 2          # probe reads integer labels: skipped
    assert data["command"].startswith("OMP_NUM_THREADS=1 mi bench --suite bmi --estimators ksg,probe --n 300 "
                                      "--seed 0 --device cpu")
    assert data["summary"]["ksg"]["tasks"] == 2 and data["summary"]["ksg"]["failures"] == 0


def test_the_estimate_beside_a_bound_is_counted_where_it_ran_and_said_where_not(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")   # rich reads the width when the table prints
    base = {"requested": "default", "truth": 1.0, "mi": 0.5, "ci_low": 0.45, "ci_high": 0.55, "detected": True,
            "is_bound": True, "within_tol": False, "covers": False, "bound_above": False, "seconds": 1.0}
    est = {"estimator": "infonce", "label": "estimate, not a bound", "mi": 0.9, "ci_low": 0.8, "ci_high": 1.0,
           "seconds": 1.0, "within_tol": True, "covers": True}
    rows = [{**base, "task": "ran, loose", "estimate": {**est, "above_bound": True}},
            {**base, "task": "ran", "estimate": {**est, "mi": 0.5, "ci_low": 0.4, "above_bound": False}},
            {**base, "task": "skipped", "estimate_skipped": "not run: the first (linear) regressor led most folds"}]
    summary = bmi.summarise(rows)["default"]["estimate"]
    assert summary["tasks"] == 2 and summary["above_bound"] == 1 and summary["mean_abs_error"] == pytest.approx(0.3)
    bmi.show_bmi({"tolerance": "max(0.05, 15%)", "rows": rows, "summary": bmi.summarise(rows)})
    out = capsys.readouterr().out
    assert "not run (linear lead)" in out and "run on 2" in out and "above the bound's on 1" in out
