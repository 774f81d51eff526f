"""KV-cached greedy decoding, plain (inference) or mixed with gold tokens (scheduled sampling).

One loop serves both: ``transformers``' ``generate`` cannot take, at each step,
the gold token for some rows and the model's own for others, which scheduled
sampling needs; everything else (the cache, the attention) is the model's own.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import nn

from predgen_core.methods.collate import position_ids


@dataclass
class Decoded:
    """Output of :func:`greedy_decode`.

    ``tokens`` ``(B, k)`` the chosen tokens; ``mask`` ``(B, k)`` bool, False after a
    row's EOS (plain decoding) or where the gold target was padding;
    ``hidden`` ``(B, k, d)`` last-layer hidden states of those tokens, or None;
    ``states`` ``(L, B, n + k, d)`` the states at the requested ``layers`` of the
    left-padded prompt columns then of the ``k`` chosen tokens (one decoding pass), or None.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    hidden: torch.Tensor | None = None
    states: torch.Tensor | None = None


@dataclass(frozen=True)
class GoldTargets:
    """Scheduled sampling's gold targets for :func:`greedy_decode`, each ``(B, m)``: ``tokens``; ``mask``
    bool, False at padding; ``use_model`` bool, where the model's own greedy token replaces the gold one."""

    tokens: torch.Tensor
    mask: torch.Tensor
    use_model: torch.Tensor


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Dropout off while the model writes its own tokens; the previous mode comes back after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _step(lm: nn.Module, ids, mask, pos, cache, layers: Sequence[int]):
    """One cached forward step; the states at ``layers`` as ``(L, B, T, d)`` (None when no layer is asked)."""
    out = lm(
        input_ids=ids,
        attention_mask=mask,
        position_ids=pos,
        cache=cache,  # transformers 5.24 renamed past_key_values (removed in 5.40)
        use_cache=True,
        output_hidden_states=bool(layers),
        logits_to_keep=1,
    )
    hidden = torch.stack([out.hidden_states[i] for i in layers]) if layers else None
    return out.logits[:, -1], out.cache, hidden


@torch.no_grad()
def greedy_decode(
    lm: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int,
    *,
    gold: GoldTargets | None = None,
    eos_id: int | None = None,
    return_hidden: bool = False,
    layers: Sequence[int] | None = None,
) -> Decoded:
    """Decode up to ``max_new_tokens`` after left-padded prompts ``(B, n)``.

    Plain mode (``gold`` None): greedy tokens; a row stops after ``eos_id``.
    Scheduled-sampling mode: ``gold`` (:class:`GoldTargets`, ``(B, m)``); the
    token placed at step t is the model's greedy token where ``gold.use_model[:, t]``,
    else the gold one, so the model's later choices condition on the mixed prefix.
    Decoding stops after the last column any row samples; the rest is gold.
    ``layers``: also return ``Decoded.states`` at these layers for the prompt and every chosen
    token from this one pass (positions skip the left padding: the states of one unpadded pass).
    """
    device = input_ids.device
    gold, gold_mask, use_model = (gold.tokens, gold.mask, gold.use_model) if gold is not None else (None, None, None)
    use_model, steps = _plan(gold, gold_mask, use_model, max_new_tokens, device)
    if steps == 0:  # no row samples: the gold targets as they are
        return Decoded(gold.clone(), gold_mask.clone())
    tokens, masks, hiddens, states = [], [], [], []
    want = list(layers or ())
    step_layers = want + ([-1] if return_hidden else [])
    done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=device)
    with eval_mode(lm):
        logits, cache, h = _step(lm, input_ids, attention_mask, position_ids(attention_mask), None, want)
        if want:
            states.append(h)
        mask = attention_mask
        next_pos = attention_mask.long().sum(-1, keepdim=True)
        for t in range(steps):
            choice, col, done = _choose(logits.argmax(-1), t, gold, gold_mask, use_model, done, eos_id)
            tokens.append(choice)
            masks.append(col)
            finished = t == steps - 1 or (gold is None and bool(done.all()))
            if finished and not step_layers:
                break
            mask = torch.cat([mask, col.long().unsqueeze(1)], dim=1)
            logits, cache, h = _step(lm, choice.unsqueeze(1), mask, next_pos, cache, step_layers)
            next_pos = next_pos + 1
            if return_hidden:
                hiddens.append(h[-1, :, -1])
            if want:
                states.append(h[: len(want)])
            if finished:
                break
    out = Decoded(torch.stack(tokens, 1), torch.stack(masks, 1), torch.stack(hiddens, 1) if return_hidden else None,
                  torch.cat(states, dim=2) if want else None)
    if gold is not None and out.tokens.shape[1] < gold.shape[1]:  # the columns after the last sampled one
        out.tokens = torch.cat([out.tokens, gold[:, out.tokens.shape[1]:]], dim=1)
        out.mask = gold_mask.clone()
    return out


def _choose(greedy: torch.Tensor, t: int, gold: torch.Tensor | None, gold_mask: torch.Tensor | None,
            use_model: torch.Tensor | None, done: torch.Tensor, eos_id: int | None):
    """``(token, kept, done)`` at step ``t``: the greedy or gold token ``(B,)``, whether it is a real
    token ``(B,)``, and which rows have finished (plain decoding: after their EOS)."""
    if gold is not None:
        return torch.where(use_model[:, t], greedy, gold[:, t]), gold_mask[:, t].to(greedy.device), done
    col = ~done
    choice = torch.where(done, torch.zeros_like(greedy), greedy)
    if eos_id is not None:
        done = done | (choice == eos_id)
    return choice, col, done


def _plan(gold: torch.Tensor | None, gold_mask: torch.Tensor | None, use_model: torch.Tensor | None,
          max_new_tokens: int, device: torch.device) -> tuple[torch.Tensor | None, int]:
    """``(use_model, steps)``: plain decoding runs ``max_new_tokens`` steps; scheduled sampling
    stops after the last column any row samples (0 steps when none does)."""
    if gold is None:
        return None, max_new_tokens
    assert gold_mask is not None and use_model is not None
    use_model = use_model.to(device) & gold_mask.to(device)
    if not bool(use_model.any()):
        return use_model, 0
    return use_model, int(torch.nonzero(use_model.any(dim=0)).max()) + 1


def mix_targets(input_ids: torch.Tensor, prompt_len: int, tokens: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """Write ``tokens`` ``(B, m)`` into the target columns of ``input_ids`` ``(B, n + m)`` where ``target_mask``."""
    out = input_ids.clone()
    region = out[:, prompt_len:]
    out[:, prompt_len:] = torch.where(target_mask, tokens, region)
    return out
