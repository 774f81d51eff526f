"""Load a checkpoint folder back for evaluation and for mi_toolkit.

The files (manifest, adapter and head weights) are read and written by
:mod:`predgen_core.checkpoint_io`; its public names are re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predgen_core.checkpoint_io import (  # noqa: F401  (re-exported: the public names of this module)
    ADAPTER_FILE, FORMAT, HEAD_FILE, MANIFEST, load_weights, read_manifest, save_weights, write_checkpoint,
)
from predgen_core.methods import METHODS
from predgen_core.peft_io import rewrite_base_reference
from predgen_core.methods.reading import batches, decode_states, generate_ids, prompt_ids, sequence_states
from predgen_core.methods.runtime import build_module


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
        return METHODS.get(self.method).generative

    @property
    def max_length(self) -> int | None:
        """The prompt length the checkpoint was trained with (None: no truncation)."""
        return self.manifest.get("training", {}).get("max_length")

    def generate_targets(self, prompts: list[str], batch_size: int = 16,
                         max_new_tokens: int | None = None) -> list[list[int]]:
        """Greedy continuations of formatted ``prompts`` (``task.prompt(ex)``), as token ids incl. EOS.

        These are the tokens whose states are Z[n:n+m]. Works for any method (a
        Predictor checkpoint just continues with its base LM).
        """
        limit = max_new_tokens or self.manifest.get("max_new_tokens", 8)
        return generate_ids(self.model, self.tokenizer, prompts, limit, batch_size=batch_size,
                            max_length=self.max_length)

    def hidden_states(self, prompts: list[str], layer: int = -1, batch_size: int = 16,
                      generated: bool | None = None) -> list[Any]:
        """Per example, the states ``(n + m, d)`` of prompt + generated tokens at ``layer``
        (``generated=False``: prompt only, ``m = 0``; default: generate iff the method does)."""
        gen = self.generates if generated is None else generated
        if not gen:
            return sequence_states(self.model, self.tokenizer, prompts, None, layer=layer, batch_size=batch_size,
                                   max_length=self.max_length)
        # the generated tokens and their states come from the same (KV-cached) decoding pass
        tok, out = self.tokenizer, []
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        for chunk in batches(prompt_ids(tok, prompts, self.max_length), batch_size):
            out += [h[0] for _, h in decode_states(self.model, chunk, [layer], pad,
                                                   self.manifest.get("max_new_tokens", 8), tok.eos_token_id)]
        return out


def load(path: str | Path) -> LoadedCheckpoint:
    """Rebuild a checkpoint written by ``predgen train``: base model, adapter, head, task.

    A base model the adapter does not fit (another architecture or size under the
    manifest's name) raises a one-line :class:`UserError`.
    """
    path = Path(path)
    manifest = read_manifest(path)
    module, tokenizer, task = build_module(manifest, tokenizer_path=path)
    load_weights(path, module, manifest.get("format", 1))
    module.eval()
    return LoadedCheckpoint(path=path, model=module.lm, module=module, head=module.head, tokenizer=tokenizer,
                            task=task, method=manifest["method"], manifest=manifest,
                            pooling=manifest.get("pooling", "last"))


def convert(path: str | Path) -> Path:
    """Rewrite a format-1 checkpoint (``adapter.safetensors`` for every method) in place, in format 2
    (the PEFT method's own layout: peft's ``adapter_config.json`` + ``adapter_model.safetensors``).
    Weights, head, tokenizer and manifest are kept. A format-2 checkpoint keeps its files; only an
    ``adapter_config.json`` that names its base by a registered name (``smollm2-135m``, which transformers
    cannot resolve) is pointed at the cached base folder, so ``AutoPeftModelForCausalLM`` opens it."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("format", 1) >= FORMAT:
        rewrite_base_reference(path, str(manifest["base_model"]))
        return path
    loaded = load(path)
    manifest = {**manifest, "converted_from_format": manifest.get("format", 1)}
    return write_checkpoint(path, loaded.module, loaded.tokenizer, manifest)
