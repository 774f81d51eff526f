"""PEFT methods on the tiny Llama: what trains, save/load round trips, RoCoFT's row updates."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from fixtures import tiny_lm
from predgen_common.errors import UserError
from predgen_core.peft_methods import (
    LLAMA_TARGETS,
    PEFT_METHODS,
    adapter_state_dict,
    apply_peft,
    load_adapter_state,
    peft_manifest,
    trainable_parameter_count,
)
from predgen_core.rocoft import RocoftLinear

IDS = torch.tensor([[5, 17, 923, 44, 8, 301], [12, 7, 7, 90, 1500, 3]])
TRAINABLE = {  # which parameter names may train, per method
    "lora": ("lora_A", "lora_B"),
    "adalora": ("lora_A", "lora_B", "lora_E"),
    "dora": ("lora_A", "lora_B", "lora_magnitude_vector"),
    "rocoft": (".delta",),
}
EXTRA = {"adalora": {"total_step": 10}}


def _perturb(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=gen))


def _logits(model):
    model.eval()
    with torch.no_grad():
        return model(input_ids=IDS).logits


def test_registry_and_bad_names():
    assert PEFT_METHODS.list() == ["lora", "adalora", "dora", "rocoft", "full"]
    model, _ = tiny_lm()
    with pytest.raises(UserError, match="unknown PEFT method 'qlora'.*lora, adalora, dora, rocoft, full"):
        apply_peft(model, "qlora")
    with pytest.raises(UserError, match="no setting rank.*valid settings: r, lora_alpha"):
        apply_peft(model, "lora", rank=4)
    with pytest.raises(UserError, match="adalora needs total_step"):
        apply_peft(model, "adalora")
    with pytest.raises(UserError, match="rocoft found no linear layers"):
        apply_peft(model, "rocoft", target_modules=["nope"])


@pytest.mark.parametrize("name", ["lora", "adalora", "dora", "rocoft"])
def test_only_adapter_weights_train(name):
    model, _ = tiny_lm()
    peft_model = apply_peft(model, name, **EXTRA.get(name, {}))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all(any(key in n for key in TRAINABLE[name]) for n in trainable)
    # every targeted projection of every layer got an adapter
    for target in LLAMA_TARGETS:
        assert sum(f".{target}." in n for n in trainable) >= model.config.num_hidden_layers
    n_train, n_total = trainable_parameter_count(peft_model)
    assert 0 < n_train < 0.05 * n_total


def test_full_fine_tuning_trains_everything():
    model, _ = tiny_lm()
    for p in model.parameters():
        p.requires_grad_(False)
    model = apply_peft(model, "full")
    assert all(p.requires_grad for p in model.parameters())
    state = adapter_state_dict(model)
    assert "lm_head.weight" not in state or "model.embed_tokens.weight" not in state  # tied: saved once


@pytest.mark.parametrize("name", ["lora", "adalora", "dora", "rocoft", "full"])
def test_save_load_round_trip_reproduces_outputs(name, tmp_path):
    base, _ = tiny_lm()
    base_logits = _logits(base)
    trained = apply_peft(base, name, **EXTRA.get(name, {}))
    _perturb(trained)
    expected = _logits(trained)
    assert not torch.allclose(expected, base_logits, atol=1e-4)  # the adapter changes something

    state = adapter_state_dict(trained)
    ptrs = [t.untyped_storage().data_ptr() for t in state.values()]
    assert len(set(ptrs)) == len(ptrs) and all(t.is_contiguous() for t in state.values())
    save_file(state, str(tmp_path / "adapter.safetensors"))

    manifest = peft_manifest(trained)
    assert manifest["name"] == name
    fresh, _ = tiny_lm()
    rebuilt = apply_peft(fresh, manifest["name"], **manifest["config"])
    load_adapter_state(rebuilt, load_file(str(tmp_path / "adapter.safetensors")))
    torch.testing.assert_close(_logits(rebuilt), expected)


def test_adapter_does_not_fit_another_method():
    lora = apply_peft(tiny_lm()[0], "lora")
    _perturb(lora)
    rocoft = apply_peft(tiny_lm()[0], "rocoft")
    with pytest.raises(UserError, match="rocoft adapter does not fit"):
        load_adapter_state(rocoft, adapter_state_dict(lora))
    other = apply_peft(tiny_lm()[0], "lora", r=4)
    with pytest.raises(Exception):
        load_adapter_state(other, adapter_state_dict(lora))


def test_adalora_rank_pattern_survives_the_round_trip(tmp_path):
    model = apply_peft(tiny_lm()[0], "adalora", total_step=8, init_r=4, target_r=2)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    for step in range(8):
        loss = model(input_ids=IDS, labels=IDS).loss
        loss.backward()
        opt.step()
        model.base_model.update_and_allocate(step)
        opt.zero_grad()
    expected = _logits(model)
    manifest = peft_manifest(model)
    assert manifest["config"]["rank_pattern"]  # the budget phase pruned ranks
    state = adapter_state_dict(model)
    rebuilt = apply_peft(tiny_lm()[0], "adalora", **manifest["config"])
    load_adapter_state(rebuilt, state)
    torch.testing.assert_close(_logits(rebuilt), expected)


@pytest.mark.parametrize("mode", ["row", "column"])
def test_rocoft_updates_only_r_rows_or_columns(mode):
    model, _ = tiny_lm()
    originals = {n: m.weight.detach().clone() for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    unchanged = _logits(model)
    model = apply_peft(model, "rocoft", r=3, mode=mode, select="random", seed=1)
    torch.testing.assert_close(_logits(model), unchanged)  # zero-initialised delta
    _perturb(model)
    layers = {n: m for n, m in model.named_modules() if isinstance(m, RocoftLinear)}
    assert len(layers) == 7 * model.config.num_hidden_layers
    x = torch.randn(2, 5, model.config.hidden_size)
    for name, layer in layers.items():
        diff = (layer.weight - originals[name]).abs()
        changed = (diff.sum(1) > 0) if mode == "row" else (diff.sum(0) > 0)
        assert changed.sum() == 3 and changed.nonzero().flatten().tolist() == layer.index.tolist()
        assert torch.equal(layer.base.weight, originals[name])  # the base stays frozen and intact
        if name.endswith("q_proj"):
            torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, layer.weight))


def test_rocoft_gradients_reach_only_the_deltas():
    model = apply_peft(tiny_lm()[0], "rocoft", r=2)
    model.train()
    model(input_ids=IDS, labels=IDS).loss.backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    assert grads and all(n.endswith(".delta") for n in grads)
    assert all(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if n.endswith("q_proj.delta"))


def test_rocoft_rejects_bad_settings():
    with pytest.raises(UserError, match="mode must be"):
        apply_peft(tiny_lm()[0], "rocoft", mode="diagonal")
    with pytest.raises(UserError, match="select must be"):
        apply_peft(tiny_lm()[0], "rocoft", select="best")
    with pytest.raises(UserError, match="r=0"):
        apply_peft(tiny_lm()[0], "rocoft", r=0)
