"""Ground truth on real LM states: the channel formula, the task construction, the cached states."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.bench.groundtruth_real import (RealTask, channel_truth, noisy_channel, real_states,
                                              real_suite, synthetic_states)
from predgen_common.errors import UserError


def _mi_from_joint(joint: np.ndarray) -> float:
    """Plug-in I(A; B) of a joint probability table."""
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])))


def test_channel_truth_binary_closed_form():
    eps = 0.1
    h = -(eps * np.log(eps) + (1 - eps) * np.log(1 - eps))
    assert channel_truth(np.array([0.5, 0.5]), eps) == pytest.approx(np.log(2) - h, abs=1e-12)
    assert channel_truth(np.array([0.5, 0.5]), 0.0) == pytest.approx(np.log(2))
    assert channel_truth(np.array([0.2, 0.3, 0.5]), 2 / 3) == pytest.approx(0.0, abs=1e-12)  # uniform output


def test_channel_truth_matches_the_joint_table():
    p_u, eps, C = np.array([0.1, 0.2, 0.3, 0.4]), 0.25, 4
    channel = np.full((C, C), eps / (C - 1))
    np.fill_diagonal(channel, 1 - eps)
    assert channel_truth(p_u, eps) == pytest.approx(_mi_from_joint(p_u[:, None] * channel), abs=1e-12)
    with pytest.raises(UserError, match="symmetric channel"):
        channel_truth(p_u, 0.9)


def test_noisy_channel_flips_at_rate_eps_to_the_other_classes():
    rng = np.random.default_rng(0)
    u = rng.integers(0, 3, 60_000)
    y = noisy_channel(u, 3, 0.3, rng)
    assert np.mean(y != u) == pytest.approx(0.3, abs=0.01)
    moved = (y - u) % 3
    assert np.mean(moved[y != u] == 1) == pytest.approx(0.5, abs=0.02)  # both other classes equally


def test_tasks_are_deterministic_and_their_truth_matches_the_realised_labels():
    states = synthetic_states(4000, 32, window=6, seed=1)
    for task in real_suite():
        if task.form == "window" and task.position >= 6:
            continue
        z, y, truth = task.make(states)
        z2, y2, _ = task.make(states)
        np.testing.assert_array_equal(y, y2)
        assert z.shape == ((4000, 32) if task.form == "last" else (4000, 6, 32))
        assert set(np.unique(y)) <= set(range(task.n_classes))
        if task.label == "null":
            assert truth == 0.0
            continue
        u = task._u(states, np.random.default_rng(10_000 + task.seed))
        joint = np.zeros((task.n_classes, task.n_classes))
        np.add.at(joint, (u, y), 1.0 / len(u))
        assert truth == pytest.approx(_mi_from_joint(joint), abs=0.03)  # plug-in of the realised channel


def test_pc1_band_is_not_linear_in_the_top_direction():
    states = synthetic_states(3000, 16, seed=2)
    task = RealTask("band", "last", "pc1-band", eps=0.0)
    z, y, _ = task.make(states)
    s1 = (z - z.mean(0)) @ np.linalg.svd(z - z.mean(0), full_matrices=False)[2][0]
    assert abs(np.corrcoef(s1, y)[0, 1]) < 0.1 and y.mean() == pytest.approx(0.5, abs=0.01)


def test_real_states_extract_once_into_the_cache(tmp_path):
    from fixtures import tiny_lm

    (tmp_path / "sst2").mkdir()
    rows = ["sentence\tlabel"] + [f"this is test sentence number {i} with quite a few words in it\t{i % 2}"
                                  for i in range(20)] + ["too short\t0"]
    (tmp_path / "sst2" / "train.tsv").write_text("\n".join(rows) + "\n")
    calls = []

    def loader(name):
        calls.append(name)
        return tiny_lm()

    s = real_states("tiny-llama", 12, data_dir=tmp_path, progress=False, loader=loader)
    assert s.last.shape == (12, 64) and s.window.shape == (12, 10, 64) and s.last.dtype == np.float16
    assert s.meta["model"] == "tiny-llama" and "sst2" in s.meta["corpus"]
    again = real_states("tiny-llama", 12, data_dir=tmp_path, progress=False, loader=loader)
    assert calls == ["tiny-llama"]  # the second call read the cache
    np.testing.assert_array_equal(again.window, s.window)
    with pytest.raises(UserError, match="have >= 10 tokens"):
        real_states("tiny-llama", 25, data_dir=tmp_path, progress=False, loader=loader)


def test_run_real_reports_each_estimator_beside_the_grid(monkeypatch):
    from mi_toolkit.bench import real

    monkeypatch.setattr(real, "GRID", {"pca8+logreg": real.GRID["pca8+logreg"]})
    monkeypatch.setitem(real.RUNNERS, "fake", lambda z, y, C, seed, device: {
        "estimator": "fake", "mi": 0.1, "ci_low": 0.0, "ci_high": 0.2, "seconds": 0.0, "input": "array"})
    states = synthetic_states(400, 16, window=4, seed=3)
    tasks = [RealTask("lin", "last", "linear", eps=0.0), RealTask("null", "window", "null")]
    out = real.run_real(tasks, ["fake"], states, seed=0)
    grid = {r["task"]: r for r in out["rows"] if r["requested"] == "sklearn-grid"}
    assert grid["lin"]["mi"] > 0.3 and abs(grid["null"]["mi"]) < 0.05  # truth ln 2 and 0
    fake = [r for r in out["rows"] if r["requested"] == "fake"]
    assert [r["vs_grid"] for r in fake] == pytest.approx([0.1 - grid[t]["mi"] for t in ("lin", "null")])
    assert out["summary"]["fake"]["max_abs_null"] == pytest.approx(0.1)


def test_the_api_path_passes_windows_as_token_states():
    """The default reads a window as token states (its sequence candidates), as the engine does; an estimator
    that does not read token states gets them flattened by its input check, and the row says which."""
    from mi_toolkit.bench.real import via_api

    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 4, 6)).astype(np.float32)
    y = (z[:, 2, 0] > 0).astype(np.int64)      # the label sits at one window position
    default = via_api(None)(z, y, 2, 0, "cpu")
    assert default["input"] == "tokens" and default["mi"] > 0.2, default
    assert via_api("ksg")(z, y, 2, 0, "cpu")["input"] == "flattened"
