"""Controls: shuffled labels, random-init model (same architecture, same extraction path), control task."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.measures import controls as ctl
from mi_toolkit.measures.curve import CurveConfig, learning_curve
from predgen_common.errors import UserError

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=200)


def test_shuffled_labels_read_nothing_and_the_real_reading_is_selective():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    cfg = CurveConfig(sizes=(80, 320), probe=FAST)
    real = learning_curve({"x": X}, y, config=cfg)
    rep = ctl.curve_controls({"x": X}, y, real, config=cfg)
    (c,) = rep.controls
    assert c.kind == "shuffled labels" and not c.control.detected
    assert c.ci_low > 0.3 and c.verdict == "reads above the control"
    assert np.bincount(ctl.shuffled_labels(y, 0)).tolist() == np.bincount(y).tolist()


def test_control_task_gives_each_type_one_label_from_the_label_distribution():
    types = np.random.default_rng(1).integers(0, 500, 20000)
    labels = ctl.control_task_labels(types, [0.8, 0.2], seed=3)
    for t in (0, 17, 499):
        assert len(set(labels[types == t])) == 1
    per_type = np.array([labels[types == t][0] for t in np.unique(types)])
    assert abs(per_type.mean() - 0.2) < 0.06
    with pytest.raises(UserError, match="distribution"):
        ctl.control_task_labels(types, [0.5, 0.6])


def test_token_selectivity_is_positive_when_the_label_is_in_the_state_not_the_type():
    rng = np.random.default_rng(2)
    sent = np.repeat(np.arange(60), 5)
    y_sent = rng.integers(0, 2, 60)
    y = y_sent[sent]
    types = rng.integers(0, 40, len(sent))
    Z = rng.standard_normal((len(sent), 8)) + 1.5 * y[:, None] * np.eye(8)[0]
    out = ctl.token_selectivity(Z, y, types, sent, 2, seed=0, n_boot=200, k=4)
    assert out["ci_low"] > 0 and out["n_sentences"] == 60 and len(out["control_labels"]) == len(y)


def test_random_init_model_keeps_the_architecture_and_fresh_weights(tmp_path):
    from tests.fixtures import tiny_lm

    lm, tok = tiny_lm()
    lm.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    rand = ctl.random_init_model(tmp_path / "tiny", seed=5)   # (tiny-llama itself is a seed-0 init)
    assert type(rand.model) is type(lm) and rand.model.config.hidden_size == lm.config.hidden_size
    a = next(rand.model.parameters()).detach()
    b = next(lm.parameters()).detach()
    assert a.shape == b.shape and not np.allclose(a.numpy(), b.numpy())
    again = ctl.random_init_model(tmp_path / "tiny", seed=5)
    assert np.allclose(next(again.model.parameters()).detach().numpy(), a.numpy())   # seeded


def test_a_model_without_a_readable_config_is_one_line(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read the architecture config"):
        ctl.architecture_config(tmp_path / "bad")


def test_controls_and_pvi_use_the_one_detection_rule():
    """Selectivity and PVI cells are detected as every reading is (estimators.result.is_detection):
    an interval above 0 only by float rounding is not a detection."""
    from mi_toolkit.estimators.result import RESOLUTION
    from mi_toolkit.measures.controls import control_verdict

    assert control_verdict(RESOLUTION / 10, 0.01).startswith("not detected")
    assert control_verdict(-0.01, -RESOLUTION / 10).startswith("not detected")
    assert control_verdict(0.01, 0.02) == "reads above the control"
    assert control_verdict(-0.02, -0.01) == "reads below the control"
