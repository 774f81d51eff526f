"""Pooling and the small trainable heads: the Predictor's head and PredGen's task adapter T."""
from __future__ import annotations

import torch
from torch import nn

# The one list of poolings, in the order mi_toolkit stores pooled states (first, mean, last).
POOLINGS = ("first", "mean", "last")


def pool_hidden(hidden: torch.Tensor, mask: torch.Tensor, how: str = "last") -> torch.Tensor:
    """Pool ``hidden`` ``(B, T, d)`` over the positions where ``mask`` ``(B, T)`` is True -> ``(B, d)``.

    ``last``/``first``: the last/first True position of each row (works for left
    or right padding); ``mean``: the average over True positions. The default is
    ``last`` because in a causal LM only the last token has seen the whole input.
    """
    if how not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")
    mask = mask.bool()
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every row needs at least one unmasked position to pool")
    if how == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    if how == "last":
        idx = torch.where(mask, positions, -1).amax(dim=1)
    else:
        idx = torch.where(mask, positions, mask.shape[1]).amin(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), idx]


class PooledHead(nn.Module):
    """Linear map from a pooled hidden state to class logits ``(B, C)`` or a number ``(B,)``.

    Used both as the Predictor's head (over the prompt) and as PredGen's task
    adapter T (over Z[n:n+m], the hidden states of the generated tokens):
    softmax(W pool(Z)) for classification, a numeric head for regression.
    """

    def __init__(self, hidden_size: int, num_outputs: int, pooling: str = "last") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.num_outputs = num_outputs
        self.dropout = nn.Dropout(0.1)
        self.proj = nn.Linear(hidden_size, num_outputs)
        # Regression heads predict a standardised value; shift/scale (saved with the
        # head) map it back, so the initial MSE is ~1 whatever the label range.
        self.register_buffer("shift", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))

    def set_target_stats(self, mean: float, std: float) -> None:
        """Label mean and spread of the training set (regression only)."""
        self.shift.fill_(float(mean))
        self.scale.fill_(float(std) if std > 0 else 1.0)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = pool_hidden(hidden, mask, self.pooling).to(self.proj.weight.dtype)
        out = self.proj(self.dropout(pooled))
        if self.num_outputs == 1:
            return out.squeeze(-1) * self.scale + self.shift
        return out
