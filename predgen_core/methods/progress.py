"""The Trainer's progress: one :class:`predgen_common.progress.Phase` over the optimiser steps (replaces its tqdm bar).

On a terminal: a rich bar on stderr with the latest logged loss; otherwise one line when training
ends, e.g. ``training predgen: 48/48 steps, loss 0.4123, done in 185 s``.
"""
from __future__ import annotations

from transformers import TrainerCallback

from predgen_common.progress import Phase


class RichProgress(TrainerCallback):
    """One bar over the optimiser steps, showing the latest logged loss."""

    def __init__(self, label: str = "") -> None:
        self.label = label  # what is training, e.g. the method's name
        self._phase: Phase | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._phase = Phase(f"training {self.label}".strip(), total=state.max_steps, unit="steps",
                            done=state.global_step).__enter__()

    def on_step_end(self, args, state, control, **kwargs):
        if self._phase is not None:
            self._phase.update(completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._phase is not None and logs and "loss" in logs:
            self._phase.update(status=f"loss {logs['loss']:.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self._phase is not None:
            self._phase.__exit__(None, None, None)
            self._phase = None
