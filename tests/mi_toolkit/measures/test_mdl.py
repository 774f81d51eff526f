"""Online code length: known answers (a null label compresses to 1, a deterministic one grows like log n)."""
from __future__ import annotations

import math

import numpy as np

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.measures.curve import CurveConfig, learning_curve
from mi_toolkit.measures.mdl import LN2, _one_ordering

FAST = ProbeConfig(penalties=(1e-4, 1e-2, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=100)
SIZES = (20, 40, 80, 160, 320, 640, 1280)


def test_null_label_compresses_to_one_against_the_prior_code():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1600, 8)).astype(np.float32)
    y = rng.integers(0, 2, 1600)
    code = learning_curve({"x": X}, y, config=CurveConfig(sizes=SIZES, probe=FAST)).codes["x"]
    assert abs(code.compression_prior - 1.0) <= 0.02
    assert abs(code.bits - code.nats / LN2) < 1e-9 and code.schedule == list(SIZES) and code.orderings == 5


def test_deterministic_label_code_grows_like_log_n_not_n():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((1600, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -1.0, 0.5, 0.0]) > 0).astype(np.int64)
    code = learning_curve({"x": X}, y, config=CurveConfig(sizes=SIZES, probe=FAST)).codes["x"]
    pts = code.per_log_n()
    assert [p["n"] for p in pts] == list(SIZES)
    assert code.compression_uniform > 5                 # far below n ln 2
    # from n = 160 on, the code per doubling of n stays about flat (log n), far below the n ln 2 / 2 a null costs
    steps = [pts[i + 1]["nats"] - pts[i]["nats"] for i in range(3, len(pts) - 1)]
    assert max(steps) < 0.1 * SIZES[-1] * math.log(2) / 2
    assert steps[-1] < 2.5 * steps[0]                   # a code linear in n would double each step (x4 here)


def test_follow_the_leader_codes_each_block_with_what_coded_the_past_best():
    blocks = [{"prior": np.log([0.5, 0.5]), "p": np.log([0.9, 0.9])},
              {"prior": np.log([0.5] * 4), "p": np.log([0.1] * 4)},
              {"prior": np.log([0.5] * 8), "p": np.log([0.9] * 8)}]
    online, prior, used = _one_ordering(blocks, 2, 2)
    assert used == ["prior", "p", "prior"]              # first modelled block: the prior; then the leader
    assert math.isclose(prior[-1], 2 * math.log(2) + 14 * math.log(2))
    assert math.isclose(online[-1], 2 * math.log(2) + 2 * math.log(2) - 4 * math.log(0.1) + 8 * math.log(2))
