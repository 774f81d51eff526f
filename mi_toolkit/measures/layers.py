"""Layer sweeps: I(Y; pooled state of layer L) for every requested layer L of one model.

Every layer is read in ONE forward pass per batch (``states.extract.extract_layers``,
``output_hidden_states``) and cached; all layers are then estimated on explicit fit / evaluation
splits as one batched job: with the ``probe`` (the default for labels) each candidate family is
fitted on every layer at once (:mod:`mi_toolkit.estimators.probe_batch`), otherwise through
:func:`mi_toolkit.estimate_many` (``measures.estimate.estimate_split``). The result object
carries every estimate with its provenance; ``reports.layers`` draws it.

Layers are numbered as ``output_hidden_states`` numbers them: 0 = the embeddings,
``n_layers`` = the last layer (after the final norm). Different layers are different
representations of the input, none a function of another in general, so the DPI does not
order them: a curve that rises and falls is expected. When the estimator scores each
example (``probe``), every layer is compared with the best-reading one by a paired
difference on the same evaluation examples, Holm-corrected over the sweep.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.heads import POOLINGS

from mi_toolkit.estimators.probe_batch import batchable, probe_held_out_many
from mi_toolkit.estimators.specs import ProbeConfig
from mi_toolkit.measures import compare as cmp
from mi_toolkit.measures.estimate import Estimation, estimate_split
from mi_toolkit.measures.fmt import fmt_result, shown_below_zero
from mi_toolkit.measures.setting import Setting
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates
from mi_toolkit.states.pca import reduce_rows
from mi_toolkit.states.representations import labels_array, plugin_entropy
from mi_toolkit.validate import check_task, resolve_device, tame_scale


@dataclass
class LayerSweepResult:
    """One estimate per layer (``results[i]`` for ``layers[i]``), flags, paired comparisons and provenance."""

    layers: list[int]
    results: list[Any]
    pooling: str
    ceiling: float | None
    comparisons: list[Any] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> int:
        """The layer with the highest point estimate."""
        return self.layers[int(np.argmax([r.mi for r in self.results]))]

    def to_dict(self) -> dict[str, Any]:
        return {"layers": self.layers, "pooling": self.pooling, "ceiling": self.ceiling, "best": self.best,
                "results": [{"layer": lay, **r.to_dict()} for lay, r in zip(self.layers, self.results)],
                "comparisons": [c.to_dict() for c in self.comparisons], "flags": self.flags, "meta": self.meta}


def parse_layers(spec: str | Sequence[int], n_layers: int, normalise: bool = True) -> list[int]:
    """``"all"`` -> ``0..n_layers``; ``"0,4,-1"`` -> those indices, negatives counted from the end
    (``-1`` = ``n_layers``; ``normalise=False`` keeps them as given, as the single-layer cache keys
    them); an index out of range is one ``UserError`` line."""
    if isinstance(spec, str):
        if spec.strip().lower() == "all":
            return list(range(n_layers + 1))
        try:
            spec = [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            raise UserError(f"--layers {spec!r} is not 'all' or a comma-separated list of integers such as 0,4,8") from None
    if not spec:
        raise UserError("--layers is empty; pass 'all' or indices such as 0,4,8")
    out: list[int] = []
    for layer in spec:
        if not -(n_layers + 1) <= layer <= n_layers:
            raise UserError(f"layer {layer} is out of range for a model with {n_layers} layers; "
                            f"use 0..{n_layers} (0 = embeddings) or -{n_layers + 1}..-1, or --layers all")
        norm = layer % (n_layers + 1) if normalise else layer
        if norm not in out:
            out.append(norm)
    return out


def model_depth(model: Any) -> int:
    """The number of transformer layers of ``model`` (its config's, else loaded once per process)."""
    return ck.depth(model)


def layer_sweep_for(setting: Setting, layers: str | Sequence[int] = "all", *, pooling: str | None = None,
                    estimator: str | None = None, row_dim: int | None = None, config: Any = None) -> LayerSweepResult:
    """Extract (one pass, cached) and estimate every requested layer of the one model of ``setting`` on its
    pools (:meth:`Setting.read`: a fit pool disjoint from the model's training examples, drawn like the
    evaluation pool); ``meta["setting"]`` records the setting, at the layers read."""
    if pooling is not None and pooling not in POOLINGS:
        raise UserError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
    model = setting.check().models[0]
    depth = model_depth(model)
    chosen = parse_layers(layers, depth)
    pooling = pooling or ck.default_pooling(model)  # the architecture's: last for decoders, first for encoders
    at_layers = setting.with_layer(chosen)
    reading = at_layers.read()
    fit, ev, info = reading.only.fit, reading.only.eval, reading.only.info
    meta = {"model": ck.identity(info)[0], "model_kind": getattr(info, "kind", "checkpoint"),
            "method": ck.method_name(info), "dataset": setting.dataset, "fit_split": setting.fit_split,
            "eval_split": setting.eval_split, "max_samples": setting.n_fit, "n_layers": depth, "row_dim": row_dim,
            "tokens_used": ev.used, "pools": reading.pools.to_dict(), "warnings": reading.pools.warnings,
            "setting": at_layers.to_dict()}
    return sweep_layer_states(fit, ev, chosen, Estimation.of(setting, estimator, config), pooling=pooling,
                              row_dim=row_dim, meta=meta)


def sweep_layer_states(fit: HiddenStates, ev: HiddenStates, layers: Sequence[int], how: Estimation | None = None, *,
                       pooling: str = "last", row_dim: int | None = None,
                       meta: dict[str, Any] | None = None) -> LayerSweepResult:
    """Estimate the pooled state of each layer (``(N, d)`` per layer, reduced to ``row_dim`` by a PCA
    fitted on the fit split when given) as one batched job, then flag and compare (``how``: estimator,
    config, seed and device)."""
    fits, evs = [], []
    for layer in layers:
        zf, ze = reduce_rows(fit.at(layer).pooled(pooling), ev.at(layer).pooled(pooling), row_dim)
        fits.append(zf)
        evs.append(ze)
    return sweep_layer_arrays(fits, evs, labels_array(fit.labels), labels_array(ev.labels), layers, how,
                              pooling=pooling, meta=meta)


def sweep_layer_arrays(fits: Sequence[np.ndarray], evs: Sequence[np.ndarray], y_fit: np.ndarray, y_ev: np.ndarray,
                       layers: Sequence[int], how: Estimation | None = None, *, pooling: str = "last",
                       meta: dict[str, Any] | None = None) -> LayerSweepResult:
    """The sweep of per-layer arrays ``fits[i] (n_fit, d)``, ``evs[i] (n_eval, d)`` of the same examples
    (labels ``y_fit (n_fit,)``, ``y_ev (n_eval,)``): one estimate per layer (``how``: estimator, config, seed
    and device), flags, comparisons with the best."""
    how = how or Estimation()
    results = layer_estimates(fits, evs, y_fit, y_ev, how.estimator, seed=how.seed, device=how.device,
                              config=how.config)
    out = LayerSweepResult(list(layers), results, pooling, plugin_entropy(y_ev),
                           meta={**(meta or {}), "n_fit": len(y_fit), "n_eval": len(y_ev), "seed": how.seed})
    _flag(out)
    out.comparisons = compare_to_best(out, seed=how.seed)
    return out


def layer_estimates(fits: Sequence[np.ndarray], evs: Sequence[np.ndarray], y_fit: np.ndarray, y_ev: np.ndarray,
                    estimator: str | None = None, *, seed: int = 0, device: str = "auto", config: Any = None) -> list:
    """One estimate per layer. The ``probe`` (the default for labels) on held-out-fold selection fits each
    candidate family on every layer at once (:mod:`mi_toolkit.estimators.probe_batch`: the layers share
    the labels, fit rows and folds); any other estimator or setting goes through one ``estimate_many`` job."""
    y = np.concatenate([np.asarray(y_fit), np.asarray(y_ev)])
    cfg = ProbeConfig() if config is None else config
    if estimator in (None, "probe") and np.issubdtype(y.dtype, np.integer) and isinstance(cfg, ProbeConfig):
        checked = [check_task(tame_scale(np.concatenate([zf, ze]))[0], y, what=f"layer {i}")
                   for i, (zf, ze) in enumerate(zip(fits, evs))]
        inputs, codes = [c.z for c in checked], checked[0].y
        if batchable(inputs, codes, len(y_fit), cfg):
            return probe_held_out_many(inputs, codes, len(y_fit), len(checked[0].classes), cfg, seed,
                                       resolve_device(device))
    return estimate_split([(zf, y_fit, ze, y_ev) for zf, ze in zip(fits, evs)], estimator, seed=seed, device=device,
                          config=config)


def _flag(res: LayerSweepResult) -> None:
    for layer, r in zip(res.layers, res.results):
        if res.ceiling is not None and r.mi > res.ceiling:
            res.flags.append(f"layer {layer}: estimate {r.mi:.3f} is above the ceiling H(Y) = {res.ceiling:.3f} "
                             "nats; that is estimator error, not information")
        if shown_below_zero(r):
            res.flags.append(f"layer {layer}: estimate {fmt_result(r)} is below 0 beyond its interval; "
                             "read it as 'nothing detected'")


def compare_to_best(res: LayerSweepResult, seed: int = 0) -> list[Any]:
    """Each layer against the best-reading one: paired differences on the same evaluation examples,
    Holm-adjusted over the sweep (empty when the estimator gives no per-example values)."""
    if any(getattr(r, "pointwise", None) is None for r in res.results) or len(res.layers) < 2:
        return []
    best = res.layers.index(res.best)
    family = [cmp.compare("layer", f"layer {res.best}", res.results[best], f"layer {lay}", r, seed=seed)
              for lay, r in zip(res.layers, res.results) if lay != res.best]
    return cmp.adjust(family)
