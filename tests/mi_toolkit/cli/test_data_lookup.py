"""One data lookup for every command: a checkpoint remembers where its training rows came from, and the
commands run on it without repeating --data-dir (`predgen_core.data.data_roots`, `remembered_data_dir`)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from fixtures import write_sst2
from mi_toolkit.cli import app as mi_app
from predgen_core import data
from predgen_core.cli import app as predgen_app
from predgen_core.tasks import get_task


def test_data_source_names_the_file_and_its_root(tmp_path):
    root = write_sst2(tmp_path / "d", n=12)
    _, where = get_task("sst2").load_with_source("train", data_dir=root)
    record = data.data_source(where, "sst2")
    assert record["root"] == str(root) and record["train"].endswith("sst2/train.tsv")
    assert data.data_source("hub:stanfordnlp/sst2", "sst2")["root"] is None
    assert data.remembered_data_dir({"training": {"data_dir": None}, "data_source": record}) == str(root)
    gone = {"training": {"data_dir": str(tmp_path / "moved")}, "data_source": {"root": str(tmp_path / "moved")}}
    assert data.remembered_data_dir(gone) is None  # a folder that is gone falls back to the one lookup


def test_commands_on_a_checkpoint_find_its_training_data_without_data_dir(tmp_path, monkeypatch):
    from predgen_core.api import TrainConfig, train

    root = write_sst2(tmp_path / "d", n=40, unique=True)
    ckpt = train(TrainConfig(method="predgen", dataset="sst2", model="tiny-llama", output_dir=str(tmp_path / "pg"),
                             data_dir=str(root), max_train_samples=8, max_steps=1, batch_size=4, eval_split="",
                             progress=False, peft_option=["r=2"]))
    manifest = json.loads((ckpt / "manifest.json").read_text())
    assert manifest["data_source"]["root"] == str(root)
    # nowhere else to look: no environment, no ../shared/data, no hub
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    monkeypatch.setattr(data, "shared_data_dir", lambda: None)
    est = CliRunner().invoke(mi_app, ["estimate", "--model", str(ckpt), "--dataset", "sst2", "--max-samples", "16",
                                      "--representation", "pooled", "--json", str(tmp_path / "e.json")])
    assert est.exit_code == 0, est.output
    info = json.loads((tmp_path / "e.json").read_text())
    assert info["n_test"] == 16
    ev = CliRunner().invoke(predgen_app, ["evaluate", str(ckpt), "--dataset", "sst2", "--max-samples", "8"])
    assert ev.exit_code == 0, ev.output
    # the same checkpoint, with its data folder gone: the one lookup's message, naming the way out
    (root / "sst2" / "validation.tsv").rename(root / "elsewhere.tsv")
    gone = CliRunner().invoke(predgen_app, ["evaluate", str(ckpt), "--dataset", "sst2", "--max-samples", "8"])
    assert gone.exit_code == 2 and "--data-dir" in gone.output
