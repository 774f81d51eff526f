"""The sequence probe: candidate set (nesting by views), attention pooling, position-aware reader."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators.seqprobe import (AttentionConfig, AttentionProbe, PositionReader,
                                            sequence_candidates)
from mi_toolkit.estimators.views import ProbeCandidate, TokenStates
from predgen_common.errors import UserError

FAST = AttentionConfig(k=16, max_epochs=60, patience=10)  # k = d: isotropic toy states keep every direction


def _position_task(n: int = 600, length: int = 6, d: int = 16, pos: int = 2, seed: int = 0):
    """Label = sign of one coordinate at token ``pos``; the other tokens are noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, length, d)).astype(np.float32)
    y = (z[:, pos, 0] > 0).astype(np.int64)
    return TokenStates(z, np.ones((n, length), bool)), y


def _read(est, X, y, tr, te) -> float:
    """Held-out H(Y) - CE in nats (balanced binary labels)."""
    lp = est.fit(X[tr], y[tr]).predict_log_proba(X[te])
    return float(np.log(2) + lp[np.arange(len(te)), y[te]].mean())


def _one_logistic(n_classes: int) -> list[ProbeCandidate]:
    return [ProbeCandidate("stub", lambda seed, C: None)]


def test_candidates_hold_every_pooling_and_the_sequence_readers():
    X, _ = _position_task(n=20)
    cands = sequence_candidates(X, 2, array_candidates=_one_logistic)
    names = [c.name for c in cands]
    assert names[:3] == ["first:stub", "mean:stub", "last:stub"]
    assert any(n.startswith("attention:linear") for n in names) and "position:pca+logistic" in names
    for c, how in zip(cands[:3], ("first", "mean", "last")):
        np.testing.assert_array_equal(c.read(X), X.pooled(how))  # nesting: the full states contain each pooling


def test_variable_length_states_get_no_position_reader():
    X = TokenStates.from_list([np.ones((k, 4), np.float32) for k in (2, 3, 5)])
    names = [c.name for c in sequence_candidates(X, 2, array_candidates=_one_logistic)]
    assert not any(n.startswith("position:") for n in names)


def test_attention_reads_a_position_specific_label_and_is_deterministic():
    X, y = _position_task()
    tr, te = np.arange(450), np.arange(450, 600)
    read = _read(AttentionProbe(2, seed=0, config=FAST), X, y, tr, te)
    assert read > 0.25  # truth ln 2 = 0.69; a position-blind mean reads far less
    a = AttentionProbe(2, seed=3, config=FAST).fit(X[tr], y[tr]).predict_log_proba(X[te])
    b = AttentionProbe(2, seed=3, config=FAST).fit(X[tr], y[tr]).predict_log_proba(X[te])
    np.testing.assert_array_equal(a, b)


def test_attention_ignores_padding_and_returns_every_class():
    rng = np.random.default_rng(1)
    rows = [rng.standard_normal((k, 8)).astype(np.float32) for k in rng.integers(1, 6, 120)]
    X = TokenStates.from_list(rows)
    y = rng.integers(0, 2, 120)  # class 2 never seen in the fit rows
    est = AttentionProbe(3, seed=0, config=AttentionConfig(k=4, max_epochs=5, patience=2)).fit(X, y)
    lp = est.predict_log_proba(X)
    assert lp.shape == (120, 3)
    np.testing.assert_allclose(np.exp(lp).sum(1), 1.0, rtol=1e-5)
    garbage = TokenStates(np.where(X.mask[..., None], X.z, 1e3).astype(np.float32), X.mask)
    garbage.z[~X.mask] = 1e3  # padding filled with large values must not move any prediction
    np.testing.assert_allclose(est.predict_log_proba(garbage), lp, atol=1e-5)


def test_position_reader_finds_the_position_and_refuses_variable_lengths():
    X, y = _position_task(pos=4)
    tr, te = np.arange(450), np.arange(450, 600)
    assert _read(PositionReader(2, seed=0, k=16), X, y, tr, te) > 0.3
    ragged = TokenStates.from_list([np.ones((k, 4), np.float32) for k in (2, 3)])
    with pytest.raises(UserError, match="fixed windows"):
        PositionReader(2).fit(ragged, np.array([0, 1]))


def test_sequence_probe_refuses_plain_arrays():
    with pytest.raises(UserError, match="token states"):
        AttentionProbe(2).fit(np.zeros((10, 4)), np.zeros(10, int))
    with pytest.raises(UserError, match="head"):
        AttentionProbe(2, config=AttentionConfig(head="transformer"))


def test_attention_runs_on_cuda_like_on_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    X, y = _position_task(n=200)
    cfg = AttentionConfig(k=16, max_epochs=20, patience=5)
    cpu = AttentionProbe(2, seed=0, config=cfg).fit(X, y).predict_log_proba(X)
    gpu = AttentionProbe(2, seed=0, config=cfg, device="cuda").fit(X, y).predict_log_proba(X)
    np.testing.assert_allclose(gpu, cpu, atol=0.05)  # same algorithm; float kernels differ slightly
