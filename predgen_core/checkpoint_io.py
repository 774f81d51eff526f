"""Checkpoint files: the manifest and the trainable weights, without rebuilding a model.

A checkpoint folder (format 2) holds ``manifest.json``, the LM's trained weights in
the PEFT method's own layout (``PeftSpec.save``: peft's ``adapter_config.json`` +
``adapter_model.safetensors`` for lora/adalora/dora, ``adapter.safetensors`` for
rocoft, a transformers ``config.json`` + ``model.safetensors`` for full; never the
frozen base model), ``head.safetensors`` (the Predictor's head or PredGen's task
adapter; absent for the Generator) and the tokenizer files. The final folder is
written whole (``atomic_dir``); the Trainer's intermediate ``checkpoint-N``
folders use the same weight files.

Format 1 checkpoints held every method's weights in ``adapter.safetensors``; they
still load, and ``predgen convert DIR`` rewrites one in format 2.

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
from predgen_common.errors import UserError
from predgen_common.io import atomic_dir, dumps_strict
from predgen_core.peft_io import STATE_FILE, plain
from predgen_core.peft_methods import load_adapter, load_adapter_state, save_adapter

MANIFEST = "manifest.json"
ADAPTER_FILE = STATE_FILE  # format 1: every method's weights; format 2: RoCoFT's
HEAD_FILE = "head.safetensors"
FORMAT = 2
REQUIRED = ("base_model", "method", "task", "peft")


def save_weights(folder: str | Path, module: Any, base_model: str | None = None) -> None:
    """Write ``module``'s trained LM weights (the PEFT method's layout) and head weights into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_adapter(module.lm, folder, base_model)
    if module.head is not None:
        save_file(plain(module.head.state_dict()), str(folder / HEAD_FILE), metadata={"format": "pt"})


def load_weights(folder: str | Path, module: Any, format: int = FORMAT) -> None:
    """Load what :func:`save_weights` wrote into an already built ``module`` (``format``: the manifest's)."""
    folder = Path(folder)
    if format >= 2:
        load_adapter(module.lm, folder)
    elif (folder / ADAPTER_FILE).is_file():  # format 1: one state-dict file for every method
        load_adapter_state(module.lm, load_file(str(folder / ADAPTER_FILE)))
    else:
        raise UserError(f"{folder} has no {ADAPTER_FILE}; it is not a predgen checkpoint")
    if module.head is not None:
        if not (folder / HEAD_FILE).is_file():
            raise UserError(f"{folder} has no {HEAD_FILE}; the checkpoint is incomplete, retrain it")
        module.head.load_state_dict(load_file(str(folder / HEAD_FILE)))


def write_checkpoint(target: str | Path, module: Any, tokenizer: Any, manifest: dict) -> Path:
    """Write a complete checkpoint folder atomically; returns its path."""
    stamp = {"format": FORMAT, "library": "predgen-mi-toolkit", "version": __version__,
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    manifest = {**stamp, **{k: v for k, v in manifest.items() if k not in stamp}}  # the files written decide these
    with atomic_dir(target) as tmp:
        save_weights(tmp, module, manifest.get("base_model"))
        tokenizer.save_pretrained(str(tmp))
        (tmp / MANIFEST).write_text(dumps_strict(manifest, default=str) + "\n")
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
    if manifest.get("format", 1) > FORMAT:
        raise UserError(f"{path} is checkpoint format {manifest['format']}, newer than this predgen reads ({FORMAT}); "
                        "upgrade predgen-mi-toolkit")
    return manifest
