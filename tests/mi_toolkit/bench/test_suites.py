"""The registry of ``mi bench --suite`` and the consistency suite through the CLI."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mi_toolkit.bench.consistency as consistency
from mi_toolkit.bench.suites import SUITES, BenchSuite, register
from mi_toolkit.cli import app


def test_registry_lists_consistency_and_refuses_a_duplicate():
    assert "consistency" in SUITES.list()
    with pytest.raises(ValueError, match="already registered"):
        register("consistency")(BenchSuite("again", lambda o: {}, lambda out: None))


def test_unknown_suite_is_one_line_and_exit_2():
    res = CliRunner().invoke(app, ["bench", "--suite", "nope"])
    assert res.exit_code == 2 and "unknown bench suite 'nope'" in res.output and "consistency" in res.output


def test_consistency_suite_prints_and_writes_json(tmp_path, monkeypatch):
    real = consistency.run_consistency

    def small(estimator, **kw):   # the suite's own path, on a slice of the checks that runs in seconds
        return real(estimator, **{**kw, "n": 300, "processings": ("top-half",), "labelings": ()})

    monkeypatch.setattr(consistency, "run_consistency", small)
    out = tmp_path / "c.json"
    res = CliRunner().invoke(app, ["bench", "--suite", "consistency", "--device", "cpu", "--json", str(out)],
                             env={"COLUMNS": "200"})   # rich wraps the table at 80 otherwise
    assert res.exit_code == 0, res.output
    assert "data-processing: top-half" in res.output and "1/1 checks hold within the intervals" in res.output
    data = json.loads(out.read_text())
    (rep,) = data["reports"]
    assert data["suite"] == "consistency" and rep["n"] == 300 and rep["checks"][0]["kind"] == "data-processing"
