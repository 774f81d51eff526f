"""``predgen``: train, evaluate, predict and zero-shot from the shell (a thin typer layer over ``predgen_core.api``)."""
from __future__ import annotations

import json
from typing import Optional

import typer

from predgen_core.errors import UserError, run_cli, user_errors

# Each command imports the library inside, deliberately: torch and transformers take
# seconds, and `predgen --help` or a bad option should answer at once.

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Train Predictor / Generator / PredGen checkpoints and evaluate them.")


def _print(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _peft_options(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--peft-option {item!r} must look like key=value (e.g. r=8)")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@app.command()
@user_errors
def train(
    method: str = typer.Option(..., help="predictor | generator | predgen"),
    dataset: str = typer.Option(..., help="task name, e.g. sst2, stsb"),
    model: str = typer.Option("smollm2-135m", help="registered model, local folder or hub id"),
    peft: str = typer.Option("lora", help="lora | adalora | dora | rocoft | full"),
    peft_option: list[str] = typer.Option([], help="PEFT override key=value (repeatable), e.g. r=8"),
    max_train_samples: Optional[int] = typer.Option(None, help="subsample the train split"),
    max_steps: Optional[int] = typer.Option(None, help="optimiser steps (overrides --epochs)"),
    epochs: float = typer.Option(1.0),
    output_dir: str = typer.Option("runs/model", help="checkpoint folder to write"),
    data_dir: Optional[str] = typer.Option(None, help="folder of <task>/ data folders (or $MI_TOOLKIT_DATA)"),
    batch_size: int = typer.Option(8),
    grad_accum: int = typer.Option(1),
    lr: float = typer.Option(5e-4),
    head_lr_scale: float = typer.Option(10.0, help="LR multiplier for the predictor head / task adapter"),
    max_length: int = typer.Option(64, help="max prompt+target tokens"),
    seed: int = typer.Option(0),
    pooling: str = typer.Option("last", help="last | mean | first (heads and task adapter)"),
    sampling_level: str = typer.Option("sequence", help="sequence | token (predgen)"),
    max_steps_for_sampling: Optional[int] = typer.Option(None, help="steps for p to reach 1 (predgen); default half the run"),
    loss: str = typer.Option("wdal", help="wdal | multiplicative | adaptive | adapter-only (predgen)"),
    save_steps: int = typer.Option(50),
    logging_steps: int = typer.Option(10),
    eval_split: str = typer.Option("validation", help="split scored into the manifest at the end ('' to skip)"),
    eval_max_samples: Optional[int] = typer.Option(None),
    keep_checkpoints: bool = typer.Option(False, help="keep the Trainer's resumable checkpoints"),
) -> None:
    """Train a checkpoint; rerunning the same command after a kill resumes it."""
    from predgen_core.api import TrainConfig, train as run

    config = TrainConfig(method=method, dataset=dataset, model=model, peft=peft, peft_options=_peft_options(peft_option),
                         max_train_samples=max_train_samples, max_steps=max_steps, epochs=epochs, output_dir=output_dir,
                         data_dir=data_dir, batch_size=batch_size, grad_accum=grad_accum, lr=lr, head_lr_scale=head_lr_scale, max_length=max_length,
                         seed=seed, pooling=pooling, sampling_level=sampling_level, max_steps_for_sampling=max_steps_for_sampling,
                         loss=loss, save_steps=save_steps, logging_steps=logging_steps, eval_split=eval_split or None,
                         eval_max_samples=eval_max_samples, keep_checkpoints=keep_checkpoints)
    typer.echo(str(run(config)))


@app.command()
@user_errors
def evaluate(
    checkpoint: str = typer.Argument(..., help="checkpoint folder"),
    dataset: Optional[str] = typer.Option(None, help="defaults to the checkpoint's task"),
    split: str = typer.Option("validation"),
    max_samples: Optional[int] = typer.Option(None),
    data_dir: Optional[str] = typer.Option(None),
    batch_size: int = typer.Option(32),
    json_out: Optional[str] = typer.Option(None, "--json", help="write the metrics here"),
) -> None:
    """Accuracy (classification) or MSE/MAE (regression) of a checkpoint."""
    from predgen_core.api import evaluate as run

    _print(run(checkpoint, dataset, split=split, max_samples=max_samples, data_dir=data_dir,
               batch_size=batch_size, json_out=json_out, progress=True))


@app.command()
@user_errors
def predict(checkpoint: str = typer.Argument(...), text: list[str] = typer.Option(..., help="input text (repeatable)")) -> None:
    """Predict the label of raw texts."""
    from predgen_core.api import predict as run

    _print(run(checkpoint, text))


@app.command("zero-shot")
@user_errors
def zero_shot(
    dataset: str = typer.Option(...),
    model: str = typer.Option("smollm2-135m"),
    split: str = typer.Option("validation"),
    max_samples: Optional[int] = typer.Option(None),
    data_dir: Optional[str] = typer.Option(None),
    batch_size: int = typer.Option(32),
    json_out: Optional[str] = typer.Option(None, "--json"),
) -> None:
    """The untrained base model scored through the verbaliser (the floor row)."""
    from predgen_core.api import zero_shot as run

    _print(run(model, dataset, split=split, max_samples=max_samples, data_dir=data_dir, batch_size=batch_size,
               json_out=json_out, progress=True))


@app.command()
@user_errors
def convert(checkpoint: str = typer.Argument(..., help="checkpoint folder written before format 2")) -> None:
    """Rewrite an old checkpoint (adapter.safetensors) in place in peft's layout (adapter_config.json + adapter_model.safetensors)."""
    from predgen_core.checkpoint import convert as run

    typer.echo(str(run(checkpoint)))


@app.command("list")
def list_names() -> None:
    """Registered models, tasks, methods, PEFT methods and losses."""
    from predgen_core.methods import METHODS
    from predgen_core.methods.losses import LOSS_COMBINERS
    from predgen_core.models import MODELS
    from predgen_core.peft_methods import PEFT_METHODS
    from predgen_core.tasks import TASKS

    for name, reg in [("models", MODELS), ("tasks", TASKS), ("methods", METHODS), ("peft", PEFT_METHODS),
                      ("losses", LOSS_COMBINERS)]:
        typer.echo(f"{name}: {', '.join(reg.list())}")


def main() -> None:
    run_cli(app)


if __name__ == "__main__":
    main()
