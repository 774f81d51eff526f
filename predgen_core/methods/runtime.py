"""Glue between tasks, tokenizers and method modules: build, encode, batch, predict.

Shared by ``predgen_core.api`` (train / evaluate / predict) and
``predgen_core.checkpoint`` (load), so a checkpoint is rebuilt exactly as it was trained.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import torch

from predgen_core.methods import METHODS
from predgen_core.methods.collate import PromptCollator, TargetCollator, position_ids
from predgen_core.methods.heads import PooledHead
from predgen_core.methods.modules import Prediction
from predgen_core.methods.sampling import greedy_decode


def completion_text(task: Any, label: Any) -> str:
    """What a generator writes after the prompt (before EOS)."""
    return task.completion(label) if hasattr(task, "completion") else " " + task.target_text(label)


def max_target_tokens(task: Any, tokenizer: Any, labels: Iterable[Any]) -> int:
    """Longest completion (+ EOS) over ``labels``, in tokens."""
    return max(len(tokenizer(completion_text(task, v), add_special_tokens=False)["input_ids"]) for v in labels) + 1


def build_module(spec: dict, tokenizer_path: Any = None, base: tuple[Any, Any] | None = None):
    """(module, tokenizer, task) from a manifest-like dict: base_model, method, task, peft, pooling, options."""
    from predgen_core.models import load_base_model, prepare_tokenizer
    from predgen_core.peft_methods import apply_peft
    from predgen_core.tasks import TASKS

    method = METHODS.get(spec["method"])
    task = TASKS.get(spec["task"])
    lm, tok = base if base is not None else load_base_model(spec["base_model"])
    if tokenizer_path is not None:
        from transformers import AutoTokenizer

        tok = prepare_tokenizer(AutoTokenizer.from_pretrained(str(tokenizer_path)))
    peft = spec["peft"]
    lm = apply_peft(lm, peft["name"], **peft.get("config", {}))
    head = None
    if method.has_head:
        head = PooledHead(lm.config.hidden_size, task.num_labels, spec.get("pooling", "last"))
    options = spec.get("options", {})
    kwargs: dict[str, Any] = {}
    if method.generative:
        kwargs = dict(eos_id=tok.eos_token_id, parse=task.parse, max_new_tokens=spec.get("max_new_tokens", 8),
                      decode_text=lambda ids: tok.decode(ids, skip_special_tokens=True))
    if method.name == "predgen":
        kwargs.update(sampling_level=options.get("sampling_level", "sequence"),
                      alpha_first=options.get("alpha_first", 1.67), alpha_last=options.get("alpha_last", 1.0))
    return method.module(lm, head, task.kind, **kwargs), tok, task


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


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def track(iterable: Iterable[Any], total: int, description: str, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar over ``iterable`` (silent when not enabled)."""
    if not enabled:
        yield from iterable
        return
    from rich.progress import track as rich_track

    yield from rich_track(iterable, total=total, description=description, transient=True)


def predict_examples(module: Any, tokenizer: Any, task: Any, examples: Sequence[Any], *, batch_size: int = 16,
                     max_length: int | None = None, progress: bool = False) -> Prediction:
    """Predictions of ``module`` (in eval mode) for ``examples``, the way its method predicts."""
    generative = not hasattr(module, "_head_out")
    items = encode(task, tokenizer, examples, max_length, with_target=False)
    collate = (TargetCollator if generative else PromptCollator)(tokenizer.pad_token_id, task.kind)
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


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r):] = 1
    return ids, mask


def _prompt_ids(tokenizer: Any, prompts: Sequence[str], max_length: int | None) -> list[list[int]]:
    ids = tokenizer(list(prompts))["input_ids"]
    return [p[-max_length:] if max_length else p for p in ids]


@torch.no_grad()
def generate_ids(lm: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, *, batch_size: int = 16,
                 max_length: int | None = None) -> list[list[int]]:
    """Greedy continuations (KV cache) of each prompt, as token ids up to and including EOS."""
    device = next(lm.parameters()).device
    out: list[list[int]] = []
    for chunk in batches(_prompt_ids(tokenizer, prompts, max_length), batch_size):
        ids, mask = _left_pad(list(chunk), tokenizer.pad_token_id)
        dec = greedy_decode(lm, ids.to(device), mask.to(device), max_new_tokens, eos_id=tokenizer.eos_token_id)
        out += [row[m].tolist() for row, m in zip(dec.tokens.cpu(), dec.mask.cpu())]
    return out


@torch.no_grad()
def sequence_states(lm: Any, tokenizer: Any, prompts: Sequence[str], continuations: Sequence[list[int]] | None,
                    *, layer: int = -1, batch_size: int = 16, max_length: int | None = None) -> list[torch.Tensor]:
    """States ``(n_i + m_i, d)`` of each prompt followed by its continuation (or the prompt alone)."""
    device = next(lm.parameters()).device
    rows = _prompt_ids(tokenizer, prompts, max_length)
    if continuations is not None:
        rows = [p + list(c) for p, c in zip(rows, continuations)]
    out: list[torch.Tensor] = []
    for chunk in batches(rows, batch_size):
        ids, mask = _left_pad(list(chunk), tokenizer.pad_token_id)
        ids, mask = ids.to(device), mask.to(device)
        res = lm(input_ids=ids, attention_mask=mask, position_ids=position_ids(mask),
                 output_hidden_states=True, logits_to_keep=1)
        hidden = res.hidden_states[layer]
        out += [h[m.bool()].float().cpu() for h, m in zip(hidden, mask)]
    return out
