"""Captum attributions beside the MI heatmap: LayerIntegratedGradients over the input
embeddings, for the log-probability of a label token.

The baseline replaces only the attributed positions (the user's text) with the pad
token, so instruction tokens attribute nothing and the attributions over the text add
up (up to the reported convergence delta) to log p(label | prompt) - log p(label | baseline).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch


@dataclass
class Attribution:
    """``scores`` ``(T,)`` per attributed position (summed over the embedding), the target's
    log-probability at the input and at the baseline, and captum's convergence ``delta``."""

    scores: np.ndarray
    logprob: float
    baseline_logprob: float
    delta: float


def label_logprob_fn(model: Any, target_id: int):
    """``f(input_ids (B, T)) -> (B,)``: log p(target_id | input) at the last position."""
    def forward(input_ids: torch.Tensor) -> torch.Tensor:
        out = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), logits_to_keep=1)
        return torch.log_softmax(out.logits[:, -1].float(), dim=-1)[:, target_id]

    return forward


def integrated_gradients(model: Any, input_ids: Sequence[int], target_id: int, positions: Sequence[int], *,
                         baseline_id: int, n_steps: int = 32, internal_batch_size: int = 16) -> Attribution:
    """Attribute ``log p(target_id | input_ids)`` to the embeddings at ``positions``.

    ``input_ids``: the whole input (prompt, plus any target prefix); ``positions``:
    indices into it to attribute (the others are kept in the baseline).
    Returns one score per entry of ``positions``.
    """
    from captum.attr import LayerIntegratedGradients  # heavy (seconds), deliberately imported on use

    ids = torch.tensor([list(input_ids)], dtype=torch.long, device=next(model.parameters()).device)
    base = ids.clone()
    base[0, list(positions)] = baseline_id
    fn = label_logprob_fn(model, target_id)
    lig = LayerIntegratedGradients(fn, model.get_input_embeddings())
    with torch.enable_grad():
        attr, delta = lig.attribute(ids, baselines=base, n_steps=n_steps, internal_batch_size=internal_batch_size,
                                    return_convergence_delta=True)
    with torch.no_grad():
        lp, blp = float(fn(ids)[0]), float(fn(base)[0])
    scores = attr[0].sum(dim=-1).detach().float().cpu().numpy()[list(positions)]
    return Attribution(scores, lp, blp, float(delta.abs().max()))
