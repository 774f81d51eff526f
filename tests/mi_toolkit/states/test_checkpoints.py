"""mi_toolkit.states.checkpoints: loading once per process and merging the adapter for reads."""
from __future__ import annotations

import pytest
import torch

from mi_toolkit.states import checkpoints as ck
from predgen_common.errors import UserError

from fixtures import write_sst2


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    from predgen_core.api import TrainConfig, train

    root = tmp_path_factory.mktemp("ck")
    data = write_sst2(root / "data", n=24)
    return train(TrainConfig(method="generator", dataset="sst2", model="tiny-llama", output_dir=str(root / "gen"),
                             data_dir=str(data), max_train_samples=16, max_steps=2, batch_size=8, lr=5e-2,
                             eval_max_samples=4, progress=False))


def test_merging_the_adapter_keeps_states_and_tokens(generator):
    from predgen_core.checkpoint import load

    ld = load(generator)
    prompts = [ld.task.prompt(e) for e in ld.task.load("train", data_dir=str(generator.parent / "data"))[:4]]
    before_tokens, before = ld.generate_targets(prompts), ld.hidden_states(prompts)
    lora_b = [p for n, p in ld.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.detach().abs().max()) > 0 for p in lora_b)  # the adapter is not a no-op
    assert ck.merge_for_inference(ld.model) is True
    assert ld.generate_targets(prompts) == before_tokens
    for a, b in zip(before, ld.hidden_states(prompts)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_load_checkpoint_merges_and_caches_and_plain_models_pass(generator, tmp_path):
    first = ck.load_checkpoint(generator)
    assert ck.load_checkpoint(generator) is first
    assert ck.merge_for_inference(torch.nn.Linear(2, 2)) is False
    with pytest.raises(UserError, match="does not exist"):
        ck.load_checkpoint(tmp_path / "nope")
