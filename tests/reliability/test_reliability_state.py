"""Nothing stale, nothing lost: caches keyed by content, a token budget for every model, training that
resumes past an incomplete checkpoint, and the same seed giving the same weights.

Each case runs on the tiny random Llama (``tiny-llama``) in a few seconds.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mi_toolkit.cli import app as mi_app
from mi_toolkit.states.store import HiddenStates
from predgen_core.cli import app as predgen_app

from conftest import invoke
from fixtures import write_sst2

CACHE_LINE = re.compile(r"-> (\S+)")


def extract(data: Path) -> tuple[int, Path, str]:
    """``mi extract`` of sst2's train split under the plain tiny model: (exit code, the states' folder, stderr)."""
    got = invoke(mi_app, "mi", ["extract", "--model", "tiny-llama", "--dataset", "sst2", "--data-dir", data,
                                "--splits", "train"])
    found = CACHE_LINE.search(got.out.replace("\n", ""))
    return got.code, Path(found.group(1)) if found else Path(), got.out + got.err


def rewrite_sst2(data: Path, text: str, seed: int = 1) -> list[int]:
    """Every sentence of the train split becomes ``text``, with random labels; returns the labels."""
    rng = random.Random(seed)
    labels = [rng.randint(0, 1) for _ in range(24)]
    (data / "sst2" / "train.tsv").write_text("sentence\tlabel\n" + "".join(f"{text}\t{y}\n" for y in labels))
    return labels


# -------- 1. caches keyed by content: the rows read, the model's weights, the extraction settings


def test_rewritten_dataset_is_extracted_again_and_a_moved_one_is_not(tmp_path):
    data = write_sst2(tmp_path / "data", n=24)
    code, first, text = extract(data)
    assert code == 0, text
    labels = rewrite_sst2(data, "zzz")  # the same folder, other rows: must not serve the old states
    code, second, text = extract(data)
    assert code == 0, text
    assert second != first  # another entry: extracted again
    states = HiddenStates(second)
    assert states.labels.tolist() == labels
    zzz = {tuple(ids) for ids in states.iter_token_ids()}
    assert len(zzz) == 1  # every row is the same "zzz" prompt now
    moved = shutil.copytree(data, tmp_path / "elsewhere")  # the same rows in another folder: the same entry
    code, third, text = extract(moved)
    assert code == 0 and third == second, text


def test_changed_adapter_weights_change_the_checkpoint_identity(env, tmp_path):
    from mi_toolkit.states import checkpoints as ck

    copy = shutil.copytree(env["pg"], tmp_path / "pg")
    assert ck.resolve(copy).stamp == ck.resolve(env["pg"]).stamp  # the same bytes: the same identity
    weights = copy / "adapter_model.safetensors"
    state = load_file(str(weights))
    name = sorted(state)[0]
    state[name] = state[name] + 1e-3
    save_file(state, str(weights), metadata={"format": "pt"})  # manifest untouched, weights changed
    assert ck.resolve(copy).stamp != ck.resolve(env["pg"]).stamp


def test_another_gguf_of_the_same_size_is_another_model(tmp_path, monkeypatch):
    import predgen_core.models as models

    a, b = tmp_path / "a" / models.SMOLLM2_GGUF, tmp_path / "b" / models.SMOLLM2_GGUF
    for path, byte in ((a, b"\x01"), (b, b"\x02")):
        path.parent.mkdir()
        path.write_bytes(byte * 4096)
    stamps = []
    for path in (a, b):
        monkeypatch.setattr(models, "smollm2_gguf_path", lambda p=path: p)
        stamps.append((models._smollm2_stamp(path), models.model_identity("smollm2-135m")))
    assert stamps[0][0] != stamps[1][0] and stamps[0][1] != stamps[1][1]  # the dequantised cache is rebuilt


def test_bench_states_follow_the_sentences(tmp_path):
    from fixtures import tiny_lm
    from mi_toolkit.bench.groundtruth_real import real_states

    (tmp_path / "sst2").mkdir()
    rows = [f"this is test sentence number {i} with quite a few words in it\t{i % 2}" for i in range(14)]
    (tmp_path / "sst2" / "train.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    calls: list[str] = []

    def loader(name: str):
        calls.append(name)
        return tiny_lm()

    first = real_states("tiny-llama", 12, data_dir=tmp_path, progress=False, loader=loader)
    real_states("tiny-llama", 12, data_dir=tmp_path, progress=False, loader=loader)
    assert len(calls) == 1  # unchanged sentences: the cache
    rows = [r.replace("test sentence", "other phrase") for r in rows]
    (tmp_path / "sst2" / "train.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    second = real_states("tiny-llama", 12, data_dir=tmp_path, progress=False, loader=loader)
    assert len(calls) == 2 and not np.array_equal(first.window, second.window)


# -------- 2. a token budget for every model kind


def test_a_huge_row_under_a_plain_model_is_cut_and_counted(tmp_path):
    data = write_sst2(tmp_path / "data", n=24)
    lines = (data / "sst2" / "train.tsv").read_text().splitlines()
    lines[3] = "zzz " * 25_000 + "\t1"  # 100,000 characters, ~25,000 tokens; tiny-llama has 512 positions
    (data / "sst2" / "train.tsv").write_text("\n".join(lines) + "\n")
    code, folder, text = extract(data)
    assert code == 0, text
    assert "1 of 24 rows were longer than 512 tokens" in text
    states = HiddenStates(folder)
    assert states.lengths().max() == 512 and states.n == 24


def test_huge_rows_are_tokenised_in_bounded_calls_with_the_same_last_tokens():
    from predgen_core.methods.reading import _CHARS_PER_CALL, prompt_ids_cut
    from predgen_core.models import load_tokenizer

    tok = load_tokenizer("tiny-llama")
    sizes: list[int] = []

    class Counting:  # the tokenizer, recording how much text each call gets (a call cannot be interrupted)
        def __getattr__(self, name):
            return getattr(tok, name)

        def __call__(self, texts, **kw):
            sizes.append(sum(map(len, texts)))
            return tok(texts, **kw)

    texts = ["a funny film , " * 40_000, "zzz " * 300_000, "z" * 900_000, "a dull film"]
    rows, cut = prompt_ids_cut(Counting(), texts, 64)
    assert cut == 3 and rows == [list(r)[-64:] for r in tok(texts)["input_ids"]]
    assert max(sizes) <= _CHARS_PER_CALL and sum(sizes) < sum(map(len, texts)) // 4  # only the tails


# -------- 3. an incomplete Trainer checkpoint is set aside and training goes on


def train_args(data: Path, out: Path, *extra: object) -> list[object]:
    return ["train", "--method", "predgen", "--dataset", "sst2", "--model", "tiny-llama", "--data-dir", data,
            "--output-dir", out, "--max-train-samples", 8, "--batch-size", 4, "--max-steps", 2, "--save-steps", 1,
            "--eval-split", "", "--peft-option", "r=2", "--progress", "false", *extra]


def test_train_sets_aside_an_incomplete_checkpoint_and_resumes_from_the_last_complete(env, tmp_path):
    out = tmp_path / "run"
    args = train_args(env["data"], out, "--keep-checkpoints", "true")
    assert invoke(predgen_app, "predgen", args).code == 0
    work = tmp_path / "run.trainer"
    shutil.rmtree(out)
    (work / "checkpoint-2" / "adapter_model.safetensors").unlink()  # stopped by a full disk while saving
    (work / "checkpoint-2" / "trainer_state.json").unlink()
    got = invoke(predgen_app, "predgen", args)
    assert got.code == 0, got.out + got.err
    assert re.search(r"checkpoint-2 is incomplete .*set aside as incomplete-checkpoint-2-\d{8}T\d{6}Z", got.err)
    metrics = json.loads((out / "manifest.json").read_text())["metrics"]
    assert metrics["resumed_from"].endswith("checkpoint-1") and metrics["global_step"] == 2
    assert len(list(work.glob("incomplete-checkpoint-2-*"))) == 1 and (work / "checkpoint-2").is_dir()


def test_only_incomplete_checkpoints_mean_a_fresh_start(tmp_path, capsys):
    from predgen_core.api import _last_complete

    work = tmp_path / "run.trainer"
    (work / "checkpoint-3").mkdir(parents=True)
    (work / "checkpoint-3" / "trainer_state.json").write_text("{}")
    save_file({"w": torch.zeros(64)}, str(work / "checkpoint-3" / "adapter_model.safetensors"))
    whole = (work / "checkpoint-3" / "adapter_model.safetensors").read_bytes()
    (work / "checkpoint-3" / "adapter_model.safetensors").write_bytes(whole[: len(whole) // 2])  # truncated
    assert _last_complete(work, has_head=False) is None
    assert [p.name for p in work.iterdir()][0].startswith("incomplete-checkpoint-3-")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "adapter_model.safetensors is damaged" in err[0] and "from the start" in err[0]


# -------- 4. the same seed gives the same weights and metrics


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(str(folder / "adapter_model.safetensors")), **load_file(str(folder / "head.safetensors"))}


def test_same_seed_same_weights_and_metrics_other_seed_other_weights(env, tmp_path):
    from predgen_core.api import TrainConfig, train

    def run(name: str, seed: int) -> tuple[dict[str, torch.Tensor], dict]:
        path = train(TrainConfig(method="predgen", dataset="sst2", model="tiny-llama", output_dir=str(tmp_path / name),
                                 data_dir=str(env["data"]), max_train_samples=16, max_steps=3, batch_size=4,
                                 eval_max_samples=8, progress=False, peft_option=["r=2"], seed=seed,
                                 max_steps_for_sampling=1))  # sampled tokens from step 1: the coins count too
        metrics = json.loads((path / "manifest.json").read_text())["metrics"]
        return weights(path), {k: metrics[k] for k in ("train_loss", "validation")}

    (a, ma), (b, mb), (c, _) = run("a", 0), run("b", 0), run("c", 1)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bit for bit
    assert ma == mb
    assert any(not torch.equal(a[k], c[k]) for k in a)
