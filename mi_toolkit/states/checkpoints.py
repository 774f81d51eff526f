"""The one place mi_toolkit touches models: predgen checkpoints and plain Hugging Face models.

``--model`` (and every ``checkpoint`` argument of ``mi_toolkit.states`` / ``measures``) is
resolved here through ``MODEL_KINDS``, tried in registration order:

- ``checkpoint``: a folder written by ``predgen train`` (``manifest.json``);
- ``transformers folder``: a folder written by ``save_pretrained`` (``config.json``);
- ``registered model``: a name in ``predgen_core.models.MODELS`` (``smollm2-135m``, ``tiny-llama``);
- ``hub id``: anything else shaped like ``org/name``, loaded through transformers' hub code path.

A folder or hub id loads through the auto class that fits its config (decoder-only, encoder or
encoder-decoder: ``predgen_core.architectures``); ``FOLDER:decoder`` reads an encoder-decoder's decoder
(default: its encoder). ``ModelInfo.architecture`` says which class, stack, pooling and padding side,
from the config alone.

A plain model (the last three) has no task and no method of its own: its states come from
the prompt as the task of ``--dataset`` formats it, and it generates nothing. Another kind
of model is one more ``MODEL_KINDS.register``.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from predgen_core.checkpoint_io import read_manifest
from predgen_common.errors import UserError
from predgen_core.methods import METHODS
from predgen_common.registry import Registry
from predgen_core.tasks import TASKS, compatible_task

PLAIN_METHOD = "base"  # the method name a plain model reports (no fine-tuning by this project)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_FIX = ("pass a `predgen train` output folder, a `save_pretrained` folder, a registered model "
        "({names}) or a hub id such as HuggingFaceTB/SmolLM2-135M")


@dataclass
class ModelInfo:
    """What a model reference is, read without loading weights.

    ``ref``: absolute folder path, registered name or hub id; ``stamp``: changes when the model
    behind ``ref`` does (manifest or weight files), so cached states are not reused wrongly;
    ``task``: the Task a checkpoint was trained on (None for a plain model).
    """

    kind: str
    ref: str
    stamp: str
    method: str = PLAIN_METHOD
    task: Any = None
    manifest: dict = field(default_factory=dict)
    pooling: str = "last"
    generates: bool = False
    architecture: dict = field(default_factory=lambda: _arch().DECODER.to_dict())

    @property
    def path(self) -> Path:
        return Path(self.ref)


@dataclass
class PlainModel:
    """A loaded plain causal LM with the attributes mi_toolkit reads from a ``LoadedCheckpoint``."""

    path: Path
    model: Any
    tokenizer: Any
    manifest: dict
    task: Any = None
    method: str = PLAIN_METHOD
    pooling: str = "last"
    generates: bool = False
    max_length: int | None = None
    architecture: dict = field(default_factory=dict)

    def generate_targets(self, prompts: list[str], batch_size: int = 16, max_new_tokens: int = 8) -> list[list[int]]:
        """Greedy continuations (token ids, EOS included)."""
        reading = importlib.import_module("predgen_core.methods.reading")
        return reading.generate_ids(self.model, self.tokenizer, prompts, max_new_tokens, batch_size=batch_size)


@dataclass(frozen=True)
class ModelKind:
    """One kind of ``--model``: ``matches(ref)``, ``describe(ref) -> ModelInfo`` (no weights), ``load(info)``."""

    name: str
    description: str
    matches: Callable[[str], bool]
    describe: Callable[[str], ModelInfo]
    load: Callable[[ModelInfo], Any]


MODEL_KINDS: Registry[ModelKind] = Registry("model kind")


def _arch() -> Any:
    return importlib.import_module("predgen_core.architectures")


def _models() -> Any:
    # Imported on use, deliberately: predgen_core.models is light, but keeps mi_toolkit's import graph as it was.
    return importlib.import_module("predgen_core.models")


def _checkpoint_stamp(path: Path, manifest: dict) -> str:
    """The content a checkpoint's states come from: manifest, trained weights (bytes) and the base model's identity."""
    h = hashlib.sha256((path / "manifest.json").read_bytes())
    for p in sorted(path.glob("*.safetensors")):
        h.update(f"{p.name}:{_models().file_digest(p)}".encode())
    h.update(_models().model_identity(str(manifest["base_model"])).encode())
    return h.hexdigest()


def _describe_checkpoint(ref: str) -> ModelInfo:
    path = Path(ref).resolve()
    manifest = read_manifest(path)
    return ModelInfo("checkpoint", str(path), _checkpoint_stamp(path, manifest),
                     manifest["method"], TASKS.get(manifest["task"]), manifest, manifest.get("pooling", "last"),
                     METHODS.get(manifest["method"]).generative)


def _load_checkpoint(info: ModelInfo) -> Any:
    # Imported on use, deliberately: loading weights needs transformers (seconds), and
    # a cached extraction needs only the manifest.
    loaded = importlib.import_module("predgen_core.checkpoint").load(info.path)
    merge_for_inference(loaded.model)
    return loaded


def _load_plain(info: ModelInfo) -> PlainModel:
    model, tok = importlib.import_module("predgen_core.models").load_base_model(info.ref)
    arch = dict(getattr(model, "architecture", None) or info.architecture)
    return PlainModel(info.path, model, tok, {"model": info.ref, "kind": info.kind, "architecture": arch},
                      pooling=arch["pooling"], architecture=arch)


def _describe_plain(kind: str, ref: str, stamp: str) -> ModelInfo:
    """A plain model's info; a folder's (or a reachable hub id's) architecture is read from its config."""
    arch = _arch().DECODER
    if kind != "registered":
        base, stack = _arch().split_stack(ref)
        if kind == "transformers-folder":
            arch = _arch().describe_model(base, stack)
            _arch().check_tokenizer(base, arch.model_type)
        else:
            arch = _arch().cached_hub_architecture(base, stack) or arch  # not cached: known once loaded
    return ModelInfo(kind, ref, stamp, pooling=arch.pooling, architecture=arch.to_dict())


def _registered() -> list[str]:
    return importlib.import_module("predgen_core.models").MODELS.list()


def _folder_ref(ref: str) -> str:
    """A folder reference as an absolute path, its ``:encoder``/``:decoder`` suffix kept."""
    base, stack = _arch().split_stack(ref)
    return str(Path(base).resolve()) + (f":{stack}" if stack else "")


def _folder_stamp(ref: str) -> str:
    base, stack = _arch().split_stack(ref)
    return _models().folder_identity(base) + (f":{stack}" if stack else "")


def _is_folder(ref: str) -> bool:
    return (Path(_arch().split_stack(ref)[0]) / "config.json").is_file()


def _is_hub_id(ref: str) -> bool:
    base = _arch().split_stack(ref)[0]
    return bool(HUB_ID.match(base)) and not Path(base).exists() and base.count("/") <= 1


MODEL_KINDS.register("checkpoint")(ModelKind(
    "checkpoint", "a folder written by `predgen train` (manifest.json)",
    lambda ref: (Path(ref) / "manifest.json").is_file(), _describe_checkpoint, _load_checkpoint))
MODEL_KINDS.register("transformers-folder")(ModelKind(
    "transformers-folder", "a folder written by save_pretrained (config.json; FOLDER:decoder for a decoder stack)",
    _is_folder, lambda ref: _describe_plain("transformers-folder", _folder_ref(ref), _folder_stamp(ref)),
    _load_plain))
MODEL_KINDS.register("registered")(ModelKind(
    "registered", "a name in predgen_core.models.MODELS",
    lambda ref: ref in _registered(), lambda ref: _describe_plain("registered", ref, _models().model_identity(ref)),
    _load_plain))
MODEL_KINDS.register("hub-id")(ModelKind(
    "hub-id", "a Hugging Face hub id (org/name), loaded through transformers",
    _is_hub_id, lambda ref: _describe_plain("hub-id", ref, ref), _load_plain))


def _is_loaded(checkpoint: Any) -> bool:
    return hasattr(checkpoint, "model") and hasattr(checkpoint, "tokenizer")


def resolve(model: Any) -> ModelInfo:
    """The kind and identity of a model reference (str or Path); one ``UserError`` line if it is none."""
    ref = str(model)
    for name in MODEL_KINDS.list():
        kind = MODEL_KINDS.get(name)
        if kind.matches(ref):
            return kind.describe(ref)
    fix = _FIX.format(names=", ".join(_registered()))
    if Path(ref).is_dir():
        raise UserError(f"folder {ref} holds neither a checkpoint (manifest.json) nor a transformers model "
                        f"(config.json); {fix}")
    raise UserError(f"model {ref!r} does not exist as a folder and is not a registered name or hub id; {fix}")


def checkpoint_path(checkpoint: Any) -> Path:
    """The folder (or, for a registered name or hub id, the name) of a model given as a reference or loaded."""
    path = Path(getattr(checkpoint, "path", checkpoint))
    return path.resolve() if path.exists() else path


_LOADED: dict[tuple[str, str], Any] = {}


def load_checkpoint(checkpoint: Any) -> Any:
    """A loaded model: a ``LoadedCheckpoint`` or a :class:`PlainModel` (once per process; a loaded one passes)."""
    if _is_loaded(checkpoint):
        return checkpoint
    info = resolve(checkpoint)
    key = (info.kind, info.ref)
    if key not in _LOADED:
        _LOADED.clear()  # one model in memory at a time
        _LOADED[key] = MODEL_KINDS.get(info.kind).load(info)
    return _LOADED[key]


def default_pooling(model: Any) -> str:
    """The pooling a model's architecture reads by default (last for decoders, first for encoders): from
    the loaded model when it is loaded (a hub id whose config is not cached), else from its config."""
    if not _is_loaded(model):
        info = resolve(model)
        model = _LOADED.get((info.kind, info.ref), info)
    return str(model.pooling)


def depth(model: Any) -> int:
    """Layers of the stack whose states are read: from the config when it states them (no weights loaded,
    so a layer out of range is answered at once), else from the loaded model."""
    if not _is_loaded(model):
        stated = (resolve(model).architecture or {}).get("depth")
        if stated:
            return int(stated)
    return int(load_checkpoint(model).model.config.num_hidden_layers)


def merge_for_inference(model: Any) -> bool:
    """Fold a PEFT adapter's weights into the base weights in place; True when merged.

    The toolkit only reads states and attributions, and on CPU an unmerged LoRA costs
    measurably more per forward pass (benchmarks/bench_merge.py). peft
    methods that cannot merge keep their adapter: the same states, only slower.
    """
    merge = getattr(model, "merge_adapter", None)
    if merge is None:
        return False
    try:
        merge()
    except (ValueError, NotImplementedError):
        return False
    return True


def describe(checkpoint: Any) -> Any:
    """What a model is (kind, method, task, pooling, manifest, stamp) without loading any weights.

    A loaded model is returned as is.
    """
    return checkpoint if _is_loaded(checkpoint) else resolve(checkpoint)


def identity(info: Any) -> tuple[str, str]:
    """``(ref, stamp)`` naming the model in a cache key (a loaded checkpoint: its folder and manifest hash)."""
    if isinstance(info, ModelInfo):
        return info.ref, info.stamp
    ref = str(checkpoint_path(info))
    return ref, hashlib.sha256(json.dumps(getattr(info, "manifest", {}), sort_keys=True, default=str).encode()).hexdigest()


def task_for(loaded: Any, dataset: str | None) -> Any:
    """The dataset's task; for a checkpoint, after checking it matches the kind (and classes) it was trained for."""
    if loaded.task is None:
        if not dataset:
            raise UserError(f"model {checkpoint_path(loaded)} was not trained on a task; pass --dataset")
        return TASKS.get(dataset)
    return compatible_task(loaded.task, dataset, checkpoint_path(loaded))


def generates(loaded: Any) -> bool:
    """True for checkpoints whose method is registered as generative (generator, predgen); False for plain models."""
    return bool(getattr(loaded, "generates", False))


def method_name(loaded: Any) -> str:
    return str(getattr(loaded, "method", "unknown"))


def max_length(loaded: Any) -> int:
    """The prompt tokens a row keeps: the length a checkpoint was trained with, else the model's budget
    (``min(max positions, 512)``; 512 when only the manifest is at hand)."""
    manifest = getattr(loaded, "manifest", {}) or {}
    trained = manifest.get("training", {}).get("max_length")
    if trained:
        return int(trained)
    reading = importlib.import_module("predgen_core.methods.reading")
    return reading.token_budget(getattr(loaded, "model", None))


def max_new_tokens(loaded: Any) -> int:
    """How many tokens a generative checkpoint writes after the prompt (its manifest's, else 8)."""
    return int((getattr(loaded, "manifest", {}) or {}).get("max_new_tokens", 8))


def generated_ids(loaded: Any, prompts: list[str], batch_size: int = 16) -> list[list[int]]:
    """Greedy continuations (token ids, EOS included) whose states are ``Z[n:n+m]``."""
    return [list(map(int, ids)) for ids in loaded.generate_targets(prompts, batch_size=batch_size)]
