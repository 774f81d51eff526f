"""What an extraction is asked (:mod:`mi_toolkit.states.extract`): the settings that run the forward passes
and store the states, the greedy continuation, and the less used knobs of ``extract`` and ``extract_texts``.

:meth:`ExtractConfig.result_fields` is part of every state folder's fingerprint: a field added here
changes it (and so invalidates the cached states) unless it is left out there.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from predgen_common.errors import UserError


@dataclass
class ExtractConfig:
    """How to run the forward passes and store the states.

    layer: index into the model's hidden states (``0`` = embeddings, ``-1`` = last
        layer after the final norm, as ``output_hidden_states`` numbers them).
    layers: read all of these from the same pass instead (None: ``(layer,)``).
    batch_size: examples per forward pass.
    shard_size: examples per shard on disk (bounds peak memory).
    max_length: keep the last this many prompt tokens (None: the model's budget,
        ``min(max positions, 512)``); how many rows were cut is said on stderr.
    storage_dtype: ``float32`` or ``float16`` for the stored states.
    padding_side: ``right`` or ``left``; the states do not depend on it.
    keep_tokens: store every token's states (False: the pooled states only).
    sort_by_length: batch examples of similar length together (False: in input order).
    """

    layer: int = -1
    layers: tuple[int, ...] | None = None
    batch_size: int = 16
    shard_size: int = 512
    max_length: int | None = None
    storage_dtype: str = "float32"
    padding_side: str = "right"
    keep_tokens: bool = True
    sort_by_length: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.shard_size < 1:
            raise UserError("batch_size and shard_size must be at least 1")
        if self.storage_dtype not in ("float32", "float16"):
            raise UserError(f"storage_dtype must be float32 or float16, not {self.storage_dtype!r}")
        if self.padding_side not in ("left", "right"):
            raise UserError(f"padding_side must be left or right, not {self.padding_side!r}")

    @property
    def read_layers(self) -> list[int]:
        return list(self.layers) if self.layers is not None else [self.layer]

    def result_fields(self) -> dict[str, Any]:
        """What the stored states depend on (not batch size, order or padding side: they do not change them)."""
        out = asdict(self)
        for key in ("batch_size", "padding_side", "sort_by_length"):
            out.pop(key)
        return out


@dataclass
class Generation:
    """Greedy continuation of each prompt (one decoding pass): up to ``max_new_tokens``, stopping after ``eos_id``."""

    max_new_tokens: int = 8
    eos_id: int | None = None


@dataclass(frozen=True)
class TextsOptions:
    """The less used knobs of :func:`~mi_toolkit.states.extract.extract_texts`: token ids appended after
    each prompt (``continuations[i]`` after prompt ``i``), or ``generate`` to have the model write them;
    ``meta``: provenance for the manifest (and its fingerprint)."""

    continuations: Sequence[Sequence[int]] | None = None
    generate: Generation | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class ExtractOptions:
    """The less used knobs of :func:`~mi_toolkit.states.extract.extract` and ``extract_layers``.

    examples: read these instead of the seeded subset of the split (e.g. a fit pool disjoint from
        the LM's training examples); their texts and labels are part of the cache key.
    generated: read the tokens the model generates after the prompt too (None: iff the method generates).
    config: the settings (the call sets the layers and ``keep_tokens``); cache: False skips the look-up
        by content key (the folder is still resumed); out_dir: None is the user cache; progress: a bar.
    """

    examples: Sequence[Any] | None = None
    generated: bool | None = None
    config: ExtractConfig | None = None
    cache: bool = True
    out_dir: str | Path | None = None
    progress: bool = True
