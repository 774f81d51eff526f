"""Online code length (Voita & Titov 2020) from the fits of a usable-information curve.

The labels of one ordering ``o`` of a fold's training rows are transmitted block by block,
the block boundaries being the curve's sizes ``n_1 < n_2 < ... < n_S``:

* the first block ``o[:n_1]`` in the uniform code, ``n_1 ln C`` nats;
* block ``o[n_i:n_{i+1}]`` with a model fitted on ``o[:n_i]`` only: ``-sum ln q(y | z)``.

Which model codes a block is decided from what the receiver already has, so the sum is a
real code length: among the curve's candidates (the label prior, the probes of the
representation and of its parts), the one with the lowest code on the blocks already
sent (follow the leader; the prior for the first modelled block). The **prior code**
transmits the same blocks with the label frequencies of the rows before each block (the
first block uniform); a label the states say nothing about compresses to about 1 against
it. Compression against the uniform code (``n_S ln C``) is Voita & Titov's figure; against
the prior code it does not reward a skewed label.

The figures are averaged over the ``K x repeats`` orderings (one per fold and repeat);
``spread`` is their range.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from mi_toolkit.estimators.probe import PRIOR

LN2 = math.log(2.0)


@dataclass
class OnlineCode:
    """Online code length in nats (``bits`` = nats / ln 2) of the labels of ``n`` examples.

    ``schedule``: the block boundaries (``[0, n_1], (n_1, n_2], ...``); ``cumulative``: the mean
    code length of the first ``n_i`` labels at each boundary (the curve of code against n,
    to read against log n); ``chosen``: per modelled block, the candidate most orderings used.
    """

    nats: float
    prior_nats: float
    uniform_nats: float
    n: int
    schedule: list[int]
    cumulative: list[float]
    spread: tuple[float, float]
    chosen: list[str] = field(default_factory=list)
    orderings: int = 1

    @property
    def bits(self) -> float:
        return self.nats / LN2

    @property
    def compression_prior(self) -> float:
        """Prior code / online code: about 1 when the representation tells nothing about the label."""
        return self.prior_nats / self.nats

    @property
    def compression_uniform(self) -> float:
        """Uniform code / online code (Voita & Titov's compression)."""
        return self.uniform_nats / self.nats

    def per_log_n(self) -> list[dict[str, float]]:
        """``[{n, log_n, nats, bits}]`` at every block boundary: code length against log n."""
        return [{"n": n, "log_n": math.log(n), "nats": c, "bits": c / LN2}
                for n, c in zip(self.schedule, self.cumulative)]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bits": self.bits, "prior_bits": self.prior_nats / LN2,
                "uniform_bits": self.uniform_nats / LN2, "compression_prior": self.compression_prior,
                "compression_uniform": self.compression_uniform, "against_log_n": self.per_log_n()}


def _one_ordering(blocks: Sequence[dict[str, np.ndarray]], first: int, n_classes: int) -> tuple[list[float], list[float], list[str]]:
    """Cumulative online and prior code lengths at each boundary, and the candidate used per block.

    ``blocks[i]``: ``{candidate: log q(y) of block i's rows}`` for the models fitted on the rows before it.
    """
    online, prior = [first * math.log(n_classes)], [first * math.log(n_classes)]
    past = {name: 0.0 for name in blocks[0]} if blocks else {}
    used = []
    for i, block in enumerate(blocks):
        name = PRIOR if i == 0 else min(past, key=lambda k: (past[k], k != PRIOR))
        used.append(name)
        online.append(online[-1] - float(block[name].sum()))
        prior.append(prior[-1] - float(block[PRIOR].sum()))
        for k in past:
            past[k] -= float(block[k].sum())
    return online, prior, used


def online_code(sizes: Sequence[int], block_logq: Sequence[Sequence[dict[str, list[np.ndarray]]]],
                orders: Sequence[Sequence[np.ndarray]], y: np.ndarray, n_classes: int) -> OnlineCode:
    """The online code of one representation from a curve's fits.

    ``block_logq[i][r][cand][f]``: ``log q(y)`` of the rows ``orders[r][f][sizes[i]:sizes[i+1]]``
    under the candidate fitted on ``orders[r][f][:sizes[i]]`` (empty for the last size).
    """
    del y  # the code lengths already hold the labels
    cum, pri, used = [], [], []
    for r, per_fold in enumerate(orders):
        for f in range(len(per_fold)):
            blocks = [{k: v[f] for k, v in block_logq[i][r].items()} for i in range(len(sizes) - 1)]
            o, p, u = _one_ordering(blocks, sizes[0], n_classes)
            cum.append(o)
            pri.append(p)
            used.append(u)
    cum_arr, pri_arr = np.array(cum), np.array(pri)
    totals = cum_arr[:, -1]
    chosen = [max(set(col), key=col.count) for col in zip(*used)] if used and used[0] else []
    return OnlineCode(nats=float(totals.mean()), prior_nats=float(pri_arr[:, -1].mean()),
                      uniform_nats=float(sizes[-1] * math.log(n_classes)), n=int(sizes[-1]), schedule=list(sizes),
                      cumulative=[float(c) for c in cum_arr.mean(0)], spread=(float(totals.min()), float(totals.max())),
                      chosen=chosen, orderings=len(cum))
