"""Reading a causal LM: prompt token ids, greedy continuations and hidden states.

:func:`forward_layers` (and :func:`forward_states`, its one-layer form) is the project's one
extraction path: ``LoadedCheckpoint.hidden_states`` and ``mi_toolkit.states.extract`` both
read states through it, so a state means the same thing everywhere (padding-aware
positions, ``output_hidden_states`` numbering: ``0`` = embeddings, ``-1`` = last layer
after the final norm). :func:`decode_states` is its generative twin: greedy tokens and
their states (with the prompt's) from one KV-cached decoding pass.
"""
from __future__ import annotations

import copy
import functools
from types import SimpleNamespace
from typing import Any, Iterator, Sequence

import torch

from predgen_common.errors import UserError
from predgen_core.methods.collate import pad_rows, position_ids
from predgen_core.methods.sampling import greedy_decode


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Tokens a plain model reads per row when nothing else says (its positions, capped): a 100,000-character
# row would otherwise build attention matrices of many GB.
DEFAULT_TOKEN_BUDGET = 512


def token_budget(model: Any, default: int = DEFAULT_TOKEN_BUDGET) -> int:
    """``min(the model's max positions, default)``: the prompt tokens a row keeps when no budget is stated."""
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return min(int(positions), default) if isinstance(positions, int) and positions > 0 else default


@functools.lru_cache(maxsize=8)
def _max_token_chars(tokenizer: Any) -> int:
    """The most characters one token of ``tokenizer`` can cover (its longest vocabulary entry)."""
    return max(1, max((len(t) for t in tokenizer.get_vocab()), default=1))


def _tokenize(tokenizer: Any, prompts: Sequence[str], max_length: int | None) -> list[list[int]]:
    """Token ids of each prompt, a bounded amount of text per tokenizer call (Ctrl-C is seen between calls).

    A prompt longer than ``2 * max_length * longest token`` characters is certain to be cut; only its
    tail that long is tokenised (the same last tokens, without tokenising megabytes).
    """
    keep = 2 * max_length * _max_token_chars(tokenizer) if max_length else None
    texts = [t[-keep:] if keep and len(t) > keep else t for t in prompts]
    rows: list[list[int]] = []
    start = 0
    while start < len(texts):
        stop, size = start + 1, len(texts[start])
        while stop < len(texts) and size + len(texts[stop]) <= _CHARS_PER_CALL:
            size, stop = size + len(texts[stop]), stop + 1
        rows += [list(r) for r in tokenizer(texts[start:stop], add_special_tokens=True)["input_ids"]]
        start = stop
    return rows


_CHARS_PER_CALL = 1_000_000  # ~0.4 s of a fast tokenizer: a call is not interruptible


def prompt_ids_cut(tokenizer: Any, prompts: Sequence[str], max_length: int | None = None,
                   keep_first_special: bool = False) -> tuple[list[list[int]], int]:
    """:func:`prompt_ids` and how many rows were longer than ``max_length`` (cut from the left).

    ``keep_first_special``: a cut row keeps its leading special token (an encoder's CLS) before its last
    ``max_length - 1`` tokens.
    """
    rows = _tokenize(tokenizer, list(prompts), max_length)
    cut = sum(len(r) > max_length for r in rows) if max_length else 0
    special = set(tokenizer.all_special_ids) if keep_first_special else set()
    rows = [_cut(r, max_length, r[0] in special) if max_length and len(r) > max_length else r for r in rows]
    for text, row in zip(prompts, rows):
        if not row:
            raise UserError(f"text {text[:40]!r} tokenises to nothing; give a non-empty text")
    return rows, cut


def _cut(row: list[int], max_length: int, keep_first: bool) -> list[int]:
    return row[:1] + row[len(row) - max_length + 1:] if keep_first and max_length > 1 else row[-max_length:]


def prompt_ids(tokenizer: Any, prompts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
    """Token ids of each prompt, left-truncated to ``max_length`` as training does (the answer cue survives).

    A prompt that tokenises to nothing raises a :class:`UserError`.
    """
    return prompt_ids_cut(tokenizer, prompts, max_length)[0]


def model_depth(model: Any) -> int:
    """Transformer layers of the stack whose states are read (``config.num_hidden_layers``; a
    :class:`StackModel` gives its stack's)."""
    return int(model.config.num_hidden_layers)


def check_layer(model: Any, layer: int) -> int:
    """Validate ``layer`` against the model's depth; returns it unchanged."""
    n_layers = model_depth(model)
    if not -(n_layers + 1) <= layer <= n_layers:
        arch = getattr(model, "architecture", None) or {}
        what = f"the {arch['stack']} of a {arch['model_type']!r} model" if arch.get("kind", "decoder") != "decoder" \
            else "a model"
        raise UserError(
            f"layer {layer} is out of range for {what} with {n_layers} layers; "
            f"use -{n_layers + 1}..{n_layers} (0 = embeddings, -1 = last layer)"
        )
    return layer


class StackModel(torch.nn.Module):
    """An encoder, or one stack of an encoder-decoder, read as :func:`forward_layers` reads a causal LM.

    ``forward(input_ids (B, T), attention_mask (B, T), ...)`` returns ``.hidden_states``, a tuple of
    ``depth + 1`` tensors ``(B, T, d)`` (embeddings first, the last after the stack's final norm),
    whichever side the rows are padded on: rows are moved flush left before the pass (absolute
    positions start at 0) and their states moved back. The decoder stack reads the same tokens after
    its start token, so its state at token ``t`` has read tokens ``0..t``. Other keyword arguments
    (a causal LM's ``position_ids``, ``logits_to_keep``, ``use_cache``) are ignored.
    """

    def __init__(self, model: Any, architecture: dict[str, Any]) -> None:
        super().__init__()
        self.inner = model
        self.architecture = architecture
        self.config = model.config
        if architecture["stack"] == "decoder":  # a copy whose depth is the decoder's, for check_layer
            self.config = copy.copy(model.config)
            self.config.num_hidden_layers = _decoder_depth(model.config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> SimpleNamespace:
        order = torch.argsort((attention_mask == 0).to(torch.int8), dim=1, stable=True)  # real tokens first
        ids, mask = input_ids.gather(1, order), attention_mask.gather(1, order)
        hidden = self._states(ids, mask)
        back = torch.argsort(order, dim=1)[..., None]
        return SimpleNamespace(hidden_states=tuple(h.gather(1, back.expand_as(h)) for h in hidden))

    def _states(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        kind, stack = self.architecture["kind"], self.architecture["stack"]
        if kind == "encoder":
            return self.inner(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        if stack == "encoder":
            return self.inner.get_encoder()(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        cfg = self.inner.config
        start = next((v for v in (getattr(cfg, "decoder_start_token_id", None), getattr(cfg, "pad_token_id", None))
                      if v is not None), 0)
        dec = torch.cat([torch.full_like(ids[:, :1], int(start)), ids], 1)
        dec_mask = torch.cat([torch.ones_like(mask[:, :1]), mask], 1)
        out = self.inner(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, decoder_attention_mask=dec_mask,
                         output_hidden_states=True, use_cache=False)
        return tuple(h[:, 1:] for h in out.decoder_hidden_states)


def _decoder_depth(config: Any) -> int:
    for key in ("num_decoder_layers", "decoder_layers", "num_hidden_layers"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    raise UserError(f"cannot tell the decoder depth of a {config.model_type!r} model; read its encoder instead")


@torch.inference_mode()
def forward_layers(lm: Any, rows: Sequence[Sequence[int]], layers: Sequence[int], pad_id: int,
                   side: str = "right") -> list[torch.Tensor]:
    """One batched forward pass; each row's states ``(L, len(row), d)`` at ``layers``, float32 on the CPU.

    Every layer comes from the same pass (``output_hidden_states``), so reading 31 layers
    costs one forward pass plus the copies.
    """
    ids, mask = pad_rows(rows, pad_id, side)
    device = next(lm.parameters()).device
    # logits_to_keep=1: the vocabulary projection is not needed for states.
    out = lm(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=position_ids(mask).to(device),
             output_hidden_states=True, use_cache=False, logits_to_keep=1)
    hidden = torch.stack([out.hidden_states[i] for i in layers]).float().cpu()  # (L, B, T, d)
    return [hidden[:, b, m.bool()] for b, m in enumerate(mask)]


def forward_states(lm: Any, rows: Sequence[Sequence[int]], layer: int, pad_id: int,
                   side: str = "right") -> list[torch.Tensor]:
    """One batched forward pass; each row's states ``(len(row), d)`` at ``layer``, float32 on the CPU."""
    return [h[0] for h in forward_layers(lm, rows, [layer], pad_id, side)]


@torch.no_grad()
def decode_states(lm: Any, rows: Sequence[Sequence[int]], layers: Sequence[int], pad_id: int,
                  max_new_tokens: int, eos_id: int | None) -> list[tuple[list[int], torch.Tensor]]:
    """Greedy continuations of prompt ``rows`` and the states of prompt + continuation from ONE pass.

    Returns per row ``(generated ids incl. EOS, states (L, n_i + m_i, d))``, float32 on the CPU:
    the same tokens as :func:`generate_ids` and (to float rounding) the same states as
    :func:`forward_layers` over ``row + generated``, without the second forward pass.
    """
    ids, mask = pad_rows(rows, pad_id, "left")  # left: every row's first new token lands in one column
    device = next(lm.parameters()).device
    dec = greedy_decode(lm, ids.to(device), mask.to(device), max_new_tokens, eos_id=eos_id, layers=list(layers))
    states, keep = dec.states.float().cpu(), dec.mask.cpu()
    out = []
    for b in range(len(rows)):
        real = torch.cat([mask[b].bool(), keep[b]])  # prompt tokens, then the tokens before (and incl.) EOS
        out.append((dec.tokens[b].cpu()[keep[b]].tolist(), states[:, b][:, real]))
    return out


def sequence_states(lm: Any, tokenizer: Any, prompts: Sequence[str], continuations: Sequence[list[int]] | None,
                    *, layer: int = -1, batch_size: int = 16, max_length: int | None = None) -> list[torch.Tensor]:
    """States ``(n_i + m_i, d)`` of each prompt followed by its continuation (or the prompt alone)."""
    rows = prompt_ids(tokenizer, prompts, max_length)
    if continuations is not None:
        rows = [p + list(c) for p, c in zip(rows, continuations)]
    out: list[torch.Tensor] = []
    for chunk in batches(rows, batch_size):
        out += forward_states(lm, chunk, layer, tokenizer.pad_token_id)
    return out


@torch.no_grad()
def generate_ids(lm: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, *, batch_size: int = 16,
                 max_length: int | None = None) -> list[list[int]]:
    """Greedy continuations (KV cache) of each prompt, as token ids up to and including EOS."""
    device = next(lm.parameters()).device
    out: list[list[int]] = []
    for chunk in batches(prompt_ids(tokenizer, prompts, max_length), batch_size):
        ids, mask = pad_rows(chunk, tokenizer.pad_token_id, "left")
        dec = greedy_decode(lm, ids.to(device), mask.to(device), max_new_tokens, eos_id=tokenizer.eos_token_id)
        out += [row[m].tolist() for row, m in zip(dec.tokens.cpu(), dec.mask.cpu())]
    return out
