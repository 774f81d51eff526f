"""predgen_mi.pipeline (`mi pipeline`): end to end on the tiny model: every output written, numbers sane, reruns reuse checkpoints."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import predgen_mi.pipeline as pl
import pytest
from predgen_core import data as pdata
from predgen_core.tasks import TASKS
from mi_toolkit.cli import app

from fixtures import write_sst2


@pytest.mark.slow(seconds=55)
def test_pipeline_end_to_end_on_tiny_model(tmp_path):
    data = write_sst2(tmp_path / "data", n=600, unique=True)   # quick trains on 512; the fit pool is the rest
    out = tmp_path / "pipe"
    args = ["pipeline", "--quick", "--model", "tiny-llama", "--data-dir", str(data), "--out-dir", str(out),
            "--max-steps", "2", "--max-samples", "40"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "SST-2 from the local copy" in r.output
    for k, stage in enumerate(pl.STAGES, 1):  # one line as each stage starts and one as it ends
        assert f"[{k}/6] {stage}: " in r.output and f"[{k}/6] {stage} done in " in r.output
    assert r.output.index("[1/6] training predictor") < r.output.index("[2/6] training generator")
    for method in pl.METHODS:
        assert f"{method}: validation accuracy " in r.output, method
    assert "train_runtime" not in r.output  # the Trainer's log dicts are not printed beside the bar
    summary = json.loads((out / "summary.json").read_text())
    assert all(0 <= summary["accuracy"][m]["accuracy"] <= 1 for m in pl.METHODS)
    assert summary["dataset"] == "sst2" and summary["config"]["max_steps"] == 2
    for name in ("dpi.html", "sweep.html", "heatmap.html"):
        page = (out / name).read_text()
        assert "<script src=" not in page and "plotly" in page.lower()
    rows = summary["dpi"]["across_methods"]
    assert [row["method"] for row in rows] == ["predictor", "generator", "predgen"]
    for row in rows:
        assert row["ci_low"] <= row["mi"] <= row["ci_high"] and row["n_test"] == 40
        assert row["ceiling"] > 0
    assert summary["sweep"]["ks"] == [1, 2, 4, 8] and len(summary["sweep"]["mi"]) == 4
    for method in ("predictor", "generator", "predgen"):
        assert (out / "models" / method / "manifest.json").is_file()

    stamp = (out / "models" / "predgen" / "manifest.json").stat().st_mtime_ns
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert (out / "models" / "predgen" / "manifest.json").stat().st_mtime_ns == stamp


def test_pipeline_rejects_an_unknown_dataset(tmp_path):
    r = CliRunner().invoke(app, ["pipeline", "--dataset", "nope", "--model", "tiny-llama",
                                 "--out-dir", str(tmp_path / "p")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "nope" in r.output


def test_pipeline_picks_local_sst2_else_polarity(tmp_path, monkeypatch):
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    monkeypatch.setattr(pdata, "shared_data_dir", lambda: None)  # no ../shared/data beside the repository
    (tmp_path / "d" / "sst2").mkdir(parents=True)
    assert pl.choose_dataset(str(tmp_path / "d"))[:2] == ("sst2", str(tmp_path / "d"))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name, data_dir, why = pl.choose_dataset(str(tmp_path / "empty"))
    assert (name, data_dir) == ("polarity", None) and "polarity" in why


def test_local_data_dir_prefers_the_argument_then_the_environment_then_shared(tmp_path, monkeypatch):
    for name in ("env", "arg", "shared"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(pdata, "shared_data_dir", lambda: None)
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    assert pl.local_data_dir(None) is None
    monkeypatch.setattr(pdata, "shared_data_dir", lambda: tmp_path / "shared")
    assert pl.local_data_dir(None) == str(tmp_path / "shared")
    monkeypatch.setenv("MI_TOOLKIT_DATA", str(tmp_path / "env"))
    assert pl.local_data_dir(None) == str(tmp_path / "env")
    assert pdata.data_roots(None) == [tmp_path / "env", tmp_path / "shared"]
    assert pl.local_data_dir(str(tmp_path / "arg")) == str(tmp_path / "arg")


def test_every_command_finds_the_shared_data_without_options(monkeypatch):
    """One lookup: a task loads from ../shared/data beside the repository with no --data-dir or environment."""
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    if pdata.shared_data_dir() is None:
        pytest.skip("no ../shared/data beside the repository")
    examples = TASKS.get("sst2").load("validation", max_samples=8)
    assert len(examples) == 8


@pytest.mark.slow(seconds=90)
def test_pipeline_with_three_seeds_reports_methods_over_seeds(tmp_path):
    data = write_sst2(tmp_path / "data", n=600, unique=True)  # quick trains on 512, the same 512 for every seed
    out = tmp_path / "pipe"
    args = ["pipeline", "--quick", "--model", "tiny-llama", "--data-dir", str(data), "--out-dir", str(out),
            "--max-steps", "1", "--max-samples", "40", "--seeds", "3", "--seed", "5"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert [Path(p).name for p in summary["checkpoints"]["predgen"]] == ["seed-5", "seed-6", "seed-7"]
    seeds = {json.loads((out / "models" / "generator" / Path(p).name / "manifest.json").read_text())["training"]["seed"]
             for p in summary["checkpoints"]["generator"]}
    assert seeds == {5, 6, 7}
    comps = summary["dpi"]["over_seeds"]["comparisons"]
    assert comps and all(c["n_seeds"] == [3, 3] for c in comps) and "over seeds (3/3 seeds" in r.output
    bad = CliRunner().invoke(app, ["pipeline", "--seeds", "0", "--out-dir", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--seeds" in bad.output
