"""The ``predgen`` CLI: a real train/evaluate/predict round trip on the tiny model, and bad input."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from predgen_core.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _train_args(out, data_dir, *extra):
    return ["train", "--method", "predgen", "--dataset", "sst2", "--model", "tiny-llama", "--max-train-samples", 8,
            "--max-steps", 2, "--batch-size", 4, "--output-dir", out, "--data-dir", data_dir,
            "--eval-max-samples", 4, "--peft-option", "r=4", *extra]


def _error_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error: "), result.output
    return lines[-1]


def test_train_evaluate_predict_round_trip(tmp_path, shared_data):
    out = tmp_path / "pg"
    result = _run(*_train_args(out, shared_data, "--sampling-level", "token", "--loss", "adaptive"))
    assert result.exit_code == 0, result.output
    # not a terminal: one line per phase on stderr (training, then the validation pass, sized before it starts)
    assert re.search(r"^training predgen: 2/2 steps.*, done in \d", result.stderr, re.M), result.stderr
    assert "scoring 4 validation examples (set the number with --eval-max-samples" in result.stderr
    assert re.search(r"^predicting: 1/1 batches, done in \d", result.stderr, re.M) and "━" not in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["sampling_level"] == "token" and manifest["options"]["loss"] == "adaptive"
    report = tmp_path / "eval.json"
    result = _run("evaluate", out, "--dataset", "sst2", "--max-samples", 4, "--data-dir", shared_data, "--json", report)
    assert result.exit_code == 0, result.output
    scores = json.loads(report.read_text())
    assert scores["n"] == 4 and 0.0 <= scores["accuracy"] <= 1.0 and scores["method"] == "predgen"
    result = _run("predict", out, "--text", "a wonderful film", "--text", "dull and long")
    assert result.exit_code == 0, result.output
    preds = json.loads(result.output)
    assert [p["label"] in ("negative", "positive") for p in preds] == [True, True]


@pytest.mark.parametrize("flag, value, valid", [
    ("--method", "classifier", "predictor, generator, predgen"),
    ("--dataset", "imdbx", "sst2"),
    ("--peft", "prefix", "lora"),
    ("--loss", "sum", "wdal"),
])
def test_unknown_names_list_the_valid_ones(tmp_path, shared_data, flag, value, valid):
    args = _train_args(tmp_path / "out", shared_data, "--peft", "lora", "--loss", "wdal")
    args[args.index(flag) + 1] = value
    result = _run(*args)
    assert result.exit_code == 2
    line = _error_line(result)
    assert value in line and valid in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.trainer").exists()


def test_unknown_model_is_a_user_error(tmp_path, shared_data):
    args = _train_args(tmp_path / "out", shared_data)
    args[args.index("--model") + 1] = "no-such-model-xyz"
    result = _run(*args)
    assert result.exit_code == 2 and "no-such-model-xyz" in _error_line(result)
    assert not any(tmp_path.iterdir())


def test_missing_data_says_where_it_looked(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    result = _run(*_train_args(tmp_path / "out", empty))
    assert result.exit_code == 2 and str(empty) in _error_line(result)
    assert not (tmp_path / "out").exists()


def test_labels_outside_the_verbaliser_and_empty_splits(tmp_path):
    data = tmp_path / "data" / "sst2"
    data.mkdir(parents=True)
    (data / "train.tsv").write_text("sentence\tlabel\ngreat\t1\nbad\t7\n")
    result = _run(*_train_args(tmp_path / "out", tmp_path / "data"))
    assert result.exit_code == 2 and "7" in _error_line(result)
    (data / "train.tsv").write_text("sentence\tlabel\n")
    result = _run(*_train_args(tmp_path / "out", tmp_path / "data"))
    assert result.exit_code == 2 and "empty" in _error_line(result)
    assert not (tmp_path / "out").exists()


def test_evaluate_rejects_a_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = _run("evaluate", tmp_path, "--dataset", "sst2")
    assert result.exit_code == 2 and "not a predgen checkpoint" in _error_line(result)


def test_train_refuses_to_overwrite_a_foreign_folder(tmp_path, shared_data):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    result = _run(*_train_args(tmp_path / "out", shared_data))
    assert result.exit_code == 2 and "not a predgen checkpoint" in _error_line(result)
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"


def test_console_script_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "predgen_core.cli", "evaluate", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: ")
    listing = _run("list")
    assert listing.exit_code == 0 and "methods: predictor, generator, predgen" in listing.output
