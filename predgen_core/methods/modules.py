"""The trainable module of each method: the (PEFT-wrapped) LM plus its head.

``forward`` returns the method's loss *components* (a dict of scalars); the
Trainer subclass of the method combines them (``trainers.py``). ``predict``
turns a batch into predictions the way the method predicts at inference.
Everything the method computes sits inside ``forward`` so that DDP sees one
forward per step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from predgen_core.methods import losses
from predgen_core.methods.collate import PromptCollator, TargetCollator, position_ids
from predgen_core.methods.heads import PooledHead
from predgen_core.methods.sampling import GoldTargets, greedy_decode, mix_targets
from predgen_core.methods.schedules import ordered_alphas, sampling_mask


@dataclass
class Prediction:
    """Predictions for a batch: ``values`` (class index or number; None where unparseable),
    the generated ``texts`` (generative methods) and how many failed to parse."""

    values: list[Any]
    texts: list[str] = field(default_factory=list)
    parse_failures: int = 0


class MethodModule(nn.Module):
    """Base: ``lm`` a causal LM (maybe PEFT-wrapped), ``head`` a :class:`PooledHead` or None."""

    accepts_loss_kwargs = False  # our losses are per-batch means; the Trainer scales them for accumulation
    generative: ClassVar[bool] = False  # batches hold prompt + target; predictions come from greedy decoding

    def __init__(self, lm: nn.Module, head: nn.Module | None, kind: str) -> None:
        super().__init__()
        self.lm = lm
        self.head = head
        self.kind = kind

    @classmethod
    def collator(cls, pad_id: int, kind: str) -> PromptCollator | TargetCollator:
        """The collator for this method's batch layout."""
        return TargetCollator(pad_id, kind) if cls.generative else PromptCollator(pad_id, kind)

    @classmethod
    def options(cls, manifest: dict[str, Any], task: Any, tokenizer: Any) -> dict[str, Any]:
        """Constructor keywords beyond ``(lm, head, kind)``, read from a manifest-like dict."""
        return {}

    @property
    def config(self):  # the Trainer and accelerate read model.config
        return self.lm.config

    def activation_checkpointing_enable(self, **kwargs: Any) -> None:
        """``--activation_checkpointing``: the Trainer asks the module; the LM's layers recompute in backward."""
        self.lm.activation_checkpointing_enable(**kwargs)

    def head_loss(self, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.kind == "classification":
            return losses.classification_loss(out, labels)
        return losses.regression_loss(out, labels)

    def head_values(self, out: torch.Tensor) -> list[Any]:
        if self.kind == "classification":
            return out.argmax(-1).tolist()
        return out.float().tolist()


class PredictorModule(MethodModule):
    """Pooled hidden state of the prompt -> linear head (CE or MSE)."""

    def _head_out(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.lm(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, logits_to_keep=1)
        return self.head(out.hidden_states[-1], attention_mask)

    def forward(self, input_ids, attention_mask, labels) -> dict[str, torch.Tensor]:
        return {"head": self.head_loss(self._head_out(input_ids, attention_mask), labels)}

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], **_: Any) -> Prediction:
        return Prediction(self.head_values(self._head_out(batch["input_ids"], batch["attention_mask"])))


class GeneratorModule(MethodModule):
    """Teacher-forced CE on the target tokens; predicts by greedy decoding + ``parse``."""

    generative = True

    @classmethod
    def options(cls, manifest: dict[str, Any], task: Any, tokenizer: Any) -> dict[str, Any]:
        return dict(eos_id=tokenizer.eos_token_id, parse=task.parse, max_new_tokens=manifest.get("max_new_tokens", 8),
                    decode_text=lambda ids: tokenizer.decode(ids, skip_special_tokens=True))

    def __init__(self, lm, head, kind, *, eos_id: int, decode_text: Callable[[list[int]], str],
                 parse: Callable[[str], Any], max_new_tokens: int = 8) -> None:
        super().__init__(lm, head, kind)
        self.eos_id = eos_id
        self.decode_text = decode_text
        self.parse = parse
        self.max_new_tokens = max_new_tokens

    def _target_logits(self, input_ids, attention_mask, m: int, hidden: bool = False):
        """Logits ``(B, m, V)`` aligned with the targets (column n-1+i predicts target i), and Z[n:n+m]."""
        out = self.lm(input_ids=input_ids, attention_mask=attention_mask,
                      position_ids=position_ids(attention_mask), output_hidden_states=hidden,
                      logits_to_keep=m + 1)  # the LM head runs on the target columns only
        z = out.hidden_states[-1][:, -m:] if hidden else None
        return out.logits[:, :m], z

    def forward(self, input_ids, attention_mask, target_ids, target_mask, labels=None) -> dict[str, torch.Tensor]:
        logits, _ = self._target_logits(input_ids, attention_mask, target_ids.shape[1])
        return {"writer": losses.writer_loss(logits, target_ids, target_mask)}

    def _decode(self, batch, return_hidden: bool):
        return greedy_decode(self.lm, batch["input_ids"], batch["attention_mask"], self.max_new_tokens,
                             eos_id=self.eos_id, return_hidden=return_hidden)

    def _texts(self, dec) -> list[str]:
        return [self.decode_text(row[m].tolist()) for row, m in zip(dec.tokens, dec.mask)]

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], **_: Any) -> Prediction:
        texts = self._texts(self._decode(batch, return_hidden=False))
        values = [self.parse(t) for t in texts]
        return Prediction(values, texts, sum(v is None for v in values))


class PredGenModule(GeneratorModule):
    """Generator + scheduled sampling + task adapter T over Z[n:n+m].

    Components returned by ``forward``: ``writer`` (CE on gold targets given the
    possibly self-generated prefix), ``director`` (classification: CE of the
    adapter; regression: the ordered penalty) and, for regression, ``adapter_mse``
    that trains the numeric head T.
    """

    @classmethod
    def options(cls, manifest: dict[str, Any], task: Any, tokenizer: Any) -> dict[str, Any]:
        saved = manifest.get("options", {})
        return {**super().options(manifest, task, tokenizer), "sampling_level": saved.get("sampling_level", "sequence"),
                "alpha_first": saved.get("alpha_first", 1.67), "alpha_last": saved.get("alpha_last", 1.0)}

    def __init__(self, lm, head, kind, *, sampling_level: str = "sequence",
                 alpha_first: float = 1.67, alpha_last: float = 1.0, **kw) -> None:
        super().__init__(lm, head, kind, **kw)
        self.sampling_level = sampling_level
        self.alpha_first = alpha_first
        self.alpha_last = alpha_last

    def forward(self, input_ids, attention_mask, target_ids, target_mask, labels=None,
                sampling_p: float = 0.0) -> dict[str, torch.Tensor]:
        m = target_ids.shape[1]
        n = input_ids.shape[1] - m
        use_model = sampling_mask(input_ids.shape[0], m, sampling_p, self.sampling_level).to(input_ids.device)
        dec = greedy_decode(self.lm, input_ids[:, :n], attention_mask[:, :n], m,
                            gold=GoldTargets(target_ids, target_mask, use_model))
        mixed = mix_targets(input_ids, n, dec.tokens, target_mask)
        logits, z = self._target_logits(mixed, attention_mask, m, hidden=True)
        out = {"writer": losses.writer_loss(logits, target_ids, target_mask),
               "sampled": (use_model & target_mask).any(1).float().mean()}
        adapter_out = self.head(z, target_mask)
        if self.kind == "classification":
            out["director"] = losses.classification_loss(adapter_out, labels)
        else:
            alphas = ordered_alphas(m, self.alpha_first, self.alpha_last)
            out["director"] = losses.ordered_penalty(logits, target_ids, target_mask, alphas)
            out["adapter_mse"] = losses.regression_loss(adapter_out, labels)
        return out

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], **_: Any) -> Prediction:
        """Greedy generation, then T over the hidden states of the generated tokens."""
        dec = self._decode(batch, return_hidden=True)
        texts = self._texts(dec)
        values = self.head_values(self.head(dec.hidden, dec.mask))
        failures = sum(self.parse(t) is None for t in texts)
        return Prediction(values, texts, failures)
