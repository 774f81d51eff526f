"""predgen_core: train Predictor, Generator and PredGen checkpoints with PEFT.

The package import is light (no transformers); heavy names load on first use:
``train``, ``evaluate``, ``predict``, ``zero_shot``, ``TrainConfig`` (from
``predgen_core.api``) and ``load``, ``LoadedCheckpoint`` (from ``predgen_core.checkpoint``), and the registries
``MODELS``, ``TASKS``, ``PEFT_METHODS``, ``METHODS`` with their helpers.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from predgen_common.errors import UserError
from predgen_common.registry import Registry

_LAZY = {
    "train": "predgen_core.api",
    "evaluate": "predgen_core.api",
    "predict": "predgen_core.api",
    "zero_shot": "predgen_core.api",
    "TrainConfig": "predgen_core.api",
    "load": "predgen_core.checkpoint",
    "LoadedCheckpoint": "predgen_core.checkpoint",
    "load_base_model": "predgen_core.models",
    "MODELS": "predgen_core.models",
    "TASKS": "predgen_core.tasks",
    "get_task": "predgen_core.tasks",
    "Task": "predgen_core.tasks",
    "Example": "predgen_core.tasks",
    "PEFT_METHODS": "predgen_core.peft_methods",
    "apply_peft": "predgen_core.peft_methods",
    "adapter_state_dict": "predgen_core.peft_methods",
    "load_adapter_state": "predgen_core.peft_methods",
    "METHODS": "predgen_core.methods",
}

__all__ = ["UserError", "Registry", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'predgen_core' has no attribute {name!r}")
