"""Every PEFT method saves and loads through the checkpoint weight files; AdaLoRA trains under the Trainer."""
from __future__ import annotations

import pytest
import torch

from fixtures import tiny_lm  # tests/ is on sys.path (tests/predgen_core/conftest.py)

from predgen_core.api import TrainConfig, train
from predgen_core.checkpoint import load_weights, save_weights
from predgen_core.methods.heads import PooledHead
from predgen_core.methods.modules import PredictorModule
from predgen_core.peft_methods import apply_peft

OPTIONS = {"lora": {"r": 2}, "dora": {"r": 2}, "adalora": {"total_step": 10}, "rocoft": {"r": 2}, "full": {}}


def _module(tiny_pair, peft):
    lm, _ = tiny_pair
    lm = apply_peft(lm, peft, **OPTIONS[peft])
    return PredictorModule(lm, PooledHead(lm.config.hidden_size, 3, "mean"), "classification")


@pytest.mark.parametrize("peft", list(OPTIONS))
def test_weights_round_trip(tmp_path, peft):
    trained = _module(tiny_lm(), peft)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in trained.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    save_weights(tmp_path, trained)
    fresh = _module(tiny_lm(), peft)
    load_weights(tmp_path, fresh)
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    trained.eval(), fresh.eval()
    torch.testing.assert_close(fresh._head_out(ids, mask), trained._head_out(ids, mask))
    before = _module(tiny_lm(), peft).eval()
    assert not torch.allclose(before._head_out(ids, mask), trained._head_out(ids, mask))


def test_adalora_trains_with_rank_allocation(tmp_path, shared_data):
    config = TrainConfig(method="generator", dataset="sst2", model="tiny-llama", peft="adalora",
                         data_dir=str(shared_data), max_train_samples=8, max_steps=2, batch_size=4,
                         output_dir=str(tmp_path / "ada"), eval_split=None, progress=False)
    path = train(config)
    import json

    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["peft"]["name"] == "adalora" and manifest["peft"]["config"]["total_step"] == 2
    import predgen_core

    assert predgen_core.load(path).method == "generator"
