"""``transformers.Trainer`` subclasses, one per method.

Each overrides only what its method changes: ``compute_loss`` (how the
components from the module's forward become one loss) and, in the shared base,
the save/load of a checkpoint, so that a Trainer checkpoint holds the trainable
weights only (adapter + head, a few MB) instead of the whole base model. The
Trainer's own optimizer, scheduler, RNG and ``trainer_state.json`` files sit
beside them, so ``resume_from_checkpoint`` works unchanged.
"""
from __future__ import annotations

from collections import defaultdict

import torch
from transformers import Trainer, TrainerCallback

from predgen_core.checkpoint_io import load_weights, save_weights
from predgen_core.methods import losses
from predgen_core.methods.schedules import sampling_probability


# components that are not losses
_LOG_NAMES = {"p": "sampling_p", "sampled": "sampled_fraction"}


class AdaLoraAllocator(TrainerCallback):
    """AdaLoRA re-allocates its rank budget from the gradients, after the optimiser step and
    before they are zeroed (peft's documented place)."""

    def __init__(self, lm) -> None:
        self.lm = lm

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.lm.base_model.update_and_allocate(state.global_step)


class MethodTrainer(Trainer):
    """Base: trainable-only checkpoints, per-component loss logging, AdaLoRA's rank allocation."""

    loss_is_scaled_for_ga = False  # components are per-batch means

    def __init__(self, *args, head_lr_scale: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_lr_scale = head_lr_scale
        self._components: dict[str, list[float]] = defaultdict(list)
        lm = self.model.lm
        if hasattr(getattr(lm, "base_model", None), "update_and_allocate"):
            self.add_callback(AdaLoraAllocator(lm))

    def _record(self, parts: dict[str, torch.Tensor]) -> None:
        for name, value in parts.items():
            self._components[name].append(float(value.detach()))

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs:  # a training log: add the running mean of each component
            for name, values in self._components.items():
                logs[_LOG_NAMES.get(name, f"loss_{name}")] = round(sum(values) / max(len(values), 1), 5)
            self._components.clear()
        super().log(logs, *args, **kwargs)

    def create_optimizer(self, model=None):
        """The Trainer's optimizer, with the freshly initialised head at ``head_lr_scale`` x the LR.

        A random linear head on states of norm ~45 (SmolLM2) barely moves in a few dozen
        steps at a LoRA learning rate; the usual remedy is a larger LR for the head.
        """
        module = self.model if model is None else model
        if self.optimizer is not None or module.head is None or self.head_lr_scale == 1.0:
            return super().create_optimizer(model)
        cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, module)
        head = [p for p in module.head.parameters() if p.requires_grad]
        ids = {id(p) for p in head}
        rest = [p for p in module.parameters() if p.requires_grad and id(p) not in ids]
        self.optimizer = cls([
            {"params": rest, "weight_decay": self.args.weight_decay},
            {"params": head, "weight_decay": 0.0, "lr": self.args.learning_rate * self.head_lr_scale},
        ], **kwargs)
        return self.optimizer

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        output_dir = output_dir or self.args.output_dir
        if not self.args.should_save:
            return
        save_weights(output_dir, self.accelerator.unwrap_model(self.model))
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        load_weights(resume_from_checkpoint, self.accelerator.unwrap_model(model or self.model))


class PredictorTrainer(MethodTrainer):
    """Loss = the head's CE (classification) or MSE (regression)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        parts = model(**inputs)
        self._record(parts)
        return (parts["head"], parts) if return_outputs else parts["head"]


class GeneratorTrainer(MethodTrainer):
    """Loss = teacher-forced CE on the target tokens."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        parts = model(**inputs)
        self._record(parts)
        return (parts["writer"], parts) if return_outputs else parts["writer"]


class PredGenTrainer(MethodTrainer):
    """Loss = combine(L_W, L_D) (WDAL by default) [+ the numeric adapter's MSE for regression].

    The scheduled-sampling probability follows the global step:
    ``p = sampling_probability(step, max_steps_for_sampling)``.
    """

    def __init__(self, *args, max_steps_for_sampling: int = 500, combiner: str = "wdal", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_steps_for_sampling = max_steps_for_sampling
        self.combine = losses.LOSS_COMBINERS.get(combiner)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        p = sampling_probability(self.state.global_step, self.max_steps_for_sampling)
        parts = model(**inputs, sampling_p=p)
        loss = self.combine(parts["writer"], parts["director"])
        if "adapter_mse" in parts:
            loss = loss + parts["adapter_mse"]
        self._record({**parts, "p": torch.tensor(p)})
        return (loss, parts) if return_outputs else loss
