"""``predgen``: train, evaluate, predict and zero-shot from the shell (a thin typer layer over ``predgen_core.api``;
``train`` hands its arguments to ``HfArgumentParser(TrainConfig)``, so every TrainingArguments option works)."""
from __future__ import annotations

from typing import Optional

import typer

from predgen_core.defaults import DEFAULT_MODEL, MODEL_ENV
from predgen_core.errors import UserError, run_cli, user_errors
from predgen_core.io import dumps_strict
from predgen_core.preflight import check_checkpoint_inputs, check_output, check_split

# Each command imports the library inside, deliberately: torch and transformers take
# seconds, and `predgen --help` or a bad option should answer at once.

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Train Predictor / Generator / PredGen checkpoints and evaluate them.")


def _print(obj) -> None:
    typer.echo(dumps_strict(obj, default=str))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                "help_option_names": []}, add_help_option=False)
@user_errors
def train(ctx: typer.Context) -> None:
    """Train a checkpoint; rerunning the same command after a kill resumes it.

    The options are TrainConfig's, parsed by transformers' HfArgumentParser: this
    project's (--method, --dataset, --peft, --peft-option k=v, --loss, ...) and every
    TrainingArguments option (--bf16, --activation_checkpointing, --lr_scheduler_type,
    --warmup_steps, --weight_decay, --logging_steps, ...). `predgen train --help` lists them.
    """
    from predgen_core.api import train as run
    from predgen_core.train_config import parse_cli

    from predgen_core.tasks import TASKS

    config = parse_cli(list(ctx.args))
    config.validate()  # names, PEFT settings, output dir; then the data, all before the model loads
    check_split(TASKS.get(config.dataset), "train", config.data_dir, config.max_train_samples, config.seed)
    typer.echo(str(run(config)))


@app.command()
@user_errors
def evaluate(
    checkpoint: str = typer.Argument(..., help="checkpoint folder"),
    dataset: Optional[str] = typer.Option(None, help="defaults to the checkpoint's task"),
    split: str = typer.Option("validation"),
    max_samples: Optional[int] = typer.Option(None, min=1),
    data_dir: Optional[str] = typer.Option(None),
    batch_size: int = typer.Option(32, min=1),
    json_out: Optional[str] = typer.Option(None, "--json", help="write the metrics here"),
) -> None:
    """Accuracy (classification) or MSE/MAE (regression) of a checkpoint."""
    check_output(json_out, "--json", inputs=[checkpoint, data_dir])  # before loading: files, task, data, output
    data_dir = check_checkpoint_inputs(checkpoint, dataset, (split,), data_dir=data_dir, max_samples=max_samples)
    from predgen_core.api import evaluate as run

    _print(run(checkpoint, dataset, split=split, max_samples=max_samples, data_dir=data_dir,
               batch_size=batch_size, json_out=json_out, progress=True))


@app.command()
@user_errors
def predict(checkpoint: str = typer.Argument(...), text: list[str] = typer.Option(..., help="input text (repeatable)")) -> None:
    """Predict the label of raw texts."""
    if not text or any(not t.strip() for t in text):
        raise UserError("--text is empty; pass the text to read, e.g. --text \"a funny film\"")
    check_checkpoint_inputs(checkpoint)
    from predgen_core.api import predict as run

    _print(run(checkpoint, text))


@app.command("zero-shot")
@user_errors
def zero_shot(
    dataset: str = typer.Option(...),
    model: str = typer.Option(DEFAULT_MODEL, envvar=MODEL_ENV),
    split: str = typer.Option("validation"),
    max_samples: Optional[int] = typer.Option(None, min=1),
    data_dir: Optional[str] = typer.Option(None),
    batch_size: int = typer.Option(32, min=1),
    json_out: Optional[str] = typer.Option(None, "--json"),
) -> None:
    """The untrained base model scored through the verbaliser (the floor row)."""
    from predgen_core.tasks import TASKS

    check_output(json_out, "--json", inputs=[model, data_dir])
    check_split(TASKS.get(dataset), split, data_dir, max_samples)
    from predgen_core.api import zero_shot as run

    _print(run(model, dataset, split=split, max_samples=max_samples, data_dir=data_dir, batch_size=batch_size,
               json_out=json_out, progress=True))


@app.command()
@user_errors
def convert(checkpoint: str = typer.Argument(..., help="checkpoint folder written before format 2")) -> None:
    """Rewrite an old checkpoint (adapter.safetensors) in place in peft's layout (adapter_config.json + adapter_model.safetensors)."""
    check_checkpoint_inputs(checkpoint)
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
