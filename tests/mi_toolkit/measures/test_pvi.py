"""The sentence-grouped token probe: no leakage across a sentence's tokens, a sentence bootstrap."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.measures.pvi import GroupedProbe
from predgen_common.errors import UserError


def _pairs(rng, n_sentences=120, tokens=6, d=16, signal=0.0):
    """Tokens of a sentence share a sentence-specific offset; labels are random per sentence
    (plus ``signal`` along dimension 0)."""
    y_s = rng.integers(0, 2, n_sentences)
    offset = rng.normal(size=(n_sentences, d)) * 3.0
    z = np.repeat(offset, tokens, axis=0) + rng.normal(size=(n_sentences * tokens, d)) * 0.1
    y = np.repeat(y_s, tokens)
    z[:, 0] += signal * (2 * y - 1)
    return z, y, np.repeat(np.arange(n_sentences), tokens)


def test_grouped_split_does_not_read_a_sentences_own_label():
    z, y, g = _pairs(np.random.default_rng(0))
    probe = GroupedProbe(2, seed=0, n_boot=200).fit(z, y, g)
    # a random split of pairs would memorise each sentence's offset and read near H(Y)
    assert probe.held_out.mi < 0.05 and not probe.held_out.detected
    assert probe.held_out.n_sentences == 120 and probe.held_out.n_pairs == 720


def test_a_real_signal_is_read_with_a_sentence_level_interval():
    z, y, g = _pairs(np.random.default_rng(1), signal=3.0)
    probe = GroupedProbe(2, seed=0, n_boot=200).fit(z, y, g)
    assert probe.held_out.detected and probe.held_out.mi > 0.2
    cells = probe.pvi(z[:6])
    assert cells.shape == (6, 2) and np.isfinite(cells).all()
    # PVI of the true class is positive where the signal points to it
    assert (cells[np.arange(6), y[:6]] > 0).all()


def test_too_few_sentences_is_a_user_error():
    z, y, g = _pairs(np.random.default_rng(2), n_sentences=4)
    with pytest.raises(UserError, match="at least 5 sentences"):
        GroupedProbe(2).fit(z, y, g)
