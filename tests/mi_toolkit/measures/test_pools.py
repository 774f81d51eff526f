"""The fit pool follows the evaluation pool's lengths (measures.pools.length_matched, draw_pools)."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from mi_toolkit.measures.pools import PoolSpec, draw_pools, fit_pool, length_matched
from predgen_core.tasks import TASKS


def _ex(words: int, i: int) -> SimpleNamespace:
    return SimpleNamespace(text=" ".join(f"w{i}x{j}" for j in range(words)), label=i % 2)


def test_a_short_biased_pool_is_drawn_to_the_target_lengths():
    rng = np.random.default_rng(0)
    pool = [_ex(int(w), i) for i, w in enumerate(rng.geometric(0.15, 20000))]      # mostly short phrases
    like = [_ex(int(w), i) for i, w in enumerate(rng.integers(12, 30, 800))]      # sentences of 12-29 words
    drawn = length_matched(pool, like, 1000, seed=3)
    words = np.array([len(e.text.split()) for e in drawn])
    assert len(drawn) == 1000 and len({e.text for e in drawn}) == 1000
    assert abs(np.median(words) - 20) <= 2 and np.median([len(e.text.split()) for e in pool]) < 8
    assert drawn == length_matched(pool, like, 1000, seed=3)                     # seeded
    assert [pool.index(e) for e in drawn] == sorted(pool.index(e) for e in drawn)  # pool order kept


def test_unmatchable_lengths_still_give_n_rows():
    pool = [_ex(3, i) for i in range(50)] + [_ex(25, 100 + i) for i in range(5)]
    drawn = length_matched(pool, [_ex(25, i) for i in range(40)], 20, seed=0)
    assert len(drawn) == 20 and sum(len(e.text.split()) == 25 for e in drawn) == 5


def test_draw_pools_matches_lengths_only_across_splits(tmp_path):
    (tmp_path / "sst2").mkdir()
    rows = {"train": [" ".join(["a"] * (18 + i % 5 if i % 4 == 0 else 1 + i % 6)) + f" t{i}\t{i % 2}"
                      for i in range(600)],
            "validation": [" ".join(["b"] * (18 + i % 5)) + f" v{i}\t{i % 2}" for i in range(100)]}
    for split, lines in rows.items():
        (tmp_path / "sst2" / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(lines) + "\n")
    task, spec = TASKS.get("sst2"), PoolSpec(n_fit=100, n_eval=50, seed=0, data_dir=str(tmp_path))
    _, ev, matched = draw_pools([], task, spec)
    _, _, plain = draw_pools([], task, replace(spec, match_lengths=False))
    assert matched.fit["length_matched"] and not plain.fit["length_matched"]
    assert abs(matched.fit["median_words"] - matched.eval["median_words"]) <= 2
    assert abs(plain.fit["median_words"] - plain.eval["median_words"]) > 4
    assert "drawn to the evaluation pool's lengths" in " ".join(matched.lines())
    _, _, same = draw_pools([], task, replace(spec, fit_split="validation", n_fit=50))
    assert not same.fit["length_matched"]
    # fit_pool alone: a PoolSpec's fit side, the same draw as draw_pools' fit pool
    alone = fit_pool([], task, spec, like=ev)
    fit, _, _ = draw_pools([], task, spec)
    assert [e.text for e in alone[0]] == [e.text for e in fit] and alone[1]["length_matched"]
