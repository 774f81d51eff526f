"""Zero-shot floor and the evaluation helpers on the tiny model."""
from __future__ import annotations

import pytest
import torch

from predgen_core.api import zero_shot
from predgen_core.methods.runtime import encode
from predgen_core.methods.zero_shot import verbaliser_scores
from predgen_core.tasks import TASKS, Example


def test_verbaliser_scores_are_completion_log_likelihoods(tiny):
    lm, tok = tiny
    task = TASKS.get("sst2")
    examples = [Example("a warm, funny film", 1), Example("tedious", 0), Example("ok", 1)]
    items = encode(task, tok, examples, 64, with_target=False)
    scores = verbaliser_scores(lm, tok, task, items, batch_size=2)
    assert scores.shape == (3, 2)
    for i, it in enumerate(items):
        for c in range(2):
            comp = tok(task.completion(c), add_special_tokens=False)["input_ids"]
            ids = torch.tensor([it["prompt_ids"] + comp])
            logp = torch.log_softmax(lm(ids).logits[0, :-1].float(), -1)
            n = len(it["prompt_ids"])
            ref = sum(logp[n - 1 + j, t].item() for j, t in enumerate(comp))
            assert scores[i, c].item() == pytest.approx(ref, abs=1e-4)


def test_zero_shot_reports_accuracy_and_how(shared_data):
    out = zero_shot("tiny-llama", "sst2", max_samples=6, data_dir=str(shared_data))
    assert out["n"] == 6 and 0.0 <= out["accuracy"] <= 1.0
    assert out["method"] == "zero-shot" and out["model"] == "tiny-llama" and out["split"] == "validation"
    reg = zero_shot("tiny-llama", "stsb", max_samples=4, data_dir=str(shared_data))
    assert {"mse", "mae", "parse_failures"} <= set(reg) and reg["n"] == 4


def test_regression_end_to_end_on_stsb(tmp_path, shared_data):
    import json

    from predgen_core.api import TrainConfig, evaluate, train

    path = train(TrainConfig(method="predgen", dataset="stsb", model="tiny-llama", data_dir=str(shared_data),
                             max_train_samples=8, max_steps=2, batch_size=4, output_dir=str(tmp_path / "sts"),
                             eval_max_samples=4, progress=False, peft_options={"r": 2}, logging_steps=1))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["kind"] == "regression" and manifest["verbaliser"]["format"] == " 0.00"
    history = [row for row in manifest["log_history"] if "loss_director" in row]
    assert history and all("loss_adapter_mse" in row for row in history)
    scores = evaluate(path, "stsb", max_samples=4, data_dir=str(shared_data))
    assert scores["n"] == 4 and scores["mse"] >= 0 and scores["mae"] >= 0
    assert scores["mse"] == manifest["metrics"]["validation"]["mse"]


@pytest.mark.integration
def test_real_smollm2_trains_a_couple_of_steps(tmp_path, shared_data):
    from predgen_core.api import TrainConfig, train

    path = train(TrainConfig(method="predgen", dataset="sst2", data_dir=str(shared_data), max_train_samples=4,
                             max_steps=2, batch_size=2, output_dir=str(tmp_path / "real"), eval_max_samples=4,
                             progress=False))
    import predgen_core

    loaded = predgen_core.load(path)
    assert loaded.model.config.hidden_size == 576 and loaded.manifest["metrics"]["global_step"] == 2
    assert (path / "adapter_model.safetensors").stat().st_size < 20_000_000  # adapter only, not the 540 MB model
