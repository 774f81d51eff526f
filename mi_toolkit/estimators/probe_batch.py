"""The probe on many inputs of the same examples at once (a layer sweep's layers): heads batched across inputs.

Every layer of a sweep is an ``(N, d)`` array of the same ``N`` examples with the same labels and the
same fit / held-out rows, and gets the same array candidates. Each family (one preprocessing and one
head over a penalty grid, :class:`~mi_toolkit.estimators.probe_family.ArrayFamily`) is fitted on all
inputs that have it as ONE batched L-BFGS problem (the inputs stacked like cross-fitting splits,
``F = inputs``), instead of one small problem per input: on 31 SmolLM2 layers of 600 + 600 sentences
the heads took half the CPU time (``benchmarks/bench_sweeps.py``). Selection, read-out and intervals
are the engine's own (:func:`mi_toolkit.estimators.probe.probe_result` with the scores given), so each
input's result is what the engine reports for it alone, up to the optimiser's tolerance.

Only the explicit held-out path with held-out-fold selection (the reports' default) and one repeat is
batched; :func:`batchable` says when, and callers fall back to the engine one input at a time.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from mi_toolkit.estimators.probe import _gather, _label, _select_on_test, candidates_for, probe_result
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.estimators.specs import ProbeConfig


def batchable(inputs: Sequence[np.ndarray], y: np.ndarray, n_fit: int, cfg: ProbeConfig) -> bool:
    """Whether :func:`probe_held_out_many` applies: ``(N, d)`` arrays of one width, one repeat, held-out-fold
    selection."""
    return (cfg.repeats == 1 and _select_on_test(y[n_fit:], cfg)
            and all(isinstance(x, np.ndarray) and x.ndim == 2 for x in inputs)
            and len({x.shape[1:] for x in inputs}) == 1)


def held_out_scores(inputs: Sequence[np.ndarray], y: np.ndarray, n_fit: int, n_classes: int, cfg: ProbeConfig,
                    seed: int, device: torch.device) -> list[dict[str, np.ndarray]]:
    """Per input, ``{candidate: log q(y_i | z_i) (N,)}`` (NaN on the fit rows) of every candidate fitted on
    rows ``:n_fit`` and scored on the rest; each family fitted on all inputs that have it at once.

    ``inputs``: ``(N, d)`` arrays of the same examples (one width: :func:`batchable`); ``y (N,)`` codes.
    """
    N = len(y)
    split = (np.arange(n_fit), np.arange(n_fit, N))
    groups: dict[object, list[int]] = {}
    names: list[dict[object, list[tuple[int, str]]]] = []
    order: list[list[str]] = []                   # each input's candidates in the engine's order
    for i, x in enumerate(inputs):
        fams: dict[object, list[tuple[int, str]]] = {}
        cands = candidates_for(x, n_classes, cfg, str(device))
        for c in cands:
            fams.setdefault(c.make.family, []).append((c.make.index, _label("", c)))
        names.append(fams)
        order.append([_label("", c) for c in cands])
        for fam in fams:
            groups.setdefault(fam, []).append(i)
    out: list[dict[str, np.ndarray]] = [{} for _ in inputs]
    caches: dict[tuple[int, ...], dict] = {}      # the preprocessing of one set of inputs, shared by its families
    for fam, members in groups.items():
        stacked = np.concatenate([inputs[i] for i in members])
        splits = [(split[0] + j * N, split[1] + j * N) for j in range(len(members))]
        lp = fam.score_splits(stacked, np.tile(y, len(members)), splits, n_classes, seed, device,
                              caches.setdefault(tuple(members), {}))
        for j, i in enumerate(members):
            for g, name in names[i][fam]:
                out[i][name] = _gather([lp[g][j]], [split], y)
    return [{name: got[name] for name in names_i} for got, names_i in zip(out, order)]


def probe_held_out_many(inputs: Sequence[np.ndarray], y: np.ndarray, n_fit: int, n_classes: int,
                        cfg: ProbeConfig, seed: int, device: torch.device) -> list[MIResult]:
    """The engine's result for each input (rows ``:n_fit`` fit, the rest held out), heads batched across inputs;
    ``seconds`` of each: its selection and interval plus an equal share of the batched fits."""
    start = time.perf_counter()
    scores = held_out_scores(inputs, y, n_fit, n_classes, cfg, seed, device)
    share = (time.perf_counter() - start) / max(len(inputs), 1)
    results = [probe_result({"": x}, y, n_classes, cfg, seed, device, n_fit, scores=s) for x, s in zip(inputs, scores)]
    for r in results:
        r.seconds += share
    return results
