"""Zero-shot floor: the base model, untrained, scored through the task's verbaliser."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from predgen_core.methods.collate import TargetCollator, position_ids
from predgen_core.methods.reading import batches, generate_ids
from predgen_core.methods.runtime import completion_text, encode, track


@torch.no_grad()
def verbaliser_scores(lm: Any, tokenizer: Any, task: Any, items: list[dict], batch_size: int) -> torch.Tensor:
    """Sum of log-probabilities of each class's completion after each prompt: ``(N, C)``."""
    completions = [tokenizer(completion_text(task, c), add_special_tokens=False)["input_ids"]
                   for c in range(task.num_labels)]
    collate = TargetCollator(tokenizer.pad_token_id, task.kind)
    device = next(lm.parameters()).device
    columns = []
    for comp in completions:
        scored = []
        for chunk in batches([{"prompt_ids": it["prompt_ids"], "target_ids": comp} for it in items], batch_size):
            b = collate(list(chunk))
            ids, mask = b["input_ids"].to(device), b["attention_mask"].to(device)
            m = len(comp)
            logits = lm(input_ids=ids, attention_mask=mask, position_ids=position_ids(mask),
                        logits_to_keep=m + 1).logits[:, :m].float()
            logp = torch.log_softmax(logits, -1).gather(-1, b["target_ids"].to(device).unsqueeze(-1)).squeeze(-1)
            scored.append(logp.sum(-1).cpu())
        columns.append(torch.cat(scored))
    return torch.stack(columns, 1)


def zero_shot_predictions(lm: Any, tokenizer: Any, task: Any, examples: Sequence[Any], *, batch_size: int = 32,
                          max_length: int = 64, progress: bool = False) -> tuple[list[Any], int]:
    """(predictions, parse failures). Classification: argmax of :func:`verbaliser_scores`;
    regression: greedy generation parsed by ``task.parse``."""
    lm.eval()
    items = encode(task, tokenizer, examples, max_length, with_target=False)
    if task.kind == "classification":
        chunks = list(batches(items, 256))
        preds: list[Any] = []
        for chunk in track(chunks, len(chunks), "zero-shot", progress):
            preds += verbaliser_scores(lm, tokenizer, task, list(chunk), batch_size).argmax(1).tolist()
        return preds, 0
    prompts = [task.prompt(ex) for ex in examples]
    ids = generate_ids(lm, tokenizer, prompts, 8, batch_size=batch_size, max_length=max_length)
    values = [task.parse(tokenizer.decode(i, skip_special_tokens=True)) for i in ids]
    return values, sum(v is None for v in values)
