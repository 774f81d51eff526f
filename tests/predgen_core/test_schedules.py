"""Pure schedules: p(step), coin flips, ordered-penalty weights."""
from __future__ import annotations

import pytest
import torch

from predgen_core.methods.schedules import ordered_alphas, sampling_mask, sampling_probability


def test_probability_rises_linearly_then_stays_at_one():
    assert sampling_probability(0, 100) == 0.0
    assert sampling_probability(25, 100) == pytest.approx(0.25)
    assert sampling_probability(100, 100) == 1.0
    assert sampling_probability(500, 100) == 1.0
    assert sampling_probability(3, 0) == 1.0
    values = [sampling_probability(s, 10) for s in range(12)]
    assert values == sorted(values)


def test_sequence_level_flips_whole_rows():
    g = torch.Generator().manual_seed(0)
    mask = sampling_mask(400, 5, 0.5, "sequence", generator=g)
    assert mask.shape == (400, 5)
    assert bool((mask.all(1) | ~mask.any(1)).all())  # each row all-or-nothing
    assert 0.4 < mask[:, 0].float().mean() < 0.6


def test_token_level_flips_each_position():
    g = torch.Generator().manual_seed(0)
    mask = sampling_mask(400, 5, 0.5, "token", generator=g)
    mixed = mask.any(1) & ~mask.all(1)
    assert mixed.float().mean() > 0.5  # most rows mix gold and own tokens
    assert 0.45 < mask.float().mean() < 0.55


def test_extreme_probabilities_and_bad_input():
    assert not sampling_mask(10, 3, 0.0).any()
    assert sampling_mask(10, 3, 1.0, "token").all()
    with pytest.raises(ValueError):
        sampling_mask(2, 2, 1.5)
    with pytest.raises(ValueError):
        sampling_mask(2, 2, 0.5, "word")


def test_ordered_alphas_decrease_from_first_to_last():
    a = ordered_alphas(4)
    assert a[0].item() == pytest.approx(1.67) and a[-1].item() == pytest.approx(1.0)
    assert bool((a[:-1] >= a[1:]).all()) and bool((a > 0).all())
    assert ordered_alphas(1).tolist() == pytest.approx([1.67])
    with pytest.raises(ValueError):
        ordered_alphas(3, first=0.5, last=1.0)
