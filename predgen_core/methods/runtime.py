"""Glue between tasks, tokenizers and method modules: build, encode, predict.

Shared by ``predgen_core.api`` (train / evaluate / predict) and
``predgen_core.checkpoint`` (load), so a checkpoint is rebuilt exactly as it was trained.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from predgen_core.methods import METHODS
from predgen_core.methods.heads import PooledHead
from predgen_core.methods.modules import Prediction
from predgen_core.methods.reading import batches
from predgen_core.models import load_base_model, load_tokenizer
from predgen_core.peft_methods import apply_peft
from predgen_common.progress import track as phase_track
from predgen_core.tasks import TASKS


def completion_text(task: Any, label: Any) -> str:
    """What a generator writes after the prompt (before EOS)."""
    return task.completion(label)


def max_target_tokens(task: Any, tokenizer: Any, labels: Iterable[Any]) -> int:
    """Longest completion (+ EOS) over ``labels``, in tokens."""
    return max(len(tokenizer(completion_text(task, v), add_special_tokens=False)["input_ids"]) for v in labels) + 1


def build_module(spec: dict, tokenizer_path: Any = None, base: tuple[Any, Any] | None = None):
    """(module, tokenizer, task) from a manifest-like dict: base_model, method, task, peft, pooling, options."""
    method = METHODS.get(spec["method"])
    task = TASKS.get(spec["task"])
    lm, tok = base if base is not None else load_base_model(spec["base_model"])
    if tokenizer_path is not None:
        tok = load_tokenizer(str(tokenizer_path))  # the tokenizer saved beside the checkpoint
    peft = spec["peft"]
    lm = apply_peft(lm, peft["name"], **peft.get("config", {}))
    head = None
    if method.has_head:
        head = PooledHead(lm.config.hidden_size, task.num_labels, spec.get("pooling", "last"))
    return method.module(lm, head, task.kind, **method.module.options(spec, task, tok)), tok, task


def encode(task: Any, tokenizer: Any, examples: Sequence[Any], max_length: int | None,
           with_target: bool) -> list[dict[str, Any]]:
    """Token ids per example: ``prompt_ids`` (left-truncated so the answer cue survives),
    ``target_ids`` (completion + EOS) when ``with_target``, and ``label``."""
    prompts = tokenizer([task.prompt(ex) for ex in examples])["input_ids"]
    items = []
    for ex, p in zip(examples, prompts):
        item: dict[str, Any] = {"label": ex.label}
        room = max_length
        if with_target:
            t = tokenizer(completion_text(task, ex.label), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            item["target_ids"] = t
            room = None if max_length is None else max(max_length - len(t), 8)
        item["prompt_ids"] = p[-room:] if room else p
        items.append(item)
    return items


def track(iterable: Iterable[Any], total: int, description: str, enabled: bool = True,
          unit: str = "batches") -> Iterator[Any]:
    """``iterable`` inside a progress phase (:mod:`predgen_common.progress`: a bar on a terminal's stderr, else one
    line when it ends; silent when not enabled)."""
    yield from phase_track(iterable, total, description, unit=unit, enabled=enabled)


def predict_examples(module: Any, tokenizer: Any, task: Any, examples: Sequence[Any], *, batch_size: int = 16,
                     max_length: int | None = None, progress: bool = False) -> Prediction:
    """Predictions of ``module`` (in eval mode) for ``examples``, the way its method predicts."""
    items = encode(task, tokenizer, examples, max_length, with_target=False)
    collate = module.collator(tokenizer.pad_token_id, task.kind)
    device = next(module.parameters()).device
    out = Prediction([], [], 0)
    module.eval()
    n_batches = (len(items) + batch_size - 1) // batch_size
    for chunk in track(batches(items, batch_size), n_batches, "predicting", progress):
        batch = {k: v.to(device) for k, v in collate(list(chunk)).items()}
        pred = module.predict(batch)
        out.values += pred.values
        out.texts += pred.texts
        out.parse_failures += pred.parse_failures
    return out
