"""Collators: tokenised examples -> padded batches for the two input layouts.

* Prompt-only (Predictor): right-padded prompt, the label as a number.
* Prompt + target (Generator, PredGen): prompts LEFT-padded so that every target
  starts at the same column ``n``; targets (verbaliser text + EOS) right-padded
  after it. One column ``n`` for the whole batch lets scheduled sampling decode
  all rows together with one KV cache, and lets the LM head run only on the last
  ``m + 1`` columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

IGNORE_INDEX = -100


def label_tensor(labels: Sequence[int | float], kind: str) -> torch.Tensor:
    if kind == "classification":
        return torch.tensor([int(v) for v in labels], dtype=torch.long)
    return torch.tensor([float(v) for v in labels], dtype=torch.float32)


@dataclass
class PromptCollator:
    """Batches ``{"prompt_ids": list[int], "label": ...}`` items for the Predictor.

    Output: ``input_ids``/``attention_mask`` ``(B, T)``, ``labels`` ``(B,)``.
    """

    pad_id: int
    kind: str

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(it["prompt_ids"]) for it in items)
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for i, it in enumerate(items):
            row = torch.tensor(it["prompt_ids"], dtype=torch.long)
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": label_tensor([it["label"] for it in items], self.kind)}


@dataclass
class TargetCollator:
    """Batches ``{"prompt_ids", "target_ids", "label"}`` items for Generator and PredGen.

    Output: ``input_ids``/``attention_mask`` ``(B, n + m)`` (prompt left-padded to
    ``n``, target right-padded to ``m``), ``target_ids``/``target_mask`` ``(B, m)``,
    ``labels`` ``(B,)`` (class index or value). Items without ``target_ids`` (at
    prediction time) give ``m = 0``.
    """

    pad_id: int
    kind: str

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        n = max(len(it["prompt_ids"]) for it in items)
        m = max(len(it.get("target_ids", ())) for it in items)
        b = len(items)
        ids = torch.full((b, n + m), self.pad_id, dtype=torch.long)
        mask = torch.zeros((b, n + m), dtype=torch.long)
        tgt = torch.full((b, m), self.pad_id, dtype=torch.long)
        tmask = torch.zeros((b, m), dtype=torch.bool)
        for i, it in enumerate(items):
            p = torch.tensor(it["prompt_ids"], dtype=torch.long)
            ids[i, n - len(p) : n] = p
            mask[i, n - len(p) : n] = 1
            t = torch.tensor(it.get("target_ids", []), dtype=torch.long)
            ids[i, n : n + len(t)] = t
            mask[i, n : n + len(t)] = 1
            tgt[i, : len(t)] = t
            tmask[i, : len(t)] = True
        out = {"input_ids": ids, "attention_mask": mask, "target_ids": tgt, "target_mask": tmask}
        if all("label" in it for it in items):
            out["labels"] = label_tensor([it["label"] for it in items], self.kind)
        return out


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip padding: ``(B, T)``, 0 at each row's first real token."""
    return (attention_mask.long().cumsum(-1) - 1).clamp_min(0)
