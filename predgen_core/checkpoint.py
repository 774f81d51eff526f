"""Checkpoint folders: save the trainable weights + manifest, load them back for evaluation and mi_toolkit.

A checkpoint folder holds ``manifest.json``, ``adapter.safetensors`` (the PEFT
weights only, never the frozen base model), ``head.safetensors`` (the
Predictor's head or PredGen's task adapter; absent for the Generator) and the
tokenizer files. The final folder is written whole (``atomic_dir``); the
Trainer's intermediate ``checkpoint-N`` folders use the same weight files.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predgen_core.errors import UserError

MANIFEST = "manifest.json"
ADAPTER_FILE = "adapter.safetensors"
HEAD_FILE = "head.safetensors"
FORMAT = 1


def _plain(state: dict) -> dict:
    # safetensors refuses tensors that share storage (tied embeddings under full fine-tuning)
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def save_weights(folder: str | Path, module: Any) -> None:
    """Write ``module``'s adapter (trainable LM weights) and head weights into ``folder``."""
    from safetensors.torch import save_file

    from predgen_core.peft_methods import adapter_state_dict

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(_plain(adapter_state_dict(module.lm)), str(folder / ADAPTER_FILE), metadata={"format": "pt"})
    if module.head is not None:
        save_file(_plain(module.head.state_dict()), str(folder / HEAD_FILE), metadata={"format": "pt"})


def load_weights(folder: str | Path, module: Any) -> None:
    """Load what :func:`save_weights` wrote into an already built ``module``."""
    from safetensors.torch import load_file

    from predgen_core.peft_methods import load_adapter_state

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
    from predgen_core import __version__
    from predgen_core.io import atomic_dir

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
    import os

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
    missing = [k for k in ("base_model", "method", "task", "peft") if k not in manifest]
    if missing:
        raise UserError(f"{file} lacks {', '.join(missing)}; it is not a predgen checkpoint manifest")
    return manifest


@dataclass
class LoadedCheckpoint:
    """A checkpoint rebuilt for evaluation (eval mode, no grad needed).

    ``model``: the causal LM with its adapter (a ``PeftModel`` or plain model),
    callable as any HF causal LM; ``module``: the method's module (LM + head);
    ``head``: the Predictor head / PredGen task adapter (None for the Generator);
    ``tokenizer``, ``task`` (a ``Task``), ``method`` (name), ``manifest`` (dict),
    ``pooling`` (how the head pools), ``path``.
    """

    path: Path
    model: Any
    module: Any
    head: Any
    tokenizer: Any
    task: Any
    method: str
    manifest: dict
    pooling: str

    @property
    def generates(self) -> bool:
        """True for generator and predgen checkpoints (they write target tokens)."""
        from predgen_core.methods import METHODS

        return METHODS.get(self.method).generative

    def generate_targets(self, prompts: list[str], batch_size: int = 16,
                         max_new_tokens: int | None = None) -> list[list[int]]:
        """Greedy continuations of formatted ``prompts`` (``task.prompt(ex)``), as token ids incl. EOS.

        These are the tokens whose states are Z[n:n+m]. Works for any method (a
        Predictor checkpoint just continues with its base LM).
        """
        from predgen_core.methods.runtime import generate_ids

        limit = max_new_tokens or self.manifest.get("max_new_tokens", 8)
        return generate_ids(self.model, self.tokenizer, prompts, limit, batch_size=batch_size,
                            max_length=self.manifest.get("training", {}).get("max_length"))

    def hidden_states(self, prompts: list[str], layer: int = -1, batch_size: int = 16,
                      generated: bool | None = None) -> list[Any]:
        """Per example, the states ``(n + m, d)`` of prompt + generated tokens at ``layer``
        (``generated=False``: prompt only, ``m = 0``; default: generate iff the method does)."""
        from predgen_core.methods.runtime import sequence_states

        gen = self.generates if generated is None else generated
        conts = self.generate_targets(prompts, batch_size) if gen else None
        return sequence_states(self.model, self.tokenizer, prompts, conts, layer=layer, batch_size=batch_size,
                               max_length=self.manifest.get("training", {}).get("max_length"))


def load(path: str | Path) -> LoadedCheckpoint:
    """Rebuild a checkpoint written by ``predgen train``: base model, adapter, head, task."""
    from predgen_core.methods.runtime import build_module

    path = Path(path)
    manifest = read_manifest(path)
    module, tokenizer, task = build_module(manifest, tokenizer_path=path)
    load_weights(path, module)
    module.eval()
    return LoadedCheckpoint(path=path, model=module.lm, module=module, head=module.head, tokenizer=tokenizer,
                            task=task, method=manifest["method"], manifest=manifest,
                            pooling=manifest.get("pooling", "last"))
