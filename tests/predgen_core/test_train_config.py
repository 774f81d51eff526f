"""TrainConfig is a TrainingArguments: every Trainer option from Python and from `predgen train`, old flags kept."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from predgen_core.api import TrainConfig
from predgen_core.cli import app
from predgen_common.errors import UserError
from predgen_core.train_config import parse_cli

runner = CliRunner()


def test_python_config_is_training_arguments_with_old_names():
    from transformers import TrainingArguments

    config = TrainConfig(method="predgen", dataset="sst2", batch_size=4, lr=1e-3, epochs=2.0, grad_accum=2,
                         max_steps=None, bf16=True, warmup_steps=3, peft_options={"r": 4})
    assert isinstance(config, TrainingArguments)
    assert (config.per_device_train_batch_size, config.learning_rate, config.num_train_epochs) == (4, 1e-3, 2.0)
    assert config.gradient_accumulation_steps == 2 and config.batch_size == 4 and config.lr == 1e-3
    assert config.max_steps == -1 and config.bf16 and config.warmup_steps == 3 and config.peft_options == {"r": 4}
    assert config.output_dir == "runs/model" and config.seed == 0 and not config.remove_unused_columns
    with pytest.raises(TypeError, match="alias"):
        TrainConfig(method="predgen", dataset="sst2", lr=1e-3, learning_rate=1e-4)


def test_cli_parses_old_flags_and_every_trainer_option():
    config = parse_cli(["--method", "generator", "--dataset", "stsb", "--batch-size", "4", "--lr", "1e-3",
                        "--epochs", "2", "--grad-accum", "2", "--peft-option", "r=4", "--peft-option",
                        "target_modules=[\"q_proj\"]", "--keep-checkpoints", "--eval-split", "",
                        "--bf16", "--activation_checkpointing", "--lr_scheduler_type", "cosine",
                        "--weight_decay", "0.01", "--warmup-steps", "2", "--alpha-first", "2.0"])
    assert (config.per_device_train_batch_size, config.learning_rate, config.num_train_epochs) == (4, 1e-3, 2.0)
    assert config.peft_options == {"r": 4, "target_modules": ["q_proj"]} and config.keep_checkpoints
    assert config.eval_split is None and config.bf16 and config.activation_checkpointing
    assert config.lr_scheduler_type.value == "cosine" and config.weight_decay == 0.01 and config.alpha_first == 2.0


def test_help_lists_project_fields_first_and_trainer_options_behind_help_all():
    short = runner.invoke(app, ["train", "--help"])
    assert short.exit_code == 0
    out = short.output
    for flag in ("--method", "--dataset", "--peft-option", "--sampling-level", "--alpha-first", "--batch-size", "--lr",
                 "--output_dir", "--max-train-samples"):
        assert flag in out, flag
    assert out.index("--method") < out.index("--dataset") < out.index("--batch-size")  # ours first, method first
    assert "--weight_decay WEIGHT_DECAY" not in out and "--bf16 [BF16]" not in out and "predgen train --help-all" in out
    full = runner.invoke(app, ["train", "--help-all"])
    assert full.exit_code == 0 and len(full.output) > 2 * len(out)
    for flag in ("--bf16", "--activation_checkpointing", "--lr_scheduler_type", "--warmup_steps", "--weight_decay",
                 "--logging_steps"):
        assert flag in full.output, flag
    assert full.output.index("this project's options") < full.output.index("--bf16")


@pytest.mark.parametrize("argv, says", [
    (["--method", "predgen"], "required: --dataset"),
    (["--method", "predgen", "--dataset", "sst2", "--bogus", "1"], "--bogus"),
    (["--method", "predgen", "--dataset", "sst2", "--lr_scheduler_type", "zigzag"], "zigzag"),
    (["--method", "predgen", "--dataset", "sst2", "--peft-option", "r"], "key=value"),
])
def test_bad_arguments_are_one_line(argv, says):
    with pytest.raises(UserError, match=says):
        parse_cli(argv)
    result = runner.invoke(app, ["train", *argv])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output


def test_trainer_options_reach_the_trainer(tmp_path, shared_data):
    out = tmp_path / "gen"
    result = runner.invoke(app, [
        "train", "--method", "predictor", "--dataset", "sst2", "--model", "tiny-llama", "--data-dir", str(shared_data),
        "--max-train-samples", "8", "--max-steps", "3", "--batch-size", "4", "--output-dir", str(out),
        "--eval-split", "", "--peft-option", "r=2", "--progress", "false", "--logging_steps", "1",
        "--lr_scheduler_type", "constant", "--weight_decay", "0.1", "--activation_checkpointing"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    training = manifest["training"]
    assert training["lr_scheduler_type"] == "constant" and training["weight_decay"] == 0.1
    assert training["activation_checkpointing"] is True and training["method"] == "predictor"
    rates = [row["learning_rate"] for row in manifest["log_history"] if "loss" in row]
    assert len(rates) == 3 and len(set(rates)) == 1  # logged every step, constant schedule


@pytest.mark.parametrize("flag", ["--seed", "--subset-seed"])
def test_a_negative_seed_is_one_line(flag, tmp_path):
    result = runner.invoke(app, ["train", "--method", "predgen", "--dataset", "sst2", "--output-dir",
                                 str(tmp_path / "o"), flag, "-1"])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and flag in lines[0], result.output
