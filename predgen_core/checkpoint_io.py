"""Checkpoint files: the manifest and the trainable weights, without rebuilding a model.

A checkpoint folder holds ``manifest.json``, ``adapter.safetensors`` (the PEFT
weights only, never the frozen base model; written by the PEFT method's own
``PeftSpec.state_dict``), ``head.safetensors`` (the Predictor's head or
PredGen's task adapter; absent for the Generator) and the tokenizer files. The
final folder is written whole (``atomic_dir``); the Trainer's intermediate
``checkpoint-N`` folders use the same weight files.

This module knows files, not methods: the Trainer subclasses save through it, and
``predgen_core.checkpoint.load`` rebuilds the module the manifest names.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from predgen_core import __version__
from predgen_core.errors import UserError
from predgen_core.io import atomic_dir
from predgen_core.peft_methods import adapter_state_dict, load_adapter_state

MANIFEST = "manifest.json"
ADAPTER_FILE = "adapter.safetensors"
HEAD_FILE = "head.safetensors"
FORMAT = 1
REQUIRED = ("base_model", "method", "task", "peft")


def _plain(state: dict) -> dict:
    # safetensors refuses tensors that share storage (tied embeddings under full fine-tuning)
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def save_weights(folder: str | Path, module: Any) -> None:
    """Write ``module``'s adapter (trainable LM weights) and head weights into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(_plain(adapter_state_dict(module.lm)), str(folder / ADAPTER_FILE), metadata={"format": "pt"})
    if module.head is not None:
        save_file(_plain(module.head.state_dict()), str(folder / HEAD_FILE), metadata={"format": "pt"})


def load_weights(folder: str | Path, module: Any) -> None:
    """Load what :func:`save_weights` wrote into an already built ``module``."""
    folder = Path(folder)
    if not (folder / ADAPTER_FILE).is_file():
        raise UserError(f"{folder} has no {ADAPTER_FILE}; it is not a predgen checkpoint")
    load_adapter_state(module.lm, load_file(str(folder / ADAPTER_FILE)))
    if module.head is not None:
        if not (folder / HEAD_FILE).is_file():
            raise UserError(f"{folder} has no {HEAD_FILE}; the checkpoint is incomplete, retrain it")
        module.head.load_state_dict(load_file(str(folder / HEAD_FILE)))


def write_checkpoint(target: str | Path, module: Any, tokenizer: Any, manifest: dict) -> Path:
    """Write a complete checkpoint folder atomically; returns its path."""
    manifest = {"format": FORMAT, "library": "predgen-mi-toolkit", "version": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **manifest}
    with atomic_dir(target) as tmp:
        save_weights(tmp, module)
        tokenizer.save_pretrained(str(tmp))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        _share(tmp)
    return Path(target)


def _share(folder: Path) -> None:
    """Temporary folders and files are private (0700/0600); give the checkpoint the umask's usual modes."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        if f.is_file():
            os.chmod(f, 0o666 & ~umask)


def read_manifest(path: str | Path) -> dict:
    """The manifest of a checkpoint folder; a :class:`UserError` when ``path`` is not one."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"checkpoint folder {path} does not exist; pass the --output-dir of a finished `predgen train`")
    file = path / MANIFEST
    if not file.is_file():
        raise UserError(f"{path} is not a predgen checkpoint (no {MANIFEST}); pass the --output-dir of a finished `predgen train`")
    try:
        manifest = json.loads(file.read_text())
    except ValueError as err:
        raise UserError(f"{file} is not valid JSON ({err}); the checkpoint is damaged, retrain it") from None
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise UserError(f"{file} lacks {', '.join(missing)}; it is not a predgen checkpoint manifest")
    return manifest
