"""Curves of a model's representations: pooled states, the full token states and R, on one pool.

The pool is a seeded draw of one split, disjoint from the examples the model was trained on
(:func:`mi_toolkit.measures.pools.fit_pool`); the states are extracted once (cached) and
every representation is built from them:

- ``pooled:first`` / ``pooled:mean`` / ``pooled:last``: ``(N, d)``;
- ``full``: the token states themselves (sequence probe); contains every pooling;
- ``token-PCA_k``: the paper's token-axis PCA (it centres each example's tokens, so it
  contains no pooling);
- ``R`` = [token-PCA_k; first; mean; last] flattened; contains each of its parts.

``contains`` lists only the parts that are among the requested representations (their
candidates join the container's).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.measures import controls as ctl
from mi_toolkit.measures.conditional import conditional_from_results
from mi_toolkit.measures.curve import CurveConfig, CurveResult, learning_curve
from mi_toolkit.measures.dpi import pca_name, token_states
from mi_toolkit.measures.pools import fit_pool
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates, extract, load_split
from mi_toolkit.states.pca import token_pca_all
from mi_toolkit.states.representations import labels_array, pooled_rows

FULL, R = "full", "R"


def representation_names(pca_k: int) -> list[str]:
    return [f"pooled:{g}" for g in POOLINGS] + [FULL, pca_name(pca_k), R]


def parse_representations(text: str | Sequence[str], pca_k: int) -> list[str]:
    """``"pooled:last,full,R"`` -> the names, checked (one line naming the valid ones otherwise)."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    valid = representation_names(pca_k)
    for n in names:
        if n not in valid:
            raise UserError(f"unknown representation {n!r}; choose from: {', '.join(valid)}")
    if not names:
        raise UserError(f"--representations is empty; choose from: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def _parts(name: str, pca_k: int) -> list[str]:
    pooled = [f"pooled:{g}" for g in POOLINGS]
    return {FULL: pooled, R: pooled + [pca_name(pca_k)]}.get(name, [])


def build_representations(states: HiddenStates, names: Sequence[str], pca_k: int = 2
                          ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``({name: input}, {container: [parts among names]})`` from one extraction."""
    rows = None
    if R in names or pca_name(pca_k) in names:
        rows = np.concatenate([token_pca_all(states.iter_full(), [pca_k])[pca_k], pooled_rows(states)], axis=1)
    inputs: dict[str, Any] = {}
    for name in names:
        if name.startswith("pooled:"):
            inputs[name] = np.asarray(states.pooled(name.split(":", 1)[1]), np.float32)
        elif name == FULL:
            inputs[name] = token_states(states)
        elif name == R:
            inputs[name] = np.ascontiguousarray(rows.reshape(len(rows), -1), dtype=np.float32)
        else:
            inputs[name] = np.ascontiguousarray(rows[:, :pca_k].reshape(len(rows), -1), dtype=np.float32)
    contains = {n: [p for p in _parts(n, pca_k) if p in names] for n in names}
    return inputs, {k: v for k, v in contains.items() if v}


def model_curve(model: Any, dataset: str, *, representations: Sequence[str] = ("pooled:last", FULL, R),
                split: str = "train", max_samples: int | None = None, layer: int = -1, pca_k: int = 2,
                data_dir: str | None = None, config: CurveConfig | None = None, seed: int = 0, device: str = "auto",
                controls: bool = False, given: str | None = None, progress: bool = True,
                like_split: str | None = None, like_samples: int | None = None) -> tuple[CurveResult, list[Any]]:
    """The curve of ``model``'s representations on a pool of ``split`` (disjoint from its training examples).

    Returns ``(curve, examples)``; with ``controls`` the curve carries shuffled-label and random-init
    controls; with ``given`` the conditional readings ``I_V(Y; rep | given)`` of every rep containing it.
    ``like_split``: draw the pool to the sentence lengths of a seeded draw of ``like_samples`` examples of
    that split (:func:`~mi_toolkit.measures.pools.length_matched`; e.g. train examples drawn like
    validation, as ``mi dpi`` draws its fit pool).
    """
    info = ck.describe(model)
    task = ck.task_for(info, dataset)
    if controls:
        ctl.architecture_config(model)  # one line now, before the work, if there is no config to read
    examples, pool, lm, warnings = curve_pool([model], task, split, max_samples, seed, data_dir, like_split,
                                              like_samples)
    meta = {"model": ck.identity(info)[0], "dataset": dataset, "split": split, "layer": layer, "pca_k": pca_k,
            "pool": pool, "lm_train": lm, "warnings": warnings}
    curve = measure_model(model, dataset, examples, representations=representations, split=split, layer=layer,
                          pca_k=pca_k, data_dir=data_dir, config=config, seed=seed, device=device, controls=controls,
                          given=given, progress=progress, meta=meta)
    return curve, examples


def curve_pool(models: Sequence[Any], task: Any, split: str, n: int | None, seed: int, data_dir: str | None,
               like_split: str | None, like_samples: int | None) -> tuple[list[Any], dict, dict, list[str]]:
    """:func:`~mi_toolkit.measures.pools.fit_pool` for ``models``, drawn like ``like_split`` when given."""
    like = (load_split(task, like_split, data_dir=data_dir, max_samples=like_samples, seed=seed)
            if like_split else None)
    return fit_pool(list(models), task, split=split, n=n, seed=seed, data_dir=data_dir, like=like)


def measure_model(model: Any, dataset: str, examples: list[Any], *, representations: Sequence[str], split: str,
                  layer: int, pca_k: int, data_dir: str | None, config: CurveConfig | None, seed: int, device: str,
                  controls: bool, given: str | None, progress: bool, meta: dict[str, Any]) -> CurveResult:
    """One model's curve on ``examples`` (extracted once, cached), with its controls and conditional readings."""
    states = extract(model, dataset, split, layer, examples=examples, data_dir=data_dir, seed=seed, progress=progress)
    y = labels_array(states.labels)
    inputs, contains = build_representations(states, representations, pca_k)
    curve = learning_curve(inputs, y, contains=contains, config=config, seed=seed, device=device,
                           meta={**meta, "tokens_used": states.used})
    if controls:
        rand = extract(ctl.random_init_model(model, seed), dataset, split, layer, examples=examples,
                       data_dir=data_dir, seed=seed, progress=progress)
        rand_inputs, _ = build_representations(rand, representations, pca_k)
        curve.controls = ctl.curve_controls(inputs, y, curve, contains=contains, random_reps=rand_inputs,
                                            config=config, seed=seed, device=device)
    if given:
        curve.conditional = conditional_curve(curve, given, seed)
    return curve


def conditional_curve(curve: CurveResult, given: str, seed: int = 0) -> list[Any]:
    """``I_V(Y; rep | given)`` at every size for every representation that contains ``given`` (paired)."""
    if given not in curve.results:
        raise UserError(f"--given {given!r} is not one of the representations ({', '.join(curve.results)})")
    out = []
    for rep, parts in curve.contains.items():
        if given in parts:
            for n, joint, base in zip(curve.sizes, curve.results[rep], curve.results[given]):
                c = conditional_from_results(joint, base, target_name=f"{rep} @ n={n}", given_name=given, seed=seed)
                out.append(c)
    if not out:
        raise UserError(f"no representation contains {given!r}; the conditional reading needs a container of it "
                        "(full or R contain every pooling), or call measures.conditional.conditional_information")
    return out
