"""Training methods: ``METHODS`` registry, pure losses and schedules, Trainer subclasses.

A method is a :class:`MethodSpec`: the module class (LM + head, loss components
in ``forward``, ``predict``, its batch layout and constructor options), its
Trainer subclass, and the flags callers read instead of checking names:
``generative``, ``has_head``, ``scheduled_sampling``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from predgen_core.methods.modules import GeneratorModule, MethodModule, PredGenModule, PredictorModule
from predgen_common.registry import Registry


@dataclass(frozen=True)
class MethodSpec:
    """What a method is. ``trainer_ref``: its Trainer subclass, or ``"module:Class"`` naming it."""

    name: str
    module: type[MethodModule]
    trainer_ref: type | str
    has_head: bool
    summary: str
    scheduled_sampling: bool = False  # the trainer takes max_steps_for_sampling and a loss combiner

    @property
    def generative(self) -> bool:
        """Batches hold prompt + target; predictions (and mi_toolkit's states) come from greedy decoding."""
        return self.module.generative

    @property
    def trainer(self) -> type:
        # A "module:Class" reference is imported on use, deliberately: the trainers import
        # transformers (seconds), and METHODS must stay import-light for code that only
        # reads manifests (mi_toolkit's cache hits).
        if isinstance(self.trainer_ref, str):
            module, _, cls = self.trainer_ref.partition(":")
            return getattr(importlib.import_module(module), cls)
        return self.trainer_ref

    def collator(self, pad_id: int, kind: str) -> Any:
        return self.module.collator(pad_id, kind)


METHODS: Registry[MethodSpec] = Registry("method")
METHODS.register("predictor")(MethodSpec(
    "predictor", PredictorModule, "predgen_core.methods.trainers:PredictorTrainer", has_head=True,
    summary="pooled hidden state + linear head (CE / MSE)"))
METHODS.register("generator")(MethodSpec(
    "generator", GeneratorModule, "predgen_core.methods.trainers:GeneratorTrainer", has_head=False,
    summary="teacher-forced CE on the verbaliser tokens; greedy decoding + parse"))
METHODS.register("predgen")(MethodSpec(
    "predgen", PredGenModule, "predgen_core.methods.trainers:PredGenTrainer", has_head=True, scheduled_sampling=True,
    summary="generator + scheduled sampling + task adapter, WDAL"))

__all__ = ["METHODS", "MethodSpec"]
