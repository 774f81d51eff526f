"""Pure schedules: the scheduled-sampling probability, its coin flips, and ordered-penalty weights."""
from __future__ import annotations

import torch

SAMPLING_LEVELS = ("sequence", "token")


def sampling_probability(step: int, max_steps_for_sampling: int) -> float:
    """p(step): probability of conditioning on the model's own tokens.

    Rises linearly from 0 at step 0 to 1 at ``max_steps_for_sampling`` and stays
    at 1 (paper section 6). ``max_steps_for_sampling <= 0`` means always 1.
    """
    if max_steps_for_sampling <= 0:
        return 1.0
    return float(min(max(step / max_steps_for_sampling, 0.0), 1.0))


def sampling_mask(
    batch: int,
    length: int,
    p: float,
    level: str = "sequence",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Coin flips ``(batch, length)`` bool: True where the model's own token replaces the gold one.

    ``sequence``: one flip per example, the whole target replaced or kept (the
    paper's default). ``token``: one flip per position.
    """
    if level not in SAMPLING_LEVELS:
        raise ValueError(f"sampling level must be one of {SAMPLING_LEVELS}, got {level!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    cols = 1 if level == "sequence" else length
    flips = torch.rand(batch, cols, generator=generator) < p
    return flips.expand(batch, length).clone()


def ordered_alphas(length: int, first: float = 1.67, last: float = 1.0) -> torch.Tensor:
    """Decreasing weights ``alpha_1 >= ... >= alpha_m > 0`` (appendix D.2), linear from ``first`` to ``last``.

    The paper's 4-token example is (1.67, 1.33, 1.01, 1.00); a straight line
    from 1.67 to 1.0 is close to it and defined for any length. Returns ``(length,)``.
    """
    if length < 1:
        raise ValueError("length must be >= 1")
    if not first >= last > 0:
        raise ValueError(f"need first >= last > 0, got first={first}, last={last}")
    if length == 1:
        return torch.tensor([first])
    return torch.linspace(first, last, length)
