"""The one place mi_toolkit touches predgen_core checkpoints (``predgen_core.load``).

Everything model-based in mi_toolkit goes through these helpers, so the contract
with the training core (docs/ARCHITECTURE.md) is read in one file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from predgen_core.errors import UserError


def checkpoint_path(checkpoint: Any) -> Path:
    """The folder of a checkpoint given as a path or as a loaded checkpoint."""
    return Path(getattr(checkpoint, "path", checkpoint)).resolve()


_LOADED: dict[Path, Any] = {}


def load_checkpoint(checkpoint: Any) -> Any:
    """A ``LoadedCheckpoint`` (loads a folder once per process; passes a loaded one through)."""
    if hasattr(checkpoint, "model") and hasattr(checkpoint, "tokenizer"):
        return checkpoint
    path = Path(checkpoint)
    if not path.is_dir():
        raise UserError(f"checkpoint folder {path} does not exist; train one with `predgen train` or fix the path")
    key = path.resolve()
    if key not in _LOADED:
        import predgen_core.checkpoint as pc

        _LOADED.clear()  # one model in memory at a time
        _LOADED[key] = pc.load(path)
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

    A loaded checkpoint is returned as is; a folder is read through ``predgen_core.checkpoint.read_manifest``.
    """
    if hasattr(checkpoint, "model") and hasattr(checkpoint, "tokenizer"):
        return checkpoint
    from types import SimpleNamespace

    path = Path(checkpoint)
    if not path.is_dir():
        raise UserError(f"checkpoint folder {path} does not exist; train one with `predgen train` or fix the path")
    from predgen_core.checkpoint import read_manifest

    manifest = read_manifest(path)
    return SimpleNamespace(path=path.resolve(), manifest=manifest, method=manifest["method"],
                           task=get_task(manifest["task"]), pooling=manifest.get("pooling", "last"))


def get_task(name: str) -> Any:
    from predgen_core.tasks import TASKS

    return TASKS.get(name)


def task_for(loaded: Any, dataset: str) -> Any:
    """The dataset's task, after checking it matches the kind the checkpoint was trained for."""
    task = get_task(dataset)
    trained = getattr(loaded, "task", None)
    if trained is not None and trained.kind != task.kind:
        raise UserError(
            f"checkpoint {checkpoint_path(loaded)} was trained on {trained.name!r} ({trained.kind}) but "
            f"dataset {dataset!r} is {task.kind}; use a {task.kind} checkpoint or a {trained.kind} dataset"
        )
    if trained is not None and task.kind == "classification" and len(trained.labels) != len(task.labels):
        raise UserError(
            f"checkpoint {checkpoint_path(loaded)} has {len(trained.labels)} classes but {dataset!r} has "
            f"{len(task.labels)}; use a checkpoint trained on a task with the same labels"
        )
    return task


_GENERATIVE = {"predictor": False, "generator": True, "predgen": True}


def generates(loaded: Any) -> bool:
    """True for generator and predgen checkpoints (any method registered as generative)."""
    name = method_name(loaded)
    if name in _GENERATIVE:
        return _GENERATIVE[name]
    flag = getattr(loaded, "generates", None)
    if isinstance(flag, bool):
        return flag
    from predgen_core.methods import METHODS

    return bool(METHODS.get(name).generative)


def method_name(loaded: Any) -> str:
    return str(getattr(loaded, "method", "unknown"))


def max_length(loaded: Any) -> int | None:
    """The prompt length the checkpoint was trained with (None: no truncation)."""
    manifest = getattr(loaded, "manifest", {}) or {}
    return manifest.get("training", {}).get("max_length")


def generated_ids(loaded: Any, prompts: list[str], batch_size: int = 16) -> list[list[int]]:
    """Greedy continuations (token ids, EOS included) whose states are ``Z[n:n+m]``."""
    return [list(map(int, ids)) for ids in loaded.generate_targets(prompts, batch_size=batch_size)]
