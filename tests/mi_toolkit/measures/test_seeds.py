"""Seeds as the unit (measures.seeds): a two-level interval that covers the retraining spread, and no method
verdict from fewer than 3 seeds."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mi_toolkit.measures.seeds import MIN_SEEDS, method_verdict, one_level, per_seed_values, two_level
from predgen_common.errors import UserError

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from bench_seeds import simulate  # noqa: E402  (the benchmark's simulation, where the truth is known)


def test_two_level_interval_covers_a_known_method_difference_where_one_checkpoint_does_not():
    rng = np.random.default_rng(0)
    two = one = 0
    for _ in range(200):
        groups = simulate(rng, seeds=3, tau=0.03, sigma=0.25, delta=0.03)
        s = two_level(groups, [1, -1])
        lo, hi = one_level(groups, [1, -1])
        two += s.ci_low <= 0.03 <= s.ci_high
        one += lo <= 0.03 <= hi
    assert two / 200 >= 0.9 and one / 200 < 0.7, (two, one)


def test_spreads_are_given_apart_and_combined():
    rng = np.random.default_rng(1)
    a, b = simulate(rng, seeds=5, tau=0.05, sigma=0.25)
    s = two_level([a, b], [1, -1])
    assert s.n_seeds == (5, 5) and s.n_examples == 872
    assert 0.03 < s.between_seed_sd < 0.15           # two groups of seeds with SD 0.05 each: about 0.07
    assert 0.005 < s.within_seed_se < 0.02            # 0.25 * sqrt(2) / sqrt(872) is about 0.012
    assert s.total_se >= s.between_seed_sd / np.sqrt(5)
    one = two_level([a], [1])
    assert one.ci_low < a.mean() < one.ci_high


def test_no_method_verdict_from_fewer_than_three_seeds_and_bad_groups_are_one_line():
    rng = np.random.default_rng(2)
    a, b = simulate(rng, seeds=2, tau=0.01, sigma=0.25, delta=0.3)
    s = two_level([a, b], [1, -1])
    assert method_verdict(s, s.p_two_sided).startswith("no method verdict") and MIN_SEEDS == 3
    a, b = simulate(rng, seeds=3, tau=0.01, sigma=0.25, delta=0.3)
    s = two_level([a, b], [1, -1])
    assert method_verdict(s, s.p_two_sided) == "reads higher"
    with pytest.raises(UserError, match="different evaluation examples"):
        two_level([a, b[:, :10]], [1, -1])
    with pytest.raises(UserError, match="different numbers of examples"):
        per_seed_values([np.zeros(5), np.zeros(6)])
