"""A rich progress bar for the Trainer (replaces its tqdm bar)."""
from __future__ import annotations

from transformers import TrainerCallback


class RichProgress(TrainerCallback):
    """One bar over the optimiser steps, showing the latest logged loss."""

    def __init__(self, label: str = "") -> None:
        self.label = label  # what is training, e.g. the method's name
        self._progress = None
        self._task = None

    def on_train_begin(self, args, state, control, **kwargs):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn(f"[bold]training {self.label}[/] {{task.description}}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
                                  console=Console(stderr=True))
        self._progress.start()
        self._task = self._progress.add_task("", total=state.max_steps, completed=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._progress is not None and logs and "loss" in logs:
            self._progress.update(self._task, description=f"loss {logs['loss']:.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
