"""Checkpoints: contents, load round trip, resume after a kill, refusal of non-checkpoints."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import TrainerCallback

import predgen_core
from predgen_core.api import TrainConfig, evaluate, train
from predgen_common.errors import UserError
from predgen_core.methods.reading import sequence_states


def _config(tmp, method, shared_data, **kw):
    base = dict(method=method, dataset="sst2", model="tiny-llama", data_dir=str(shared_data), max_train_samples=16,
                max_steps=2, batch_size=4, output_dir=str(tmp / method), eval_max_samples=8, save_steps=50,
                progress=False, peft_options={"r": 4})
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("ckpts")
    return {m: train(_config(tmp, m, shared_data)) for m in ("predictor", "generator", "predgen")}


def test_checkpoint_folder_holds_trainable_weights_only(trained):
    from safetensors.torch import load_file

    for method, path in trained.items():
        names = {p.name for p in path.iterdir()}
        assert {"manifest.json", "adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= names
        assert ("head.safetensors" in names) == (method != "generator")
        adapter = load_file(str(path / "adapter_model.safetensors"))
        assert adapter and all("lora_" in k for k in adapter)
        manifest = json.loads((path / "manifest.json").read_text())
        assert manifest["method"] == method and manifest["task"] == "sst2" and manifest["base_model"] == "tiny-llama"
        assert manifest["peft"]["name"] == "lora" and manifest["peft"]["config"]["r"] == 4
        assert manifest["verbaliser"]["labels"] == ["negative", "positive"]
        assert manifest["version"] == predgen_core.__version__ and manifest["pooling"] == "last"
        assert manifest["format"] == 2
        assert manifest["metrics"]["global_step"] == 2 and manifest["training"]["max_steps"] == 2
        assert 0.0 <= manifest["metrics"]["validation"]["accuracy"] <= 1.0
    assert not any(p.name.endswith(".trainer") for p in path.parent.iterdir())  # work folders removed


def test_load_reproduces_the_trained_model(trained, shared_data):
    for method, path in trained.items():
        recorded = json.loads((path / "manifest.json").read_text())["metrics"]["validation"]
        again = evaluate(path, "sst2", max_samples=8, data_dir=str(shared_data))
        assert again["accuracy"] == recorded["accuracy"]
        assert again["parse_failures"] == recorded["parse_failures"]
        loaded = predgen_core.load(path)
        assert loaded.method == method and loaded.task.name == "sst2" and not loaded.model.training
        assert (loaded.head is None) == (method == "generator")


def test_loaded_checkpoint_helpers_for_mi_toolkit(trained):
    loaded = predgen_core.load(trained["predgen"])
    prompts = ["Is it good?\nfine\nSentiment:", "x"]
    conts = loaded.generate_targets(prompts)
    limit = loaded.manifest["max_new_tokens"]
    eos = loaded.tokenizer.eos_token_id
    assert all(0 < len(c) <= limit and (c[-1] == eos or len(c) == limit) for c in conts)
    states = loaded.hidden_states(prompts)
    n = [len(loaded.tokenizer(p)["input_ids"]) for p in prompts]
    assert [s.shape for s in states] == [torch.Size([n[i] + len(conts[i]), 64]) for i in range(2)]
    prompt_only = loaded.hidden_states(prompts, generated=False)
    assert [s.shape[0] for s in prompt_only] == n
    torch.testing.assert_close(prompt_only[0], states[0][: n[0]], atol=1e-4, rtol=1e-4)
    # one decoding pass gives the states a second forward pass over prompt + generated tokens gives
    two_pass = sequence_states(loaded.model, loaded.tokenizer, prompts, conts, max_length=loaded.max_length)
    for a, b in zip(states, two_pass):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        predgen_core.load(tmp_path / "missing")
    with pytest.raises(UserError, match="not a predgen checkpoint"):
        predgen_core.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        predgen_core.load(tmp_path)


class _Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt("simulated kill")


class _Steps(TrainerCallback):
    def __init__(self):
        self.seen = []

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def test_resume_after_kill_continues_the_step_count(tmp_path, shared_data):
    config = _config(tmp_path, "predgen", shared_data, max_steps=4, save_steps=2, eval_split=None)
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[_Kill()])
    out = tmp_path / "predgen"
    work = tmp_path / "predgen.trainer"
    assert not out.exists()  # nothing half-written where the checkpoint goes
    ckpt = work / "checkpoint-2"
    files = {p.name for p in ckpt.iterdir()}
    assert {"adapter_model.safetensors", "head.safetensors", "optimizer.pt", "trainer_state.json"} <= files
    assert "model.safetensors" not in files  # the frozen base model is never copied
    with pytest.raises(UserError, match="different settings"):
        train(_config(tmp_path, "predgen", shared_data, max_steps=4, save_steps=2, eval_split=None, lr=1e-3))
    steps = _Steps()
    train(config, callbacks=[steps])
    assert steps.seen == [3, 4]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["metrics"]["global_step"] == 4
    assert manifest["metrics"]["resumed_from"].endswith("checkpoint-2")
    assert not work.exists()
