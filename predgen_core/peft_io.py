"""The files each PEFT method writes into a checkpoint folder, and how it reads them back.

Each :class:`~predgen_core.peft_methods.PeftSpec` names a ``save(model, folder,
base_model)`` and a ``load(model, folder)``; the functions here are the three
layouts in use:

* peft's own (``lora``, ``adalora``, ``dora``): ``model.save_pretrained(folder)``
  writes ``adapter_config.json`` + ``adapter_model.safetensors``, so
  ``PeftModel.from_pretrained(base, folder)`` opens the LM without this project;
* a transformers model folder (``full``): ``config.json`` + ``model.safetensors``
  (``AutoModelForCausalLM.from_pretrained(folder)`` opens it);
* one safetensors file of the spec's own state dict (``rocoft``, which peft does
  not know): ``adapter.safetensors``, the layout every method used before format 2.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors.torch import load_file, save_file

from predgen_common.errors import UserError
from predgen_core.models import base_model_reference, registered_name

PEFT_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = "adapter_model.safetensors"
STATE_FILE = "adapter.safetensors"  # the single-file layout (RoCoFT; every method in format 1)
FULL_WEIGHTS = "model.safetensors"
_ADAPTER = "default"


def plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous, unshared copies: safetensors refuses tensors that share storage (tied embeddings)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def _not_fitting(folder: Path, base_model: str | None, err: Exception) -> UserError:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    # torch lists every mismatch under a generic first line; the first mismatch says enough
    detail = next((ln for ln in lines if "mismatch" in ln), lines[0] if lines else type(err).__name__)[:200]
    trained_on = f" was trained on base model {base_model!r} and" if base_model else ""
    return UserError(f"the adapter in {folder}{trained_on} does not fit the base model loaded for it ({detail}); "
                     "load it on the base model it was trained on")


# --------------------------------------------------------------------------- peft's layout


def peft_base_model(folder: str | Path) -> str | None:
    """The base model a peft ``adapter_config.json`` names (None when absent): a registered model's cached
    folder as its registered name (``tiny-llama``), anything else as written."""
    file = Path(folder) / PEFT_CONFIG
    if not file.is_file():
        return None
    try:
        return registered_name(json.loads(file.read_text()).get("base_model_name_or_path"))
    except ValueError:
        raise UserError(f"{file} is not valid JSON; the checkpoint is damaged, retrain it") from None


def rewrite_base_reference(folder: str | Path, base_model: str) -> bool:
    """Point an older ``adapter_config.json`` (which named a registered model, e.g. ``smollm2-135m``) at
    :func:`~predgen_core.models.base_model_reference`; True when rewritten. The file is replaced atomically."""
    from predgen_common.io import write_text_atomic

    file = Path(folder) / PEFT_CONFIG
    if not file.is_file():
        return False
    try:
        config = json.loads(file.read_text())
    except ValueError:
        raise UserError(f"{file} is not valid JSON; the checkpoint is damaged, retrain it") from None
    ref = base_model_reference(base_model)
    if config.get("base_model_name_or_path") == ref:
        return False
    write_text_atomic(file, json.dumps({**config, "base_model_name_or_path": ref}, indent=2, sort_keys=True) + "\n")
    return True


def _fully_pruned(model: Any) -> dict[str, list[bool]]:
    pattern = getattr(model.peft_config[_ADAPTER], "rank_pattern", None) or {}
    return {k: v for k, v in pattern.items() if isinstance(v, list) and v and not any(v)}


def keep_one_rank(pattern: dict[str, list[bool]] | None) -> dict[str, list[bool]] | None:
    """AdaLoRA's rank pattern with one (zero-valued) rank kept where every rank was pruned.

    peft (0.21) flags zero-sized ``lora_A``/``lora_B`` tensors as unsharded ZeRO-3/FSDP
    exports; a module pruned to rank 0 would be saved as exactly that. Keeping rank 0 with
    its singular value at zero computes the same function (the module adds nothing) and
    saves 1-row tensors that load cleanly.
    """
    if not pattern:
        return pattern
    return {k: ([True] + list(v[1:]) if v and not any(v) else list(v)) for k, v in pattern.items()}


@contextmanager
def _savable_rank_pattern(model: Any) -> Iterator[None]:
    """Swap in :func:`keep_one_rank`'s pattern (and zero the kept singular values) while saving."""
    config = model.peft_config[_ADAPTER]
    pruned = _fully_pruned(model)
    if not pruned:
        yield
        return
    original = config.rank_pattern
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    for key in pruned:
        parts = [p for p in key.split(".") if p != _ADAPTER]
        e = model.base_model.model.get_submodule(".".join(parts[:-1])).lora_E[_ADAPTER]
        kept.append((e, e.detach()[0].clone()))
        with torch.no_grad():
            e[0].zero_()
    config.rank_pattern = keep_one_rank(original)
    try:
        yield
    finally:
        config.rank_pattern = original
        with torch.no_grad():
            for e, value in kept:
                e[0].copy_(value)


def peft_state(model: Any) -> dict[str, torch.Tensor]:
    """peft's adapter state dict, shaped as :func:`save_peft` saves it (pruned AdaLoRA ranks as in the manifest)."""
    from peft import get_peft_model_state_dict

    with _savable_rank_pattern(model):
        return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def save_peft(model: Any, folder: Path, base_model: str | None = None) -> None:
    """``model.save_pretrained(folder)``: peft's ``adapter_config.json`` + ``adapter_model.safetensors``.

    The config names the base as transformers can open it offline, so
    ``AutoPeftModelForCausalLM.from_pretrained(folder)`` works: a registered model's cached folder (absolute
    path; a dequantised GGUF has no hub id with the same weights), a local folder's absolute path, else the
    hub id (``models.base_model_reference``). The manifest keeps the registered name.
    """
    if base_model:
        model.peft_config[_ADAPTER].base_model_name_or_path = base_model_reference(base_model)
    with _savable_rank_pattern(model):
        # False: we never resize the vocabulary, and "auto" would look the base model up on the hub
        model.save_pretrained(str(folder), save_embedding_layers=False)
    (Path(folder) / "README.md").unlink(missing_ok=True)  # peft's empty model card template


def load_peft(model: Any, folder: Path) -> None:
    """Load peft's adapter files into ``model`` (built by ``apply_peft`` with the same config)."""
    from peft import set_peft_model_state_dict
    from peft.utils import load_peft_weights

    if not (folder / PEFT_WEIGHTS).is_file():
        raise UserError(f"{folder} has no {PEFT_WEIGHTS}; the checkpoint is incomplete, retrain it")
    state = load_peft_weights(str(folder), device="cpu")
    try:
        result = set_peft_model_state_dict(model, state)
    except (RuntimeError, ValueError, KeyError) as err:
        raise _not_fitting(folder, peft_base_model(folder), err) from None
    if result.unexpected_keys:
        raise _not_fitting(folder, peft_base_model(folder), ValueError(f"unexpected {result.unexpected_keys[:3]}"))


# --------------------------------------------------------------------------- single-file and full-model layouts


def tensor_file_io(state_dict: Callable[[Any], dict[str, Any]], load_state: Callable[[Any, dict[str, Any]], None]):
    """(save, load) writing ``state_dict(model)`` to ``adapter.safetensors`` and reading it back."""

    def save(model: Any, folder: Path, base_model: str | None = None) -> None:
        save_file(plain(state_dict(model)), str(folder / STATE_FILE), metadata={"format": "pt"})

    def load(model: Any, folder: Path) -> None:
        if not (folder / STATE_FILE).is_file():
            raise UserError(f"{folder} has no {STATE_FILE}; the checkpoint is incomplete, retrain it")
        load_state(model, load_file(str(folder / STATE_FILE)))

    return save, load


def save_full(model: Any, folder: Path, base_model: str | None = None) -> None:
    """The whole LM as a transformers folder (``config.json`` + ``model*.safetensors``)."""
    model.save_pretrained(str(folder))


def load_full(model: Any, folder: Path, load_state: Callable[[Any, dict[str, Any]], None]) -> None:
    """Read :func:`save_full`'s shards and load them with ``load_state`` (which checks the keys)."""
    shards = sorted(folder.glob("model*.safetensors"))
    if not shards:
        raise UserError(f"{folder} has no {FULL_WEIGHTS}; the checkpoint is incomplete, retrain it")
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        state.update(load_file(str(shard)))
    try:
        load_state(model, state)
    except RuntimeError as err:
        raise _not_fitting(folder, None, err) from None
