"""Curves of a model's representations: pooled states, the full token states and R, on one pool.

The model, its task, the pool and the layer are a :class:`~mi_toolkit.measures.setting.Setting`; the
pool is its one pool (:meth:`~mi_toolkit.measures.setting.Setting.draw_pool`: a seeded draw of one split,
disjoint from the examples the model was trained on); the states are read once through it (cached) and
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

from dataclasses import dataclass, replace
from typing import Any, Collection, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.measures import controls as ctl
from mi_toolkit.measures.conditional import conditional_from_results
from mi_toolkit.measures.curve import CurveConfig, CurveResult, learning_curve
from mi_toolkit.measures.dpi import pca_name, token_states
from mi_toolkit.measures.setting import Setting
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates
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


@dataclass(frozen=True)
class CurveOptions:
    """What a model's curve reads besides its :class:`~mi_toolkit.measures.setting.Setting`: the representations
    (:func:`representation_names`), the token-PCA size, the curve's config (sizes, folds, repeats, probe; None:
    :class:`CurveConfig`'s defaults), the controls (True; for groups of checkpoints also the methods whose groups
    get them) and the representation the conditional readings are ``given``."""

    representations: Sequence[str] = ("pooled:last", FULL, R)
    pca_k: int = 2
    config: CurveConfig | None = None
    controls: bool | Collection[str] = False
    given: str | None = None

    def controls_for(self, method: str) -> bool:
        """Whether a checkpoint of ``method`` gets the controls."""
        return self.controls is True or (not isinstance(self.controls, bool) and method in self.controls)


def model_curve(setting: Setting, options: CurveOptions = CurveOptions()) -> tuple[CurveResult, list[Any]]:
    """The curve of the one model of ``setting``'s representations on one pool (:meth:`Setting.draw_pool`):
    ``n_fit`` examples of ``fit_split`` disjoint from its training examples, drawn to the lengths of ``n_eval``
    examples of ``eval_split`` when that is set (``mi curve --like-split``; e.g. train examples drawn like
    validation, as ``mi dpi`` draws its fit pool), at the setting's one layer.

    Returns ``(curve, examples)``; with ``options.controls`` the curve carries shuffled-label and random-init
    controls; with ``options.given`` the conditional readings ``I_V(Y; rep | given)`` of every rep containing it.
    """
    model = setting.only()
    info = setting.infos_[0]
    options = replace(options, controls=options.controls_for(ck.method_name(info)))
    if options.controls:
        ctl.architecture_config(model)  # one line now, before the work, if there is no config to read
    examples, pool, lm, warnings = setting.draw_pool()
    meta = {"model": ck.identity(info)[0], "dataset": setting.dataset, "split": setting.fit_split,
            "layer": setting.layer, "pca_k": options.pca_k, "pool": pool, "lm_train": lm, "warnings": warnings,
            "setting": setting.to_dict()}
    return measure_model(setting, model, examples, options, meta), examples


def measure_model(setting: Setting, model: Any, examples: list[Any], options: CurveOptions,
                  meta: dict[str, Any]) -> CurveResult:
    """``model``'s curve on ``examples`` (its states read once through ``setting``, cached), with its controls
    (``options.controls``, here True or False) and conditional readings; ``meta`` joins the curve's."""
    states = setting.states(examples, model)
    y = labels_array(states.labels)
    inputs, contains = build_representations(states, options.representations, options.pca_k)
    curve = learning_curve(inputs, y, contains=contains, config=options.config, seed=setting.seed,
                           device=setting.device, meta={**meta, "tokens_used": states.used})
    if options.controls:
        rand = setting.states(examples, ctl.random_init_model(model, setting.seed))
        rand_inputs, _ = build_representations(rand, options.representations, options.pca_k)
        curve.controls = ctl.curve_controls(inputs, y, curve, contains=contains, random_reps=rand_inputs,
                                            config=options.config, seed=setting.seed, device=setting.device)
    if options.given:
        curve.conditional = conditional_curve(curve, options.given, setting.seed)
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
