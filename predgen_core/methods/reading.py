"""Reading a causal LM: prompt token ids, greedy continuations and hidden states.

:func:`forward_layers` (and :func:`forward_states`, its one-layer form) is the project's one
extraction path: ``LoadedCheckpoint.hidden_states`` and ``mi_toolkit.states.extract`` both
read states through it, so a state means the same thing everywhere (padding-aware
positions, ``output_hidden_states`` numbering: ``0`` = embeddings, ``-1`` = last layer
after the final norm). :func:`decode_states` is its generative twin: greedy tokens and
their states (with the prompt's) from one KV-cached decoding pass.
"""
from __future__ import annotations

import functools
from typing import Any, Iterator, Sequence

import torch

from predgen_core.errors import UserError
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


def prompt_ids_cut(tokenizer: Any, prompts: Sequence[str], max_length: int | None = None) -> tuple[list[list[int]], int]:
    """:func:`prompt_ids` and how many rows were longer than ``max_length`` (cut from the left)."""
    rows = _tokenize(tokenizer, list(prompts), max_length)
    cut = sum(len(r) > max_length for r in rows) if max_length else 0
    rows = [r[-max_length:] if max_length else r for r in rows]
    for text, row in zip(prompts, rows):
        if not row:
            raise UserError(f"text {text[:40]!r} tokenises to nothing; give a non-empty text")
    return rows, cut


def prompt_ids(tokenizer: Any, prompts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
    """Token ids of each prompt, left-truncated to ``max_length`` as training does (the answer cue survives).

    A prompt that tokenises to nothing raises a :class:`UserError`.
    """
    return prompt_ids_cut(tokenizer, prompts, max_length)[0]


def check_layer(model: Any, layer: int) -> int:
    """Validate ``layer`` against the model's depth; returns it unchanged."""
    n_layers = int(model.config.num_hidden_layers)
    if not -(n_layers + 1) <= layer <= n_layers:
        raise UserError(
            f"layer {layer} is out of range for a model with {n_layers} layers; "
            f"use -{n_layers + 1}..{n_layers} (0 = embeddings, -1 = last layer)"
        )
    return layer


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
