"""Checkpoints in peft's own layout: peft alone opens the LM; old checkpoints load and convert;
AdaLoRA's pruned modules save without peft's shard warning; RoCoFT and full keep their own layouts."""
from __future__ import annotations

import json
import shutil
import warnings

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from fixtures import tiny_lm, write_sst2
import predgen_core
from predgen_core.api import TrainConfig, train
from predgen_core.checkpoint import convert
from predgen_core.checkpoint_io import save_weights
from predgen_core.cli import app
from predgen_common.errors import UserError
from predgen_core.methods.heads import PooledHead
from predgen_core.methods.modules import PredictorModule
from predgen_core.models import base_model_reference
from predgen_core.peft_io import peft_base_model
from predgen_core.peft_methods import adapter_state_dict, apply_peft, load_adapter, peft_manifest, save_adapter

IDS = torch.tensor([[5, 17, 923, 44, 8, 301], [12, 7, 7, 90, 1500, 3]])


def _logits(model):
    model.eval()
    with torch.no_grad():
        return model(input_ids=IDS).logits


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("layout") / "pg"
    return train(TrainConfig(method="predgen", dataset="sst2", model="tiny-llama", data_dir=str(shared_data),
                             max_train_samples=8, max_steps=2, batch_size=4, output_dir=str(out), eval_split=None,
                             progress=False, peft_options={"r": 4}, lr=5e-2))


def test_peft_alone_loads_the_lm_with_the_same_logits(checkpoint):
    from peft import PeftModel

    names = {p.name for p in checkpoint.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "head.safetensors", "manifest.json",
            "tokenizer.json"} <= names and "adapter.safetensors" not in names
    config = json.loads((checkpoint / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == base_model_reference("tiny-llama") and config["r"] == 4
    assert json.loads((checkpoint / "manifest.json").read_text())["base_model"] == "tiny-llama"
    ours = _logits(predgen_core.load(checkpoint).model)
    theirs = _logits(PeftModel.from_pretrained(tiny_lm()[0], str(checkpoint)))
    torch.testing.assert_close(theirs, ours)
    assert not torch.allclose(_logits(tiny_lm()[0]), ours, atol=1e-4)  # the adapter is really there


def test_peft_s_one_liner_opens_the_checkpoint_offline(checkpoint):
    """The adapter names a base transformers can open offline (the cached folder of the registered model)."""
    from peft import AutoPeftModelForCausalLM

    lm = AutoPeftModelForCausalLM.from_pretrained(str(checkpoint))
    torch.testing.assert_close(_logits(lm), _logits(predgen_core.load(checkpoint).model))
    assert peft_base_model(checkpoint) == "tiny-llama"  # error messages still name the registered model


def test_an_old_adapter_config_naming_a_registered_model_loads_and_converts(checkpoint, tmp_path):
    """Checkpoints written before named the base `tiny-llama` / `smollm2-135m`: they load as before, and
    `predgen convert` points them at the cached folder so that peft's one-liner opens them."""
    old = tmp_path / "old-name"
    shutil.copytree(checkpoint, old)
    config = json.loads((old / "adapter_config.json").read_text())
    (old / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "tiny-llama"}))
    expected = _logits(predgen_core.load(checkpoint).model)
    torch.testing.assert_close(_logits(predgen_core.load(old).model), expected)
    result = CliRunner().invoke(app, ["convert", str(old)])
    assert result.exit_code == 0, result.output
    fixed = json.loads((old / "adapter_config.json").read_text())
    assert fixed["base_model_name_or_path"] == base_model_reference("tiny-llama") and fixed["r"] == config["r"]
    from peft import AutoPeftModelForCausalLM

    torch.testing.assert_close(_logits(AutoPeftModelForCausalLM.from_pretrained(str(old))), expected)


def _as_format_1(src, dst):
    """The layout before format 2: every method's weights in adapter.safetensors."""
    shutil.copytree(src, dst)
    state = adapter_state_dict(predgen_core.load(src).model)
    save_file({k: v.contiguous() for k, v in state.items()}, str(dst / "adapter.safetensors"))
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (dst / name).unlink()
    manifest = json.loads((dst / "manifest.json").read_text())
    (dst / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))


def test_format_1_checkpoints_load_and_convert(checkpoint, tmp_path):
    old = tmp_path / "old"
    _as_format_1(checkpoint, old)
    expected = _logits(predgen_core.load(checkpoint).model)
    torch.testing.assert_close(_logits(predgen_core.load(old).model), expected)
    result = CliRunner().invoke(app, ["convert", str(old)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in old.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "head.safetensors"} <= names
    assert "adapter.safetensors" not in names
    manifest = json.loads((old / "manifest.json").read_text())
    assert manifest["format"] == 2 and manifest["converted_from_format"] == 1
    torch.testing.assert_close(_logits(predgen_core.load(old).model), expected)
    assert convert(old) == old  # a format-2 checkpoint is left alone


def test_a_base_model_the_adapter_does_not_fit_is_one_line(checkpoint, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_lm()[1]
    other = tmp_path / "other-base"
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2)).save_pretrained(other)
    tok.save_pretrained(other)
    moved = tmp_path / "moved"
    shutil.copytree(checkpoint, moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    (moved / "manifest.json").write_text(json.dumps({**manifest, "base_model": str(other)}))
    with pytest.raises(UserError, match="trained on base model 'tiny-llama' and does not fit"):
        predgen_core.load(moved)
    data = write_sst2(tmp_path / "data", n=8)   # the data checks pass, so the base model is what fails
    result = CliRunner().invoke(app, ["evaluate", str(moved), "--dataset", "sst2", "--data-dir", str(data)])
    line = [ln for ln in result.output.splitlines() if ln.strip()][-1]
    assert result.exit_code == 2 and line.startswith("error: ") and "size mismatch" in line


def _pruned_adalora():
    model = apply_peft(tiny_lm()[0], "adalora", total_step=8, init_r=4, target_r=1)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    for step in range(8):
        model(input_ids=IDS, labels=IDS).loss.backward()
        opt.step()
        model.base_model.update_and_allocate(step)
        opt.zero_grad()
    return model


def test_adalora_modules_pruned_to_rank_0_save_and_load_cleanly(tmp_path):
    from peft import PeftModel

    model = _pruned_adalora()
    pattern = model.peft_config["default"].rank_pattern
    assert any(not any(v) for v in pattern.values())  # the budget pruned whole modules
    expected = _logits(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # peft 0.21 warns about zero-sized lora_A/lora_B as broken shards
        save_adapter(model, tmp_path, "tiny-llama")
    assert model.peft_config["default"].rank_pattern == pattern  # training's own pattern is untouched
    torch.testing.assert_close(_logits(model), expected)
    manifest = peft_manifest(model)
    assert all(any(v) for v in manifest["config"]["rank_pattern"].values())
    rebuilt = apply_peft(tiny_lm()[0], "adalora", **manifest["config"])
    load_adapter(rebuilt, tmp_path)
    torch.testing.assert_close(_logits(rebuilt), expected)
    with warnings.catch_warnings():  # peft's own loader matches AdaLoRA rank_pattern keys as LoRA's and says so
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = PeftModel.from_pretrained(tiny_lm()[0], str(tmp_path))
    torch.testing.assert_close(_logits(theirs), expected)


def _module(peft, **options):
    lm = apply_peft(tiny_lm()[0], peft, **options)
    with torch.no_grad():
        for p in lm.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    return PredictorModule(lm, PooledHead(lm.config.hidden_size, 2, "last"), "classification")


def test_rocoft_keeps_its_own_file_and_full_is_a_transformers_folder(tmp_path):
    from transformers import AutoModelForCausalLM

    save_weights(tmp_path / "rocoft", _module("rocoft", r=2))
    assert {p.name for p in (tmp_path / "rocoft").iterdir()} == {"adapter.safetensors", "head.safetensors"}
    full = _module("full")
    save_weights(tmp_path / "full", full)
    assert {"config.json", "model.safetensors"} <= {p.name for p in (tmp_path / "full").iterdir()}
    reopened = AutoModelForCausalLM.from_pretrained(tmp_path / "full")
    torch.testing.assert_close(_logits(reopened), _logits(full.lm))
