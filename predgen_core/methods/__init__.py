"""Training methods: ``METHODS`` registry, pure losses and schedules, Trainer subclasses.

A method is a :class:`MethodSpec`: the module class (LM + head, loss components
in ``forward``, ``predict``), its Trainer subclass, and whether its batches carry
a target (the prompt+target layout) or the prompt alone.
"""
from __future__ import annotations

from dataclasses import dataclass

from predgen_core.methods.collate import PromptCollator, TargetCollator
from predgen_core.methods.modules import GeneratorModule, MethodModule, PredGenModule, PredictorModule
from predgen_core.methods.trainers import GeneratorTrainer, MethodTrainer, PredGenTrainer, PredictorTrainer
from predgen_core.registry import Registry


@dataclass(frozen=True)
class MethodSpec:
    name: str
    module: type[MethodModule]
    trainer: type[MethodTrainer]
    generative: bool  # batches hold prompt + target; predictions come from greedy decoding
    has_head: bool
    summary: str

    @property
    def collator(self):
        return TargetCollator if self.generative else PromptCollator


METHODS: Registry[MethodSpec] = Registry("method")
METHODS.register("predictor")(MethodSpec(
    "predictor", PredictorModule, PredictorTrainer, generative=False, has_head=True,
    summary="pooled hidden state + linear head (CE / MSE)"))
METHODS.register("generator")(MethodSpec(
    "generator", GeneratorModule, GeneratorTrainer, generative=True, has_head=False,
    summary="teacher-forced CE on the verbaliser tokens; greedy decoding + parse"))
METHODS.register("predgen")(MethodSpec(
    "predgen", PredGenModule, PredGenTrainer, generative=True, has_head=True,
    summary="generator + scheduled sampling + task adapter, WDAL"))

__all__ = ["METHODS", "MethodSpec"]
