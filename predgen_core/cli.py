"""``predgen``: train, evaluate, predict and zero-shot from the shell (a thin typer layer over ``predgen_core.api``;
``train`` hands its arguments to ``HfArgumentParser(TrainConfig)``, so every TrainingArguments option works)."""
from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Optional

import typer

from predgen_core.defaults import DEFAULT_MODEL, MODEL_ENV
from predgen_common.errors import UserError, run_cli, user_errors
from predgen_common.io import cache_dir, dumps_strict, write_json_atomic
from predgen_core.preflight import (check_checkpoint_inputs, check_model_ref, check_output, check_output_dir,
                                    check_positive, check_split)

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
    from predgen_core.tasks import TASKS

    precheck_train(list(ctx.args))  # the options a bad input most often gets wrong, before transformers
    from predgen_core.api import train as run
    from predgen_core.train_config import parse_cli

    remember_train_options()
    config = parse_cli(list(ctx.args))
    config.validate()  # names, PEFT settings, output dir; then the data, all before the model loads
    check_split(TASKS.get(config.dataset), "train", config.data_dir, config.max_train_samples, config.seed)
    typer.echo(str(run(config)))


def _flag_values(argv: list[str]) -> dict[str, str]:
    """``{"max_steps": "4", ...}`` from ``--max-steps 4``, ``--max_steps=4`` (last one wins; no value: "")."""
    out: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            nxt = argv[i + 1] if i + 1 < len(argv) else ""
            out[name.replace("-", "_")] = value if eq else ("" if nxt.startswith("--") else nxt)
    return out


def _int_flag(values: dict[str, str], name: str) -> Optional[int]:
    if name not in values:
        return None
    try:
        return int(values[name])
    except ValueError:
        raise UserError(f"argument --{name}: invalid int value: {values[name]!r}; see `predgen train --help`") from None


def precheck_train(argv: list[str]) -> None:
    """What ``predgen train`` can check without transformers (HfArgumentParser checks every option after,
    then the train split's data): the dataset's name, ``--max_steps``, ``--max_train_samples``, the output
    folder, a ``--model`` path and the ``--data-dir`` folder."""
    from predgen_core.tasks import TASKS

    if {"-h", "--help", "--help-all"} & set(argv):
        return  # the help lists TrainingArguments' options, which only transformers knows
    values = _flag_values(argv)
    if values.get("dataset"):
        TASKS.get(values["dataset"])  # one line listing the tasks
    max_steps, samples = _int_flag(values, "max_steps"), _int_flag(values, "max_train_samples")
    if max_steps is not None and (max_steps == 0 or max_steps < -1):
        raise UserError(f"max_steps must be at least 1 (or -1: use num_train_epochs), got {max_steps}")
    check_positive("--max-train-samples", samples)
    if values.get("output_dir"):
        check_output_dir(values["output_dir"])
    if values.get("model"):
        check_model_ref(values["model"])
    check_known_options(argv, values)
    if values.get("data_dir") and not Path(values["data_dir"]).is_dir():
        raise UserError(f"data folder {values['data_dir']} does not exist; pass an existing folder of <task>/ folders")


def _options_file() -> Optional[Path]:
    """Where ``predgen train``'s option table is kept: per transformers version and TrainConfig source."""
    try:
        src = Path(__file__).with_name("train_config.py").read_bytes()
        key = hashlib.sha256(metadata.version("transformers").encode() + src).hexdigest()[:16]
        return cache_dir("cli") / f"train-options-{key}.json"
    except (OSError, UserError, metadata.PackageNotFoundError):
        return None  # no cache: the options are checked by HfArgumentParser alone


def remember_train_options() -> None:
    """Write ``{option: int|float|any}`` of HfArgumentParser(TrainConfig) once (transformers is imported)."""
    path = _options_file()
    if path is None or path.is_file():
        return
    from transformers import HfArgumentParser

    from predgen_core.train_config import TrainConfig

    table = {}
    for action in HfArgumentParser(TrainConfig)._actions:
        kind = {int: "int", float: "float"}.get(action.type, "any") if action.nargs is None else "any"
        table.update({opt: kind for opt in action.option_strings})
    try:
        write_json_atomic(path, table)
    except (OSError, UserError):
        pass  # a cache that cannot be written only costs the next bad option a second


def check_known_options(argv: list[str], values: dict[str, str]) -> None:
    """Options no TrainConfig field has, and int/float values that do not parse: one line, from the table
    :func:`remember_train_options` wrote (no table yet: HfArgumentParser says it, after transformers)."""
    path = _options_file()
    table = json.loads(path.read_text()) if path is not None and path.is_file() else None
    if not isinstance(table, dict):
        return
    for arg in argv:
        name = arg.split("=", 1)[0]
        if arg.startswith("--") and name not in table and not any(o.startswith(name) for o in table):
            raise UserError(f"unknown option {name}; see `predgen train --help`")
        kind = table.get(name)
        value = values.get(name[2:].replace("-", "_"), "")
        if kind in ("int", "float") and value:
            try:
                (int if kind == "int" else float)(value)
            except ValueError:
                raise UserError(f"argument {name}: invalid {kind} value: {value!r}; see `predgen train --help`") from None


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
    from predgen_core.api import RunOptions, evaluate as run

    _print(run(checkpoint, dataset, split=split, max_samples=max_samples, data_dir=data_dir,
               options=RunOptions(batch_size=batch_size, json_out=json_out, progress=True)))


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
    from predgen_core.api import RunOptions, zero_shot as run

    _print(run(model, dataset, split=split, max_samples=max_samples, data_dir=data_dir,
               options=RunOptions(batch_size=batch_size, json_out=json_out, progress=True)))


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
