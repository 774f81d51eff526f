"""Which transformers architecture a model is, and how its hidden states are read.

A folder or hub id names its architecture in ``config.json`` (``model_type``, ``architectures``,
``is_encoder_decoder``). :func:`classify` turns that into an :class:`Architecture`:

* **decoder** (GPT-2, Llama, Qwen2, SmolLM2, ...): ``AutoModelForCausalLM``, pooled at the
  ``last`` token, padded on the left (batched greedy generation needs prompts flush right);
* **encoder** (BERT, RoBERTa, DeBERTa-v2, DistilBERT, ELECTRA, ModernBERT, a saved
  ``T5EncoderModel``, ...): ``AutoModel`` (or the encoder class the folder names), pooled at the
  ``first`` token (CLS-style; ``mean`` for T5-style encoders, which have no CLS), padded on the right;
* **encoder-decoder** (T5, BART, ...): ``AutoModel``; the encoder's states by default (pooled by
  ``mean``), the decoder's when the reference ends in ``:decoder`` (``FOLDER:decoder``, pooled at the
  ``last`` token): the decoder reads the same tokens after its start token, so its state at token
  ``t`` has read tokens ``0..t``, as a causal LM's does.

BERT-like types that transformers also maps to a causal-LM head (BERT, RoBERTa, ELECTRA) are
encoders unless their config says ``is_decoder``. Imports of transformers happen on use, deliberately
(this module is read while arguments are checked).
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from predgen_common.errors import UserError

KINDS = ("decoder", "encoder", "encoder-decoder")
STACKS = ("encoder", "decoder")
SUPPORTED = ("decoder-only models (gpt2, llama, qwen2, mistral, ...), encoders (bert, roberta, deberta-v2, "
             "distilbert, electra, modernbert, ...) and encoder-decoders (t5, bart, ...)")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model", "spm.model")
# T5-style encoders have no CLS token: the mean of the tokens is their usual sentence state.
NO_CLS_TYPES = ("t5", "mt5", "umt5", "longt5")


@dataclass(frozen=True)
class Architecture:
    """How a model's states are read: ``kind`` (decoder | encoder | encoder-decoder), ``stack`` whose
    states are read (encoder | decoder), ``auto_class`` that loads it, default ``pooling`` and ``padding_side``."""

    model_type: str
    kind: str
    stack: str
    auto_class: str
    pooling: str
    padding_side: str
    depth: int | None = None  # layers of the stack read, from the config (None: known once loaded)

    @property
    def generates(self) -> bool:
        """Whether generated-token states can be read (decoder-only models)."""
        return self.kind == "decoder"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DECODER = Architecture("llama", "decoder", "decoder", "AutoModelForCausalLM", "last", "left")


def split_stack(ref: str) -> tuple[str, str | None]:
    """``"FOLDER:decoder"`` -> ``("FOLDER", "decoder")``; a reference without a stack suffix -> ``(ref, None)``."""
    head, sep, tail = str(ref).rpartition(":")
    if sep and tail in STACKS and head:
        return head, tail
    return str(ref), None


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[frozenset, frozenset, frozenset, frozenset, Path | None]:
    """The model types of transformers' causal-LM, masked-LM, base-model and seq2seq tables, read from the
    source of ``transformers.models.auto.modeling_auto`` without importing it (importing transformers
    imports torch: seconds, and arguments are checked before that), plus the package's ``models`` folder."""
    spec = importlib.util.find_spec("transformers")
    try:
        root = Path(list(spec.submodule_search_locations)[0]) / "models"  # type: ignore[union-attr]
        text = (root / "auto" / "modeling_auto.py").read_text()

        def keys(name: str) -> frozenset:
            start = text.index(f"\n{name} = OrderedDict(")
            return frozenset(re.findall(r'^\s*\("([\w.-]+)",', text[start:text.index("\n)\n", start)], re.M))

        return (keys("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"), keys("MODEL_FOR_MASKED_LM_MAPPING_NAMES"),
                keys("MODEL_MAPPING_NAMES"), keys("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES"), root)
    except (AttributeError, IndexError, OSError, TypeError, ValueError):  # another layout: import the tables
        from transformers.models.auto import modeling_auto as m

        return (frozenset(m.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES), frozenset(m.MODEL_FOR_MASKED_LM_MAPPING_NAMES),
                frozenset(m.MODEL_MAPPING_NAMES), frozenset(m.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES), None)


def read_config(name: str) -> dict[str, Any]:
    """The ``config.json`` of a local folder as a dict (no transformers import); a hub id's through
    transformers (``OSError`` when offline or unreachable)."""
    file = Path(name) / "config.json"
    if Path(name).is_dir():
        try:
            config = json.loads(file.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"{file} cannot be read as JSON ({err}); copy the model folder again") from None
        if not isinstance(config, dict):
            raise UserError(f"{file} is not a JSON object; copy the model folder again")
        return config
    from transformers import AutoConfig  # a hub id: transformers' own resolution (cache, revision, offline)

    return AutoConfig.from_pretrained(name, trust_remote_code=False).to_dict()


def _unknown(model_type: str, where: str, root: Path | None) -> UserError:
    known = root is not None and (root / model_type.replace("-", "_")).is_dir()
    if known:
        return UserError(f"{where} is a {model_type!r} model, which has no text hidden states to read (no base or "
                         f"causal-LM model class in transformers); pass one of the {SUPPORTED}")
    version = importlib.metadata.version("transformers")
    return UserError(f"{where} has model_type {model_type!r}, which transformers {version} does not know; "
                     f"pass one of the {SUPPORTED}, or upgrade transformers")


def classify(config: dict[str, Any], stack: str | None = None, where: str = "the model") -> Architecture:
    """The :class:`Architecture` of a ``config.json`` dict; ``stack`` picks an encoder-decoder's (default: encoder)."""
    causal, masked, base, seq2seq, root = _tables()
    model_type = str(config.get("model_type") or "?")
    named = [a for a in (config.get("architectures") or []) if str(a).endswith("EncoderModel")]
    enc_dec = config.get("is_encoder_decoder", model_type in seq2seq)
    if model_type not in causal | base:
        raise _unknown(model_type, where, root)
    if named:  # a saved encoder stack alone (T5EncoderModel): load the class it names
        arch = Architecture(model_type, "encoder", "encoder", named[0], "mean", "right")
    elif enc_dec:
        chosen = stack or "encoder"
        arch = Architecture(model_type, "encoder-decoder", chosen, "AutoModel",
                            "mean" if chosen == "encoder" else "last", "right")
    elif model_type in causal and (model_type not in masked or config.get("is_decoder", False)):
        arch = Architecture(model_type, "decoder", "decoder", "AutoModelForCausalLM", "last", "left")
    else:
        arch = Architecture(model_type, "encoder", "encoder", "AutoModel",
                            "mean" if model_type in NO_CLS_TYPES else "first", "right")
    if stack and stack != arch.stack:
        raise UserError(f"{where} is a {model_type!r} {arch.kind} model: it has no {stack} stack to read; "
                        f"drop ':{stack}' from the model reference")
    return replace(arch, depth=_depth(config, arch.stack if arch.kind == "encoder-decoder" else "encoder"))


_DEPTH_KEYS = {"encoder": ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "encoder_layers"),
               "decoder": ("num_decoder_layers", "decoder_layers", "num_layers", "num_hidden_layers")}


def _depth(config: dict[str, Any], stack: str) -> int | None:
    """The layers of ``stack`` as ``config.json`` states them (None when it names none)."""
    if stack == "encoder" and config.get("is_encoder_decoder") and isinstance(config.get("encoder_layers"), int):
        return int(config["encoder_layers"])
    return next((int(config[k]) for k in _DEPTH_KEYS[stack] if isinstance(config.get(k), int)), None)


def check_reads_tokens(model_class: Any, config: Any, model_type: str, where: str) -> None:
    """A class (an auto class: the one it builds for ``config``) whose forward takes no token ids (vision,
    audio) has no text states to read: one ``UserError``."""
    import inspect

    mapping = getattr(model_class, "_model_mapping", None)
    if mapping is not None and type(config) in mapping:
        model_class = mapping[type(config)]
    params = inspect.signature(model_class.forward).parameters
    if "input_ids" not in params:
        raise UserError(f"{where} is a {model_type!r} model ({model_class.__name__}), which reads no token ids: "
                        f"it has no text hidden states to read; pass one of the {SUPPORTED}")


def check_tokenizer(name: str, model_type: str) -> None:
    """A local folder must hold its tokenizer beside the model: one ``UserError`` line naming the fix."""
    folder = Path(name)
    if folder.is_dir() and not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise UserError(f"folder {name} holds a {model_type!r} model but no tokenizer (none of tokenizer.json, "
                        f"tokenizer_config.json, vocab.txt, ...); save it beside the model with "
                        f"tokenizer.save_pretrained({str(folder)!r})")


def cached_hub_architecture(repo_id: str, stack: str | None = None) -> Architecture | None:
    """A hub id's architecture from the config in the local hub cache (no network, no torch); None when
    the config is not cached."""
    from huggingface_hub import try_to_load_from_cache

    try:
        path = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id
        return None
    if not isinstance(path, str):
        return None
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return classify(config, stack, where=f"model {repo_id}")


def describe_model(name: str, stack: str | None = None) -> Architecture:
    """The architecture of a local folder or hub id from its config alone (no weights)."""
    return classify(read_config(name), stack, where=f"model {name}")
