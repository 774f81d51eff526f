"""PEFT methods: ``lora``, ``adalora``, ``dora`` (through peft), ``rocoft`` (ours), ``full``.

``apply_peft(model, name, **overrides)`` freezes what the method freezes and
returns the model to train (a ``peft.PeftModel`` for the peft methods; the same
model, modified in place, for ``rocoft`` and ``full``). The resolved settings
are kept on the model; :func:`peft_manifest` returns them JSON-ready, and
``apply_peft(base, **peft_manifest(trained))`` rebuilds the same structure so
that :func:`load_adapter_state` can load a saved :func:`adapter_state_dict`.

Default target modules, for Llama-style models: every attention and MLP
projection, ``q_proj k_proj v_proj o_proj gate_proj up_proj down_proj``
(override with ``target_modules=[...]`` for other architectures).

Heads added by a trainer (a predictor's linear head, PredGen's task adapter)
are *not* covered here: keep them outside the base model and save them
separately (``head.safetensors``). ``adapter_state_dict`` holds base-model
adapter weights only.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from predgen_common.errors import UserError
from predgen_core.peft_io import keep_one_rank, load_full, load_peft, peft_state, save_full, save_peft, tensor_file_io
from predgen_common.registry import Registry
from predgen_core.rocoft import RocoftConfig, apply_rocoft, load_rocoft_state, rocoft_state_dict

# peft itself is imported inside the functions that use it, deliberately: it takes
# seconds, and this registry is read by code that never builds a model (CLI choices,
# manifests).

LLAMA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_ATTR = "_predgen_peft"


def _peft_state_dict(model: Any) -> dict[str, Any]:
    return peft_state(model)


def _load_peft_state(model: Any, state: dict[str, Any]) -> None:
    from peft import set_peft_model_state_dict

    name = getattr(model, _ATTR)["name"]
    result = set_peft_model_state_dict(model, state)
    if result.unexpected_keys:
        raise UserError(f"{name} adapter does not fit this model (unexpected {result.unexpected_keys[:3]}); "
                        "apply the checkpoint's own PEFT config first")
    _check_keys(name, set(_peft_state_dict(model)), set(state))


def _no_learned_settings(model: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class PeftSpec:
    """A PEFT method and everything decided by it.

    ``defaults``: settings a user may override; ``apply(model, settings) -> model``;
    ``state_dict(model) -> {key: tensor}`` the trained weights to save and
    ``load_state(model, state)`` their inverse (raising a :class:`UserError` on a
    mismatch); ``learned(model) -> settings`` the settings learned in training that
    rebuilding the structure needs (AdaLoRA's rank pattern); ``save(model, folder,
    base_model)`` writes the method's files into a checkpoint folder and
    ``load(model, folder)`` reads them (:mod:`predgen_core.peft_io`: peft's own
    layout by default, so ``PeftModel.from_pretrained(base, folder)`` opens it);
    ``options_type``: ``"module:Class"`` of the config dataclass whose annotations type
    the settings (``predgen_core.preflight.check_peft_options`` reads it, for settings
    whose default is ``None``).
    """

    name: str
    description: str
    defaults: dict[str, Any]
    apply: Callable[[Any, dict[str, Any]], Any]
    state_dict: Callable[[Any], dict[str, Any]] = _peft_state_dict
    load_state: Callable[[Any, dict[str, Any]], None] = _load_peft_state
    learned: Callable[[Any], dict[str, Any]] = _no_learned_settings
    save: Callable[[Any, Path, str | None], None] = save_peft
    load: Callable[[Any, Path], None] = load_peft
    options_type: str = ""


PEFT_METHODS: Registry[PeftSpec] = Registry("PEFT method")


def apply_peft(model: Any, name: str, **overrides: Any) -> Any:
    """Make ``model`` trainable by PEFT method ``name``; ``overrides`` replace the defaults.

    Unknown override keys raise a :class:`UserError` listing the valid ones.
    ``adalora`` needs ``total_step`` (the number of optimiser steps), and its
    trainer must call ``model.base_model.update_and_allocate(global_step)``
    after each optimiser step.
    """
    spec = PEFT_METHODS.get(name)
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        raise UserError(
            f"PEFT method {name!r} has no setting {', '.join(unknown)}; valid settings: {', '.join(spec.defaults) or 'none'}"
        )
    settings = {**spec.defaults, **overrides}
    with warnings.catch_warnings():
        # peft 0.21 calls a transformers 5 property deprecated in favour of another; not the user's concern
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model = spec.apply(model, settings)
    setattr(peft_model, _ATTR, {"name": name, "config": _jsonable(settings)})
    return peft_model


def peft_manifest(model: Any) -> dict[str, Any]:
    """``{"name": ..., "config": {...}}`` for the manifest; adalora's learned rank pattern included."""
    info = getattr(model, _ATTR, None)
    if info is None:
        raise ValueError("model was not prepared by apply_peft")
    learned = PEFT_METHODS.get(info["name"]).learned(model)
    return {"name": info["name"], "config": {**info["config"], **learned}}


def _spec_of(model: Any) -> PeftSpec:
    name = getattr(model, _ATTR, {}).get("name")
    if name is None:
        raise ValueError("model was not prepared by apply_peft")
    return PEFT_METHODS.get(name)


def adapter_state_dict(model: Any) -> dict[str, Any]:
    """The trained base-model weights only, as fresh contiguous tensors (safetensors-ready)."""
    return {k: v.detach().clone().contiguous() for k, v in _spec_of(model).state_dict(model).items()}


def load_adapter_state(model: Any, state: dict[str, Any]) -> None:
    """Load :func:`adapter_state_dict` output into a model prepared by the same ``apply_peft`` call."""
    _spec_of(model).load_state(model, state)


def save_adapter(model: Any, folder: str | Path, base_model: str | None = None) -> None:
    """Write the method's own files for ``model``'s trained weights into ``folder`` (``base_model``: its name)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _spec_of(model).save(model, folder, base_model)


def load_adapter(model: Any, folder: str | Path) -> None:
    """Read :func:`save_adapter`'s files into a model prepared by the same ``apply_peft`` call."""
    _spec_of(model).load(model, Path(folder))


def trainable_parameter_count(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def _check_keys(name: str, expected: set[str], got: set[str]) -> None:
    if expected != got:
        missing, extra = sorted(expected - got)[:3], sorted(got - expected)[:3]
        raise UserError(f"{name} adapter does not fit this model (missing {missing}, unexpected {extra}); "
                        "apply the checkpoint's own PEFT config first")


def _jsonable(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


# --------------------------------------------------------------------------- registrations


def _lora_like(use_dora: bool) -> Callable[[Any, dict[str, Any]], Any]:
    def apply(model: Any, s: dict[str, Any]) -> Any:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=s["r"], lora_alpha=s["lora_alpha"], lora_dropout=s["lora_dropout"],
            target_modules=list(s["target_modules"]), use_dora=use_dora, bias="none",
        )
        return get_peft_model(model, config)

    return apply


def _apply_adalora(model: Any, s: dict[str, Any]) -> Any:
    from peft import AdaLoraConfig, get_peft_model

    if not s.get("total_step"):
        raise UserError("adalora needs total_step (the number of optimiser steps); pass total_step=N")
    tinit = s["tinit"] if s["tinit"] is not None else max(0, s["total_step"] // 10)
    tfinal = s["tfinal"] if s["tfinal"] is not None else max(0, s["total_step"] // 5)
    if tinit >= s["total_step"] - tfinal:
        tinit, tfinal = 0, 0
    config = AdaLoraConfig(
        init_r=s["init_r"], target_r=s["target_r"], lora_alpha=s["lora_alpha"], lora_dropout=s["lora_dropout"],
        target_modules=list(s["target_modules"]), total_step=s["total_step"], tinit=tinit, tfinal=tfinal,
        deltaT=s["deltaT"],
    )
    peft_model = get_peft_model(model, config)
    # A learned rank pattern (from a checkpoint) only shapes loading: peft resizes the
    # adapters to it in set_peft_model_state_dict, so it is set after injection.
    peft_model.peft_config["default"].rank_pattern = s["rank_pattern"]
    return peft_model


def _adalora_learned(model: Any) -> dict[str, Any]:
    """The rank pattern AdaLoRA learned, JSON-ready (loading resizes the adapters to it)."""
    pattern = model.peft_config["default"].rank_pattern
    if not pattern:
        return {}
    pattern = {k.replace(".default", ""): [bool(b) for b in v] for k, v in pattern.items()}
    return {"rank_pattern": keep_one_rank(pattern)}  # as saved (peft_io.keep_one_rank says why)


def _apply_rocoft(model: Any, s: dict[str, Any]) -> Any:
    return apply_rocoft(model, RocoftConfig(r=s["r"], mode=s["mode"], select=s["select"], seed=s["seed"],
                                            target_modules=list(s["target_modules"])))


def _apply_full(model: Any, s: dict[str, Any]) -> Any:
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def _full_state_dict(model: Any) -> dict[str, Any]:
    return dict(model.named_parameters())  # tied weights appear once


def _load_full_state(model: Any, state: dict[str, Any]) -> None:
    own = dict(model.named_parameters())
    _check_keys("full", set(own), set(state))
    with torch.no_grad():
        for k, v in state.items():
            own[k].copy_(v)


_ROCOFT_IO = tensor_file_io(rocoft_state_dict, load_rocoft_state)
_LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": LLAMA_TARGETS}
PEFT_METHODS.register("lora")(PeftSpec("lora", "LoRA (Hu et al. 2021) via peft", dict(_LORA), _lora_like(False),
                                                           options_type="peft:LoraConfig"))
PEFT_METHODS.register("adalora")(PeftSpec(
    "adalora", "AdaLoRA (Zhang et al. 2023) via peft; needs total_step",
    {"init_r": 12, "target_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": LLAMA_TARGETS,
     "total_step": None, "tinit": None, "tfinal": None, "deltaT": 1, "rank_pattern": None},
    _apply_adalora, learned=_adalora_learned, options_type="peft:AdaLoraConfig",
))
PEFT_METHODS.register("dora")(PeftSpec("dora", "DoRA (Liu et al. 2024) via peft's LoRA with use_dora", dict(_LORA), _lora_like(True),
                                                           options_type="peft:LoraConfig"))
PEFT_METHODS.register("rocoft")(PeftSpec(
    "rocoft", "RoCoFT (Kowsher et al. 2024): r rows or columns per linear layer train",
    {"r": 4, "mode": "row", "select": "first", "seed": 0, "target_modules": LLAMA_TARGETS},
    _apply_rocoft, state_dict=rocoft_state_dict, load_state=load_rocoft_state,
    # peft does not know RoCoFT: one safetensors file of its own state dict
    save=_ROCOFT_IO[0], load=_ROCOFT_IO[1], options_type="predgen_core.rocoft:RocoftConfig",
))
# `full` saves the whole LM as a transformers folder: AutoModelForCausalLM.from_pretrained opens it.
PEFT_METHODS.register("full")(PeftSpec("full", "full fine-tuning: every weight trains", {}, _apply_full,
                                       state_dict=_full_state_dict, load_state=_load_full_state, save=save_full,
                                       load=lambda model, folder: load_full(model, folder, _load_full_state)))
