"""MI of one representation on fixed splits: the critic fits on one split, reports on another.

:func:`estimate_split` fits critics on the fit split and reports on the evaluation
split (not a random split of one pool), as ``mi estimate --model`` promises.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mi_toolkit.api import estimate_many
from mi_toolkit.states.extract import extract
from mi_toolkit.states.representations import Representation, build, labels_array, plugin_entropy


def estimate_split(tasks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                   estimator: str | None = None, *, seed: int = 0, device: str = "auto",
                   config: Any = None) -> list:
    """MI on explicit splits: each task is ``(Z_fit, Y_fit, Z_eval, Y_eval)``; critics train on
    the fit split (early-stopping on part of it) and are evaluated on the evaluation split.
    All tasks go to :func:`mi_toolkit.estimate_many` as one batched job."""
    return estimate_many([(t[0], t[1]) for t in tasks], estimator, seed=seed, device=device,
                         config=config, test=[(t[2], t[3]) for t in tasks])


def estimate_model(checkpoint: Any, dataset: str, *, rep: Representation | None = None, eval_split: str = "validation",
                   fit_split: str = "train", layer: int = -1, data_dir: str | None = None,
                   max_samples: int | None = None, estimator: str | None = None, seed: int = 0,
                   device: str = "auto", progress: bool = True):
    """I(Y; representation of ``checkpoint``'s states): critic fitted on ``fit_split``, reported on
    ``eval_split``. Returns ``(MIResult, info)`` with ``info`` saying what was measured."""
    rep = rep or Representation()
    common = dict(data_dir=data_dir, max_samples=max_samples, seed=seed, progress=progress)
    fit = extract(checkpoint, dataset, fit_split, layer, **common)
    ev = extract(checkpoint, dataset, eval_split, layer, **common)
    zf, ze = build(rep, fit, ev)
    res = estimate_split([(zf, labels_array(fit.labels), ze, labels_array(ev.labels))], estimator, seed=seed,
                         device=device)[0]
    info = {"representation": rep.label, "tokens_used": ev.used, "dataset": dataset, "fit_split": fit_split,
            "eval_split": eval_split, "layer": layer, "max_samples": max_samples,
            "method": ev.manifest.get("meta", {}).get("method"), "ceiling_eval": plugin_entropy(ev.labels)}
    return res, info
