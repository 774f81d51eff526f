"""Captum attributions on the tiny model: completeness and the target log-probability."""
from __future__ import annotations

import numpy as np
import torch

from mi_toolkit.measures.attribution import integrated_gradients, label_logprob_fn

from fixtures import tiny_lm


def test_attributions_add_up_to_the_log_prob_change():
    model, tok = tiny_lm()
    model.eval()
    ids = tok("Review: a funny and pretty film\nSentiment:")["input_ids"]
    target = tok(" positive", add_special_tokens=False)["input_ids"][0]
    positions = list(range(2, 8))
    a = integrated_gradients(model, ids, target, positions, baseline_id=tok.pad_token_id, n_steps=24)
    assert a.scores.shape == (len(positions),) and np.isfinite(a.scores).all()
    # completeness of integrated gradients: sum of attributions = f(x) - f(baseline), up to the delta
    assert abs(a.scores.sum() - (a.logprob - a.baseline_logprob)) <= a.delta + 1e-3
    assert a.logprob < 0


def test_label_logprob_matches_a_plain_forward():
    model, tok = tiny_lm()
    model.eval()
    ids = torch.tensor([tok("a funny film")["input_ids"]])
    with torch.no_grad():
        ref = torch.log_softmax(model(input_ids=ids).logits[0, -1], -1)[42]
        got = label_logprob_fn(model, 42)(ids)[0]
    assert torch.allclose(ref, got, atol=1e-5)
