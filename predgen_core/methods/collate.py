"""Padding and collators: tokenised examples -> padded batches for the two input layouts.

:func:`pad_rows` is the project's one padder; everything that batches token ids
(the collators, greedy decoding, state extraction) goes through it.

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

from predgen_common.errors import UserError

IGNORE_INDEX = -100
SIDES = ("left", "right")


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int, side: str = "right",
             width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists to ``(B, T)``: ``input_ids`` (``pad_id`` where padded) and ``attention_mask`` (1 on real tokens).

    ``side`` is where the padding goes; ``width`` defaults to the longest row (0 for no rows).
    """
    if side not in SIDES:
        raise UserError(f"padding side must be left or right, not {side!r}")
    width = max((len(r) for r in rows), default=0) if width is None else width
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        cols = slice(0, len(row)) if side == "right" else slice(width - len(row), width)
        ids[i, cols] = torch.as_tensor(list(row), dtype=torch.long)
        mask[i, cols] = 1
    return ids, mask


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip padding: ``(B, T)``, 0 at each row's first real token.

    A sequence thus gets the same positions (and states) whichever side it is padded on.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp_min(0)


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
        ids, mask = pad_rows([it["prompt_ids"] for it in items], self.pad_id, "right")
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
        prompt, prompt_mask = pad_rows([it["prompt_ids"] for it in items], self.pad_id, "left")
        tgt, tmask = pad_rows([it.get("target_ids", ()) for it in items], self.pad_id, "right")
        out = {"input_ids": torch.cat([prompt, tgt], 1), "attention_mask": torch.cat([prompt_mask, tmask], 1),
               "target_ids": tgt, "target_mask": tmask.bool()}
        if all("label" in it for it in items):
            out["labels"] = label_tensor([it["label"] for it in items], self.kind)
        return out
