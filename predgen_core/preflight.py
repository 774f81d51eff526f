"""Checks that run before any model loads: files, manifests, weight headers, data, options, outputs.

A bad input should be answered in about a second, with one line and no progress bar,
not after seconds of loading weights. Each check raises a one-line :class:`UserError`
that names the problem and the way out; none of them reads tensor data.

- :func:`safetensors_header`: a ``.safetensors`` file's header (8-byte little-endian
  length + JSON), and the byte count it implies against the file's size, so a copy cut
  short or a file of another kind is caught without loading it.
- :func:`check_model_folder`: every ``*.json`` parses and every ``*.safetensors`` header
  is whole; for a predgen checkpoint (``manifest.json``) also the manifest, the weight
  files its layout needs and the head its method needs.
- :func:`check_split`: the data of one split reads and is not empty (the task's own reader).
- :func:`check_output`, :func:`check_output_dir`: an output path can be written, before the work.
- :func:`check_peft_options`: ``--peft-option`` keys and value types against the PEFT
  method's settings (types from the defaults, else from the method's config dataclass).

Import-light on purpose (no torch, no transformers): the CLI calls it first.
"""
from __future__ import annotations

import importlib
import json
import os
import struct
import tempfile
import typing
from pathlib import Path
from typing import Any, Sequence

from predgen_common.errors import UserError

# safetensors refuses headers above 100 MB; a larger length means the file is not one
MAX_HEADER = 100_000_000
# peft's own file names (predgen_core.peft_io uses the same) and the checkpoint's
MANIFEST, HEAD_FILE = "manifest.json", "head.safetensors"
PEFT_CONFIG, PEFT_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
STATE_FILE, FULL_CONFIG, FULL_WEIGHTS = "adapter.safetensors", "config.json", "model.safetensors"
RECOPY = "copy it again or retrain it"


def safetensors_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of a ``.safetensors`` file, after checking the file holds every byte it names."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise UserError(f"{path} is empty or truncated ({size} bytes); {RECOPY}")
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > MAX_HEADER:
            raise UserError(f"{path} is not a safetensors file (its header length reads {length} bytes); {RECOPY}")
        if length > size - 8:
            raise UserError(f"{path} is truncated ({size} bytes, its header alone needs {length + 8}); {RECOPY}")
        raw = fh.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict):
        raise UserError(f"{path} has a corrupt safetensors header (not a JSON object); {RECOPY}")
    expected = 8 + length + _data_end(path, header)
    if size < expected:
        raise UserError(f"{path} is truncated ({size} of {expected} bytes); {RECOPY}")
    if size > expected:
        raise UserError(f"{path} is corrupt ({size - expected} bytes after its last tensor); {RECOPY}")
    return header


def _data_end(path: Path, header: dict[str, Any]) -> int:
    """The end of the data buffer the header's tensors claim (bytes after the header)."""
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise UserError(f"{path} has a corrupt safetensors header (tensor {name!r}); {RECOPY}")
        end = max(end, offsets[1])
    return end


def read_json_file(path: str | os.PathLike, what: str = "") -> Any:
    """A JSON file's content; a :class:`UserError` when it is empty, cut short or not JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not valid JSON{what} (not UTF-8 text); {RECOPY}") from None
    except OSError as err:
        raise UserError(f"{path} cannot be read ({err.strerror}); check its permissions") from None
    if not text.strip():
        raise UserError(f"{path} is empty; {RECOPY}")
    try:
        return json.loads(text)
    except ValueError as err:
        raise UserError(f"{path} is not valid JSON{what} ({str(err).splitlines()[0]}); {RECOPY}") from None


def check_model_folder(path: str | os.PathLike) -> dict[str, Any] | None:
    """Check a model folder's files without loading them; returns the manifest of a predgen checkpoint.

    Every ``*.json`` must parse and every ``*.safetensors`` must be whole (:func:`safetensors_header`).
    A folder with ``manifest.json`` must also hold the files its layout needs. Anything that is
    not a folder is left to the caller (a registered name or a hub id is not a path).
    """
    path = Path(path)
    if check_folder_files(path) is None:
        return None
    from predgen_core.checkpoint_io import read_manifest  # its own checks: keys, format (imports torch)

    manifest = read_manifest(path)
    _check_layout(path, manifest)
    return manifest


def check_folder_files(path: str | os.PathLike) -> dict[str, Any] | None:
    """The light half of :func:`check_model_folder` (no torch): every ``*.json`` parses, every
    ``*.safetensors`` is whole; returns the manifest's JSON (unchecked) of a folder that has one."""
    path = Path(path)
    if not path.is_dir():
        return None
    for f in sorted(path.iterdir()):
        if f.suffix == ".json" and f.is_file():
            read_json_file(f)
        elif f.suffix == ".safetensors" and f.is_file():
            safetensors_header(f)
    if not (path / MANIFEST).is_file():
        return None
    manifest = read_json_file(path / MANIFEST)
    return manifest if isinstance(manifest, dict) else {}


def _check_layout(path: Path, manifest: dict[str, Any]) -> None:
    """The weight files a checkpoint needs are there (by what is present: each layout has a config and weights)."""
    if manifest.get("format", 1) < 2:
        needed = [STATE_FILE]
    else:
        pairs = [(PEFT_CONFIG, PEFT_WEIGHTS), (FULL_CONFIG, FULL_WEIGHTS)]
        needed = [w for c, w in pairs if (path / c).is_file()] + [c for c, w in pairs if (path / w).is_file()]
        if not needed and not (path / STATE_FILE).is_file():
            raise UserError(f"{path} has no weight files ({PEFT_WEIGHTS}, {STATE_FILE} or {FULL_WEIGHTS}); "
                            f"the checkpoint is incomplete, {RECOPY}")
    adapter_config = path / PEFT_CONFIG
    if adapter_config.is_file() and not isinstance(read_json_file(adapter_config), dict):
        raise UserError(f"{adapter_config} is not a JSON object; {RECOPY}")
    if adapter_config.is_file() and "peft_type" not in read_json_file(adapter_config):
        raise UserError(f"{adapter_config} has no peft_type; it is not a peft adapter config, {RECOPY}")
    from predgen_core.methods import METHODS

    if METHODS.get(manifest["method"]).has_head:
        needed.append(HEAD_FILE)
    missing = [n for n in needed if not (path / n).is_file()]
    if missing:
        raise UserError(f"{path} has no {', '.join(missing)}; the checkpoint is incomplete, {RECOPY}")


def check_split(task: Any, split: str, data_dir: str | None = None, max_samples: int | None = None,
                seed: int = 0) -> int:
    """Read one split through the task (missing, empty, malformed files raise); returns its size."""
    if max_samples is not None and max_samples < 1:
        raise UserError(f"--max-samples must be at least 1, got {max_samples}")
    try:
        examples = task.load(split, data_dir=data_dir, max_samples=max_samples, seed=seed)
    except UnicodeDecodeError as err:  # a binary or damaged file where text is expected
        raise UserError(f"the {split!r} data of {task.name!r} is not UTF-8 text ({err.reason} at byte {err.start}); "
                        f"check the {task.name} files under --data-dir") from None
    if not examples:
        raise UserError(f"split {split!r} of {task.name!r} is empty; point --data-dir at a non-empty file")
    return len(examples)


def _nearest_existing(path: Path) -> Path:
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _probe_writable(folder: Path, target: Path, flag: str) -> None:
    """Create and remove a temporary file in ``folder`` (the only test that also holds for root)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".predgen-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise UserError(f"{flag} {target} cannot be written ({folder}: {err.strerror}); "
                        "choose a writable path") from None


def check_output(path: str | os.PathLike | None, flag: str = "--json",
                 inputs: Sequence[str | os.PathLike | None] = ()) -> None:
    """``path`` can be written as a file (its folder exists or can be made, and takes files) and
    would not overwrite one of ``inputs`` (files, or folders such as a checkpoint or a data folder)."""
    if path is None:
        return
    path = Path(path).expanduser()
    check_not_input(path, flag, inputs)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; pass a file path, e.g. {path / 'result.json'}")
    if path.exists() and not path.is_file():
        raise UserError(f"{flag} {path} is not a regular file (a device or pipe); pass a file path")
    folder = _nearest_existing(path.parent)
    if not folder.is_dir():
        raise UserError(f"{flag} {path} cannot be written: {folder} is a file, not a folder; choose another path")
    _probe_writable(folder, path, flag)


# the files a checkpoint or a data folder is read from (a report written into such a folder is not one)
_READ_NAMES = {"manifest.json", "config.json", "adapter_config.json", "generation_config.json", "tokenizer.json",
               "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "train_config.json"}
_READ_SUFFIXES = {".safetensors", ".bin", ".tsv", ".jsonl", ".csv", ".parquet", ".npy", ".npz", ".pt"}


def _read_by_commands(path: Path) -> bool:
    return path.name in _READ_NAMES or path.suffix.lower() in _READ_SUFFIXES


def check_not_input(path: Path, flag: str, inputs: Sequence[str | os.PathLike | None]) -> None:
    """Refuse an output that is an input file, an existing file inside an input folder, or an input folder."""
    out = Path(os.path.realpath(path))
    for given in inputs:
        if given is None or not os.path.exists(given):
            continue
        source = Path(os.path.realpath(Path(given).expanduser()))
        inside = source.is_dir() and out.is_relative_to(source) and out.is_file() and _read_by_commands(out)
        if out == source or inside:
            raise UserError(f"{flag} {path} would overwrite an input ({given}); nothing was written; "
                            "choose another output path")


def check_output_dir(path: str | os.PathLike | None, flag: str = "--output-dir") -> None:
    """``path`` can be made (or is) a folder that takes files."""
    if path is None:
        return
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file; pass a folder path")
    folder = _nearest_existing(path)
    if not folder.is_dir():
        raise UserError(f"{flag} {path} cannot be made: {folder} is a file, not a folder; choose another path")
    _probe_writable(folder, path, flag)


def check_positive(flag: str, value: float | None, minimum: float = 1) -> None:
    if value is not None and value < minimum:
        raise UserError(f"{flag} must be at least {minimum:g}, got {value:g}")


# --------------------------------------------------------------------------- PEFT settings


def check_peft_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked against PEFT method ``method``'s settings; returns them normalised.

    Keys: the method's defaults (a :class:`UserError` names the valid ones). Types: the
    default's type (a float setting takes an int; a list setting takes ``a,b,c``), or,
    for a setting whose default is ``None``, the annotation of the method's config
    dataclass (``PeftSpec.options_type``). Ranges: no setting is negative; an integer
    setting with a positive default (a rank, a count) is at least 1; a float setting with
    a default in [0, 1) (a probability) stays in [0, 1].
    """
    from predgen_core.peft_methods import PEFT_METHODS

    spec = PEFT_METHODS.get(method)
    valid = ", ".join(spec.defaults) or "none"
    out = {}
    for key, value in options.items():
        if key not in spec.defaults:
            raise UserError(f"PEFT method {method!r} has no setting {key!r}; use one of its settings: {valid}")
        out[key] = _check_value(spec, key, value, valid)
    return out


def _check_value(spec: Any, key: str, value: Any, valid: str) -> Any:
    default = spec.defaults[key]
    if isinstance(default, (list, tuple)) and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    hint = type(default) if default is not None else _annotation(spec, key)
    if value is None and default is None:
        return value
    if hint is not None and not _conforms(value, hint):
        raise UserError(f"--peft-option {key}={json.dumps(value)} must be {_type_name(hint)} "
                        f"({spec.name}'s {key}, default {json.dumps(default)}); pass one, e.g. "
                        f"--peft-option {key}={json.dumps(default)}; settings: {valid}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = 1 if isinstance(default, int) and not isinstance(default, bool) and default > 0 else 0
        high = 1 if isinstance(default, float) and 0 <= default < 1 else None
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UserError(f"--peft-option {key}={value} is out of range; pass a value {span} ({spec.name}'s {key}, "
                            f"default {default})")
    return value


def _annotation(spec: Any, key: str) -> Any:
    ref = getattr(spec, "options_type", None)
    if not ref:
        return None
    module, _, name = ref.partition(":")
    cls = getattr(importlib.import_module(module), name)
    return typing.get_type_hints(cls).get(key)


def _conforms(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, list) and (not args or all(_conforms(v, args[0]) for v in value))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation this check does not model: peft decides


def _type_name(hint: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list (a,b,c)",
             dict: "a JSON object"}
    if hint in names:
        return names[hint]
    if typing.get_origin(hint) in names:
        return names[typing.get_origin(hint)]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return " or ".join(_type_name(a) for a in args) if args else str(hint)


def check_checkpoint_inputs(path: str | os.PathLike, dataset: str | None = None, splits: tuple[str, ...] = (), *,
                            data_dir: str | None = None, max_samples: int | None = None, seed: int = 0) -> Any:
    """A predgen checkpoint's files, its task against ``dataset`` and the data of ``splits``; returns the data
    folder to read (``data_dir``, else the one the checkpoint was trained from, else None: the one lookup).

    What ``predgen evaluate/predict/convert`` check before loading: the folder is a
    checkpoint (:func:`check_model_folder`), a dataset of another kind or class count is
    refused from the manifest (``compatible_task``), and each split reads.
    """
    check_checkpoint_folder(path)  # a missing folder or manifest: answered before torch loads
    check_folder_files(path)  # JSON that does not parse, weights cut short: the same
    from predgen_core.checkpoint_io import read_manifest
    from predgen_core.data import remembered_data_dir
    from predgen_core.tasks import TASKS, compatible_task

    manifest = check_model_folder(path) or read_manifest(path)  # read_manifest names a missing folder/manifest
    task = compatible_task(TASKS.get(manifest["task"]), dataset, Path(path))
    data_dir = data_dir or remembered_data_dir(manifest)
    for split in dict.fromkeys(splits):
        check_split(task, split, data_dir, max_samples, seed)
    return data_dir


def check_checkpoint_folder(path: str | os.PathLike) -> None:
    """A checkpoint folder that is missing or has no manifest: one line, before anything imports torch
    (the same words as :func:`predgen_core.checkpoint_io.read_manifest`, which checks the rest)."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"checkpoint folder {path} does not exist; pass the --output-dir of a finished `predgen train`")
    if not (path / MANIFEST).is_file():
        raise UserError(f"{path} is not a predgen checkpoint (no {MANIFEST}); "
                        "pass the --output-dir of a finished `predgen train`")


def check_model_ref(ref: str | os.PathLike) -> None:
    """A ``--model`` that is written as a local path but does not exist: one line before torch loads.

    A path is absolute, starts with ``.`` or ``~``, has two or more ``/``, ends with ``/``, or is
    ``dir/name`` under a folder that exists here; anything else may be a registered name or a hub id
    (``org/name``) and is left to ``mi_toolkit.states.checkpoints.resolve``. A ``:encoder`` /
    ``:decoder`` suffix is not part of the path."""
    text = str(ref)
    base = text.rsplit(":", 1)[0] if text.endswith((":encoder", ":decoder")) else text
    path = Path(base).expanduser()
    if path.exists():
        return
    parent = base.split("/", 1)[0]
    local = (path.is_absolute() or base.startswith((".", "~")) or base.count("/") > 1 or base.endswith("/")
             or (base.count("/") == 1 and Path(parent).is_dir()))
    if local:
        raise UserError(f"model folder {text} does not exist; pass a `predgen train` output folder, a "
                        "save_pretrained folder, a registered model name (predgen list) or a hub id")
