"""The Python API behind the ``predgen`` CLI: train, evaluate, predict, zero-shot.

``train(TrainConfig(...))`` runs the method's Trainer subclass and returns the
checkpoint folder. The Trainer's resumable ``checkpoint-N`` folders live in
``<output_dir>.trainer/`` while it runs; running the same ``train`` again after a
kill resumes from the last of them. The finished checkpoint is written atomically
to ``output_dir`` and the work folder removed (``keep_checkpoints`` keeps it).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from predgen_core.checkpoint import load, write_checkpoint
from predgen_core.data import data_source, subset_seed
from predgen_common.errors import UserError
from predgen_common.io import write_json_atomic
from predgen_core.methods import METHODS
from predgen_core.methods.runtime import build_module, completion_text, encode, max_target_tokens, predict_examples
from predgen_core.methods.zero_shot import zero_shot_predictions
from predgen_core.models import load_base_model
from predgen_core.peft_methods import PEFT_METHODS, peft_manifest
from predgen_core.tasks import TASKS, Example, compatible_task

# transformers is imported on use, deliberately: it takes seconds, and `evaluate`/`predict`
# callers and `import predgen_core` should not pay for it twice. TrainConfig (a
# transformers.TrainingArguments) lives in predgen_core.train_config and is importable
# from here as before (module __getattr__ below).

# Fields that may differ between a killed run and its resumption (what is logged, shown or kept).
_RESUME_FREE = {"progress", "keep_checkpoints", "eval_max_samples", "eval_split", "output_dir", "logging_dir",
                "logging_steps", "logging_first_step", "logging_strategy", "report_to", "run_name", "disable_tqdm",
                "per_device_eval_batch_size", "save_total_limit", "dataloader_num_workers"}


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":
        from predgen_core.train_config import TrainConfig

        return TrainConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _work_dir(output_dir: Path) -> Path:
    return output_dir.with_name(output_dir.name + ".trainer")


def _check_output(output_dir: Path) -> None:
    if output_dir.exists() and (not output_dir.is_dir() or (any(output_dir.iterdir())
                                                             and not (output_dir / "manifest.json").is_file())):
        raise UserError(f"output dir {output_dir} exists and is not a predgen checkpoint; choose another --output-dir")


def _resume_point(work: Path, config: Any) -> str | None:
    """The last complete Trainer checkpoint of an unfinished run with the same config, or None.

    Incomplete ones (a run stopped while saving: full disk, kill) are set aside, one line each on stderr.
    """
    from predgen_core.train_config import resume_dict

    saved = work / "train_config.json"
    if not saved.is_file():
        return None
    old = json.loads(saved.read_text())
    new = resume_dict(config)
    diff = [k for k in new if k not in _RESUME_FREE and old.get(k) != new[k]]
    if diff:
        raise UserError(f"{work} holds an unfinished run with different settings ({', '.join(diff)}); "
                        f"rerun with the same settings to resume, or delete {work}")
    return _last_complete(work, METHODS.get(config.method).has_head)


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")  # the Trainer's own folder names


def _last_complete(work: Path, has_head: bool) -> str | None:
    """The newest ``checkpoint-N`` that can be resumed from; newer incomplete ones are renamed
    ``incomplete-checkpoint-N-<UTC time>`` (a name the Trainer neither resumes from nor rotates)."""
    found = sorted((int(m.group(1)), p) for p in work.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir())
    main = os.environ.get("RANK", "0") == "0"  # under accelerate launch every process checks; one renames
    for step, folder in reversed(found):
        problem = _checkpoint_problem(folder, has_head)
        if problem is None:
            return str(folder)
        if not main:
            continue
        aside = folder.with_name(f"incomplete-{folder.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        folder.rename(aside)
        older = [f.name for s, f in found if s < step]
        print(f"warning: {folder} is incomplete ({problem}); set aside as {aside.name}, "
              f"{'trying ' + older[-1] if older else 'training from the start'}", file=sys.stderr)
    return None


def _checkpoint_problem(folder: Path, has_head: bool) -> str | None:
    """Why a Trainer checkpoint cannot be resumed from (None: it can). The Trainer writes
    ``trainer_state.json`` last, after the weights, optimizer, scheduler and RNG files."""
    from safetensors import SafetensorError, safe_open

    try:
        json.loads((folder / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return "no readable trainer_state.json"
    weights = sorted(folder.glob("*.safetensors"))
    names = {w.name for w in weights}
    if not names - {"head.safetensors"} or (has_head and "head.safetensors" not in names):
        return "weights missing"
    for path in weights:
        try:
            with safe_open(str(path), "pt") as fh:
                fh.keys()
        except (OSError, SafetensorError):
            return f"{path.name} is damaged"
    for path in [*folder.glob("*.pt"), *folder.glob("*.pth")]:  # torch.save files are zip archives
        try:
            with zipfile.ZipFile(path) as archive:
                if archive.testzip() is None:
                    continue
        except (OSError, zipfile.BadZipFile):
            pass
        return f"{path.name} is damaged"
    return None


def _peft_config(config: Any, total_steps: int) -> dict[str, Any]:
    options = dict(config.peft_options)
    if "total_step" in PEFT_METHODS.get(config.peft).defaults:  # a rank budget schedule needs the run length
        options.setdefault("total_step", total_steps)
    return options


def _spec(config: Any, max_new_tokens: int, sampling_steps: int | None, total_steps: int) -> dict[str, Any]:
    return {"base_model": config.model, "method": config.method, "task": config.dataset,
            "peft": {"name": config.peft, "config": _peft_config(config, total_steps)}, "pooling": config.pooling,
            "max_new_tokens": max_new_tokens,
            "options": {"sampling_level": config.sampling_level, "max_steps_for_sampling": sampling_steps,
                        "loss": config.loss, "alpha_first": config.alpha_first, "alpha_last": config.alpha_last}}


def train(config: Any, *, callbacks: Sequence[Any] = ()) -> Path:
    """Train ``config.method`` on ``config.dataset`` (a :class:`~predgen_core.train_config.TrainConfig`);
    return the checkpoint folder.

    ``callbacks``: extra ``transformers.TrainerCallback`` objects (tests use one to simulate a kill).
    """
    from predgen_core.train_config import resume_dict

    config.validate()
    output_dir = Path(config.output_dir)
    _check_output(output_dir)
    work = _work_dir(output_dir)
    resume = _resume_point(work, config)
    task = TASKS.get(config.dataset)
    method = METHODS.get(config.method)
    train_ex, train_source = task.load_with_source("train", config.data_dir, config.max_train_samples,
                                                   subset_seed(vars(config)))
    eval_ex = None
    if config.eval_split:
        eval_ex = _load_split(task, config.eval_split, config.data_dir, config.eval_max_samples, config.seed)
    _seed_everything(config)
    lm, tok = load_base_model(config.model)
    labels = range(task.num_labels) if task.kind == "classification" else [task.low, task.high, (task.low + task.high) / 2]
    max_new = config.max_new_tokens or max_target_tokens(task, tok, labels) + 2
    args = _training_args(config, work)
    _warn_fsdp_on_cpu()
    total_steps = config.max_steps if config.max_steps > 0 else _epoch_steps(len(train_ex), config, args.world_size)
    sampling_steps = config.max_steps_for_sampling
    if sampling_steps is None:
        sampling_steps = max(1, total_steps // 2)
    spec = _spec(config, max_new, sampling_steps if method.scheduled_sampling else None, total_steps)
    module, tok, task = build_module(spec, base=(lm, tok))
    spec = {**spec, "data_source": data_source(train_source, task.name)}  # the manifest remembers it
    if module.head is not None and task.kind == "regression":
        values = [float(e.label) for e in train_ex]
        module.head.set_target_stats(statistics.fmean(values), statistics.pstdev(values))
    items = encode(task, tok, train_ex, config.max_length, with_target=method.generative)
    extra = {"max_steps_for_sampling": sampling_steps, "combiner": config.loss} if method.scheduled_sampling else {}
    extra["head_lr_scale"] = config.head_lr_scale
    trainer = method.trainer(model=module, args=args, train_dataset=items,
                             data_collator=method.collator(tok.pad_token_id, task.kind), processing_class=tok,
                             callbacks=_callbacks(config, args, callbacks), **extra)
    if config.progress:  # the bar shows the loss: the Trainer's printed log dicts would only bury it
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    if args.should_save:
        work.mkdir(parents=True, exist_ok=True)
        (work / "train_config.json").write_text(json.dumps(resume_dict(config), indent=2))
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    if args.should_save:
        metrics = _run_metrics(trainer, result, seconds, resume)
        _finish(config, spec, trainer, tok, task, eval_ex, metrics, output_dir)
    trainer.accelerator.wait_for_everyone()
    return output_dir


def _seed_everything(config: Any) -> None:
    """Seed python, numpy and torch before the adapter and head are created (the Trainer seeds only
    at its own start, after both exist); ``--full_determinism`` also makes torch pick deterministic kernels."""
    from transformers import enable_full_determinism, set_seed

    if config.full_determinism:
        enable_full_determinism(config.seed)
    else:
        set_seed(config.seed)


def _distributed_type(trainer: Any) -> str:
    """accelerate's distributed type for this run (``NO``, ``MULTI_CPU``, ``MULTI_GPU``, ``FSDP``, ...)."""
    return str(getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type))


FSDP_ON_CPU = ("FSDP was requested (accelerate launch --use_fsdp) but there is no CUDA device: accelerate only "
               "shards on accelerators and runs this as DDP on the CPU processes (the manifest records "
               "distributed_type); drop --use_fsdp on CPU, or run on GPUs")


def _warn_fsdp_on_cpu() -> None:
    """One line on stderr when FSDP was asked for where accelerate cannot give it (no accelerator)."""
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" and not torch.cuda.is_available():
        print(f"warning: {FSDP_ON_CPU}", file=sys.stderr)


def _run_metrics(trainer: Any, result: Any, seconds: float, resume: str | None) -> dict[str, Any]:
    """What the manifest records of the training run itself (loss, steps, time, resumption, processes)."""
    return {"train_loss": result.training_loss, "global_step": trainer.state.global_step,
            "train_seconds": round(seconds, 2), "resumed_from": resume, "world_size": trainer.args.world_size,
            "distributed_type": _distributed_type(trainer)}


def _finish(config, spec, trainer, tok, task, eval_ex, metrics: dict[str, Any], output_dir: Path) -> None:
    """Score the held-out split into ``metrics``, write the checkpoint to ``output_dir``, drop the work folder."""
    from predgen_core.train_config import resume_dict

    module = trainer.accelerator.unwrap_model(trainer.model)
    if eval_ex is not None:
        print(f"scoring {len(eval_ex)} {config.eval_split} examples (set the number with --eval-max-samples, "
              "or skip with --eval-split none)", file=sys.stderr)
        pred = predict_examples(module, tok, task, eval_ex, batch_size=config.per_device_eval_batch_size,
                                max_length=config.max_length, progress=config.progress)
        scores = task.metrics(pred.values, [e.label for e in eval_ex])
        metrics[config.eval_split] = {**scores, "parse_failures": pred.parse_failures}
    manifest = {**spec, "peft": peft_manifest(module.lm), "kind": task.kind, "verbaliser": _verbaliser(task),
                "training": resume_dict(config), "metrics": metrics,
                "log_history": trainer.state.log_history[-20:]}
    write_checkpoint(output_dir, module, tok, manifest)
    if not config.keep_checkpoints:
        shutil.rmtree(_work_dir(output_dir), ignore_errors=True)


def _verbaliser(task: Any) -> dict[str, Any]:
    if task.kind == "classification":
        return {"labels": list(task.labels), "completions": [_completion(task, i) for i in range(task.num_labels)]}
    return {"format": _completion(task, task.low), "low": task.low, "high": task.high}


def _completion(task: Any, label: Any) -> str:
    return completion_text(task, label)


def _load_split(task: Any, split: str, data_dir: str | None, max_samples: int | None, seed: int) -> list:
    examples = task.load(split, data_dir=data_dir, max_samples=max_samples, seed=seed)
    if not examples:
        raise UserError(f"split {split!r} of {task.name!r} is empty; check the data files or choose another split")
    return examples


def _epoch_steps(n: int, config: Any, world: int) -> int:
    per_step = config.per_device_train_batch_size * config.gradient_accumulation_steps * max(world, 1)
    return max(1, math.ceil(math.ceil(n / per_step) * config.num_train_epochs))


def _training_args(config: Any, work: Path) -> Any:
    """The TrainingArguments the Trainer sees: the config itself, writing to the work folder."""
    from predgen_core.train_config import trainer_args

    return trainer_args(config, str(work))


def _callbacks(config: TrainConfig, args: Any, extra: Sequence[Any]) -> list[Any]:
    from predgen_core.methods.progress import RichProgress  # imports transformers (see the note at the top)

    out = list(extra)
    if config.progress and args.process_index == 0:
        out.append(RichProgress(config.method))
    return out


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class RunOptions:
    """How :func:`evaluate` and :func:`zero_shot` run and report (none of it changes which examples are scored):
    ``batch_size`` examples a pass, ``json_out`` a file the metrics are also written to, ``progress`` a bar."""

    batch_size: int = 32
    json_out: str | Path | None = None
    progress: bool = False


def evaluate(path: str | Path, dataset: str | None = None, *, split: str = "validation",
             max_samples: int | None = None, data_dir: str | None = None, seed: int = 0,
             options: RunOptions | None = None) -> dict[str, Any]:
    """Metrics of a checkpoint on a split: ``accuracy`` (classification) or ``mse``/``mae`` (regression),
    plus ``n``, ``parse_failures`` (generated text that ``task.parse`` could not read) and ``seconds``."""
    options = options or RunOptions()
    loaded = load(path)
    task = compatible_task(loaded.task, dataset, loaded.path)
    examples = _load_split(task, split, data_dir, max_samples, seed)
    started = time.perf_counter()
    pred = predict_examples(loaded.module, loaded.tokenizer, task, examples, batch_size=options.batch_size,
                            max_length=loaded.max_length, progress=options.progress)
    result = {**task.metrics(pred.values, [e.label for e in examples]), "parse_failures": pred.parse_failures,
              "method": loaded.method, "dataset": task.name, "split": split, "checkpoint": str(path),
              "seconds": round(time.perf_counter() - started, 2)}
    if options.json_out:
        write_json_atomic(options.json_out, result)
    return result


def predict(path: str | Path, texts: str | Sequence[str]) -> list[dict[str, Any]]:
    """Predictions for raw input texts: ``label`` (class name or number), ``value`` and the generated ``text``."""
    loaded = load(path)
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not t.strip() for t in texts):
        raise UserError("predict needs non-empty --text")
    task = loaded.task
    # Multiple-choice tasks read options from records; free text goes in as the example's text.
    pred = predict_examples(loaded.module, loaded.tokenizer, task, [Example(t, 0) for t in texts],
                            max_length=loaded.max_length)
    out = []
    for i, text in enumerate(texts):
        value = pred.values[i]
        label = task.labels[value] if task.kind == "classification" and value is not None else value
        out.append({"text": text, "label": label, "value": value,
                    "generated": pred.texts[i] if pred.texts else None})
    return out


def zero_shot(model: str, dataset: str, *, split: str = "validation", max_samples: int | None = None,
              data_dir: str | None = None, max_length: int = 64, seed: int = 0,
              options: RunOptions | None = None) -> dict[str, Any]:
    """The untrained base model as a floor: classification picks the verbaliser with the highest
    log-likelihood after the prompt; regression greedily generates and parses a number."""
    options = options or RunOptions()
    task = TASKS.get(dataset)
    examples = _load_split(task, split, data_dir, max_samples, seed)
    lm, tok = load_base_model(model)
    started = time.perf_counter()
    values, failures = zero_shot_predictions(lm, tok, task, examples, batch_size=options.batch_size,
                                             max_length=max_length, progress=options.progress)
    result = {**task.metrics(values, [e.label for e in examples]), "parse_failures": failures,
              "method": "zero-shot", "model": model, "dataset": dataset, "split": split,
              "seconds": round(time.perf_counter() - started, 2)}
    if options.json_out:
        write_json_atomic(options.json_out, result)
    return result
