"""The one place mi_toolkit touches predgen_core checkpoints.

Everything model-based in mi_toolkit goes through these helpers, so the contract
with the training core (docs/ARCHITECTURE.md) is read in one file; a later kind of
model (a plain transformers folder, a hub id) is added here.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from predgen_core.checkpoint_io import read_manifest
from predgen_core.errors import UserError
from predgen_core.methods import METHODS
from predgen_core.tasks import TASKS, compatible_task


def checkpoint_path(checkpoint: Any) -> Path:
    """The folder of a checkpoint given as a path or as a loaded checkpoint."""
    return Path(getattr(checkpoint, "path", checkpoint)).resolve()


def _is_loaded(checkpoint: Any) -> bool:
    return hasattr(checkpoint, "model") and hasattr(checkpoint, "tokenizer")


def _folder(checkpoint: Any) -> Path:
    path = Path(checkpoint)
    if not path.is_dir():
        raise UserError(f"checkpoint folder {path} does not exist; train one with `predgen train` or fix the path")
    return path


_LOADED: dict[Path, Any] = {}


def load_checkpoint(checkpoint: Any) -> Any:
    """A ``LoadedCheckpoint`` (loads a folder once per process; passes a loaded one through)."""
    if _is_loaded(checkpoint):
        return checkpoint
    path = _folder(checkpoint)
    key = path.resolve()
    if key not in _LOADED:
        # Imported on use, deliberately: loading weights needs transformers (seconds), and
        # a cached extraction needs only the manifest.
        load = importlib.import_module("predgen_core.checkpoint").load
        _LOADED.clear()  # one model in memory at a time
        _LOADED[key] = load(path)
        merge_for_inference(_LOADED[key].model)
    return _LOADED[key]


def merge_for_inference(model: Any) -> bool:
    """Fold a PEFT adapter's weights into the base weights in place; True when merged.

    The toolkit only reads states and attributions, and on CPU an unmerged LoRA costs
    measurably more per forward pass (benchmarks/bench_merge.py). peft
    methods that cannot merge keep their adapter: the same states, only slower.
    """
    merge = getattr(model, "merge_adapter", None)
    if merge is None:
        return False
    try:
        merge()
    except (ValueError, NotImplementedError):
        return False
    return True


def describe(checkpoint: Any) -> Any:
    """What the manifest says (path, method, task, pooling, manifest) without loading any weights.

    A loaded checkpoint is returned as is; a folder is read through ``predgen_core.checkpoint_io.read_manifest``.
    """
    if _is_loaded(checkpoint):
        return checkpoint
    path = _folder(checkpoint)
    manifest = read_manifest(path)
    return SimpleNamespace(path=path.resolve(), manifest=manifest, method=manifest["method"],
                           task=TASKS.get(manifest["task"]), pooling=manifest.get("pooling", "last"))


def task_for(loaded: Any, dataset: str) -> Any:
    """The dataset's task, after checking it matches the kind (and classes) the checkpoint was trained for."""
    return compatible_task(loaded.task, dataset, checkpoint_path(loaded))


def generates(loaded: Any) -> bool:
    """True for checkpoints whose method is registered as generative (generator, predgen)."""
    return METHODS.get(method_name(loaded)).generative


def method_name(loaded: Any) -> str:
    return str(getattr(loaded, "method", "unknown"))


def max_length(loaded: Any) -> int | None:
    """The prompt length the checkpoint was trained with (None: no truncation)."""
    manifest = getattr(loaded, "manifest", {}) or {}
    return manifest.get("training", {}).get("max_length")


def generated_ids(loaded: Any, prompts: list[str], batch_size: int = 16) -> list[list[int]]:
    """Greedy continuations (token ids, EOS included) whose states are ``Z[n:n+m]``."""
    return [list(map(int, ids)) for ids in loaded.generate_targets(prompts, batch_size=batch_size)]
