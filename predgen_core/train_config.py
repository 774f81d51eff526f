"""``TrainConfig``: ``transformers.TrainingArguments`` plus this project's own fields.

Every Trainer option (``bf16``, ``activation_checkpointing``, ``lr_scheduler_type``,
``warmup_steps``, ``weight_decay``, ``logging_*``, ``optim``, ...) is a field of the
config, from Python and from ``predgen train`` (parsed by ``HfArgumentParser``,
so ``predgen train --help`` lists them all). What is ours: which method, task, model
and PEFT method, the data, PredGen's options and the final evaluation.

Two things differ from plain ``TrainingArguments``:

* ``output_dir`` is the finished checkpoint folder; the Trainer's own resumable
  ``checkpoint-N`` folders go to ``<output_dir>.trainer/`` (:func:`trainer_args`).
* A few defaults suit a few-minute CPU run of SmolLM2-135M (learning rate 5e-4,
  one epoch, seed 0, save every 50 and log every 10 steps, eval batch 32), and the
  short names the CLI had before (``batch_size``, ``lr``, ``epochs``,
  ``grad_accum``, ``lr_scheduler``, ``eval_batch_size``) stay as aliases.

transformers is imported at the top of this module, deliberately: the config *is*
a ``TrainingArguments``. ``predgen_core.api`` imports it on first use.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import HfArgumentParser, TrainingArguments
from transformers.trainer_utils import SchedulerType  # noqa: F401  (resolves the lr_scheduler_type annotation)

from predgen_core.defaults import default_model
from predgen_common.errors import UserError
from predgen_core.methods import METHODS
from predgen_core.methods.heads import POOLINGS
from predgen_core.methods.losses import LOSS_COMBINERS
from predgen_core.methods.schedules import SAMPLING_LEVELS
from predgen_core.peft_methods import PEFT_METHODS
from predgen_core.preflight import check_output_dir, check_peft_options
from predgen_core.tasks import TASKS

# old short name -> TrainingArguments field (accepted by TrainConfig(...) and as CLI flags)
ALIASES = {"batch_size": "per_device_train_batch_size", "lr": "learning_rate", "epochs": "num_train_epochs",
           "grad_accum": "gradient_accumulation_steps", "lr_scheduler": "lr_scheduler_type",
           "eval_batch_size": "per_device_eval_batch_size"}
_FLAG_OF = {new: old for old, new in ALIASES.items()}


def _retuned(name: str, default: Any) -> Any:
    """A TrainingArguments field with our default (and its old short flag as an alias)."""
    parent = TrainingArguments.__dataclass_fields__[name]
    metadata = dict(parent.metadata)
    if name in _FLAG_OF:
        old = _FLAG_OF[name]
        metadata["aliases"] = [f"--{old}", f"--{old.replace('_', '-')}"] if "_" in old else [f"--{old}"]
    return field(default=default, metadata=metadata)


def _ours(default: Any = dataclasses.MISSING, help: str = "", factory: Any = None, **meta: Any) -> Any:
    """A project field: required (keyword-only) without a default, else with ``default`` or ``factory()``."""
    metadata = {"help": help, **meta}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    if default is dataclasses.MISSING:
        return field(kw_only=True, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig(TrainingArguments):
    """Everything ``predgen train`` needs (see the module docstring)."""

    # ---- TrainingArguments fields with this project's defaults
    output_dir: str | None = field(default="runs/model", metadata={
        "help": "the finished checkpoint folder; the Trainer's resumable checkpoints go to <output_dir>.trainer/"})
    per_device_train_batch_size: int = _retuned("per_device_train_batch_size", 8)
    per_device_eval_batch_size: int = _retuned("per_device_eval_batch_size", 32)
    gradient_accumulation_steps: int = _retuned("gradient_accumulation_steps", 1)
    learning_rate: float = _retuned("learning_rate", 5e-4)
    lr_scheduler_type: SchedulerType | str = _retuned("lr_scheduler_type", "linear")
    num_train_epochs: float = _retuned("num_train_epochs", 1.0)
    logging_steps: float = _retuned("logging_steps", 10)
    save_steps: float = _retuned("save_steps", 50)
    save_total_limit: int | None = _retuned("save_total_limit", 2)
    seed: int = _retuned("seed", 0)
    disable_tqdm: bool | None = _retuned("disable_tqdm", True)  # our rich bar instead (--progress)

    # ---- this project's fields
    method: str = _ours(help="training method: " + ", ".join(METHODS.list()))
    dataset: str = _ours(help="task name: " + ", ".join(TASKS.list()))
    model: str = _ours(help="registered model, local transformers folder or hub id ($PREDGEN_MODEL sets the "
                            "default)", factory=default_model)
    peft: str = _ours("lora", "PEFT method: " + ", ".join(PEFT_METHODS.list()))
    peft_options: dict[str, Any] | str | None = _ours(
        factory=dict, help='PEFT settings as JSON, e.g. \'{"r": 16}\' (see also --peft-option)')
    peft_option: list[str] = _ours(factory=list, help="one PEFT setting key=value, repeatable (e.g. --peft-option r=8)",
                                   action="extend")
    data_dir: str | None = _ours(None, "folder of <task>/ data folders (else $MI_TOOLKIT_DATA, ../shared/data, the hub)")
    max_train_samples: int | None = _ours(None, "seeded, stratified subset of the train split")
    subset_seed: int | None = _ours(None, "seed of the --max-train-samples subset (default: --seed); seeds of one "
                                          "method that share it train on the same examples in their own order")
    head_lr_scale: float = _ours(10.0, "learning-rate multiplier for the predictor head / PredGen's task adapter")
    max_length: int = _ours(64, "max prompt + target tokens (prompts are cut from the left)")
    pooling: str = _ours("last", "how heads pool token states: " + ", ".join(POOLINGS))
    sampling_level: str = _ours("sequence", "PredGen scheduled sampling: " + ", ".join(SAMPLING_LEVELS))
    max_steps_for_sampling: int | None = _ours(None, "PredGen: steps for p(step) to reach 1 (default: half the run)")
    loss: str = _ours("wdal", "PredGen loss combiner: " + ", ".join(LOSS_COMBINERS.list()))
    alpha_first: float = _ours(1.67, "PredGen regression: ordered-penalty weight of the first target token")
    alpha_last: float = _ours(1.0, "PredGen regression: ordered-penalty weight of the last target token")
    max_new_tokens: int | None = _ours(None, "generation limit (default: longest verbaliser + EOS + 2)")
    eval_split: str | None = _ours("validation", "split scored into the manifest at the end ('' or none: skip)")
    eval_max_samples: int | None = _ours(None, "subset of the evaluation split")
    keep_checkpoints: bool = _ours(False, "keep the Trainer's resumable checkpoints after success")
    progress: bool = _ours(True, "show a progress bar")

    def __post_init__(self) -> None:
        self.remove_unused_columns = False  # batches are our own dicts, built by the method's collator
        if not self.use_cpu and not torch.cuda.is_available():
            self.use_cpu = True  # say so, or TrainingArguments refuses bf16 on a machine without a GPU
        if self.max_steps is None:
            self.max_steps = -1
        if self.eval_split in ("", "none", "None"):
            self.eval_split = None
        self.peft_options = _merge_peft_options(self.peft_options, self.peft_option)
        self.peft_option = []
        super().__post_init__()

    def validate(self) -> None:
        """Name checks before anything heavy runs (each raises a UserError listing valid names)."""
        METHODS.get(self.method)
        TASKS.get(self.dataset)
        PEFT_METHODS.get(self.peft)
        self.peft_options = check_peft_options(self.peft, self.peft_options)  # keys, types, ranges: before any load
        LOSS_COMBINERS.get(self.loss)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("sampling level", self.sampling_level, SAMPLING_LEVELS)
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "max_length", "save_steps",
                     "logging_steps"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise UserError(f"max_steps must be at least 1 (or -1: use num_train_epochs), got {self.max_steps}")
        if self.learning_rate <= 0:
            raise UserError(f"learning_rate must be positive, got {self.learning_rate}")
        for name in ("seed", "subset_seed"):
            if (getattr(self, name) or 0) < 0:
                raise UserError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(self, name)}; pass a "
                                "non-negative seed")
        check_output_dir(self.output_dir)


_dataclass_init = TrainConfig.__init__


def _init(self: TrainConfig, *args: Any, **kwargs: Any) -> None:
    for old, new in ALIASES.items():
        if old in kwargs:
            if new in kwargs:
                raise TypeError(f"TrainConfig got both {old} and {new}; {old} is an alias of {new}")
            kwargs[new] = kwargs.pop(old)
    _dataclass_init(self, *args, **kwargs)


_init.__doc__ = _dataclass_init.__doc__
TrainConfig.__init__ = _init  # the old short names keep working from Python
for _old, _new in ALIASES.items():
    setattr(TrainConfig, _old, property(lambda self, _n=_new: getattr(self, _n), doc=f"alias of {_new}"))


def _choice(what: str, value: str, valid: Any) -> None:
    if value not in valid:
        raise UserError(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")


def _merge_peft_options(options: dict[str, Any] | str | None, items: list[str]) -> dict[str, Any]:
    """``--peft_options`` JSON and ``--peft-option key=value`` items as one dict (values parsed as JSON when they are)."""
    if isinstance(options, str):
        try:
            options = json.loads(options) if options.strip() else {}
        except ValueError as err:
            raise UserError(f"--peft_options {options!r} is not JSON ({err}); write e.g. '{{\"r\": 8}}'") from None
        if not isinstance(options, dict):
            raise UserError(f"--peft_options must be a JSON object like '{{\"r\": 8}}', got {options!r}")
    out = dict(options or {})
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--peft-option {item!r} must look like key=value (e.g. r=8)")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def trainer_args(config: TrainConfig, work_dir: str) -> TrainConfig:
    """The config the Trainer sees: the same settings, with its checkpoints in ``work_dir``."""
    return dataclasses.replace(config, output_dir=str(work_dir))


def resume_dict(config: TrainConfig) -> dict[str, Any]:
    """The settings as JSON values (what ``train_config.json`` and the manifest record)."""
    return json.loads(json.dumps(config.to_dict(), default=str))


def train_help(parser: HfArgumentParser, everything: bool = False) -> str:
    """``predgen train --help``: this project's options alone; ``--help-all`` adds TrainingArguments' after them."""
    own = set(TrainConfig.__annotations__)  # the fields TrainConfig declares (or overrides) itself
    ours = parser.add_argument_group("this project's options")
    theirs = parser.add_argument_group("transformers TrainingArguments options")
    for group in list(parser._action_groups[:2]):  # argparse's default groups (positionals, options)
        for action in list(group._group_actions):
            if action.dest == "help":
                continue
            group._group_actions.remove(action)
            (ours if action.dest in own else theirs)._group_actions.append(action)
    inherited = {f.name for f in dataclasses.fields(TrainingArguments)}
    ours._group_actions.sort(key=lambda action: action.dest in inherited)  # --method, --dataset, ... first
    hidden = len(theirs._group_actions)
    parser.usage = "predgen train --method METHOD --dataset TASK --output_dir DIR [options]"
    if not everything:
        parser._action_groups.remove(theirs)
        parser.epilog = (f"... and {hidden} transformers TrainingArguments options (--bf16, --warmup_steps, "
                         "--weight_decay, ...): see `predgen train --help-all`")
    return parser.format_help()


def parse_cli(argv: list[str]) -> TrainConfig:
    """``predgen train`` arguments -> TrainConfig; bad arguments are one-line UserErrors (``--help`` prints all)."""
    parser = HfArgumentParser(TrainConfig, prog="predgen train",
                              description="Train a checkpoint; rerunning the same command after a kill resumes it. "
                                          "Every transformers TrainingArguments option is accepted.")

    def fail(message: str) -> None:
        raise UserError(f"{message}; see `predgen train --help`")

    parser.error = fail  # argparse would print the usage block and exit; the CLI wants one line
    if {"-h", "--help", "--help-all"} & set(argv):
        print(train_help(parser, everything="--help-all" in argv))
        raise SystemExit(0)
    try:
        (config,) = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    except ValueError as err:
        raise UserError(f"{str(err).splitlines()[0]}; see `predgen train --help`") from None
    return config
