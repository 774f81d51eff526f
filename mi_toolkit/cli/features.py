"""``mi estimate --features``: activations saved by numpy, safetensors or ``torch.save``.

Formats, chosen by the file's suffix (else by its first bytes):

- ``.npy``: one array;
- ``.npz`` (``np.savez``): the array named by ``--features-key``, else the one array that is not a
  mask, else the first of :data:`FEATURE_NAMES` present;
- ``.safetensors``: a tensor chosen the same way (BF16/F8 tensors are read through torch);
- ``.pt`` / ``.pth`` / ``.bin`` / ``.torch`` (``torch.save``): a tensor, or a dict of tensors chosen the
  same way; loaded with ``torch.load(weights_only=True)``, so no pickled code ever runs.

Features are ``(N, d)`` or ``(N, T, d)``; an ``(N, T)`` mask (``--mask-key``, else an array named
``mask`` or ``attention_mask``) marks the real tokens of padded ``(N, T, d)`` states. Everything
but a ``torch.save`` file is checked from its header (names, shapes, dtypes) before any array is
read and before torch is imported.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from predgen_common.errors import UserError
from predgen_core.preflight import safetensors_header

from mi_toolkit.validate import load_array

FEATURE_NAMES = ("features", "x", "z", "X", "Z", "activations", "hidden_states", "states")
MASK_NAMES = ("mask", "attention_mask")
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".torch")
SAFETENSORS_NUMPY = {"F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64", "I32": "int32",
                     "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
SAVE_HINT = "save a float array with numpy.save/np.savez, safetensors or torch.save"


@dataclass
class Entry:
    """One array of a file: its shape and dtype (a numpy name, or a safetensors one such as BF16)."""

    shape: tuple[int, ...]
    dtype: str


@dataclass
class FeatureFile:
    """The chosen features (and mask) of a file, known from its header; :meth:`load` reads them."""

    path: Path
    kind: str  # npy | npz | safetensors | torch
    key: Optional[str]
    mask_key: Optional[str]
    shape: tuple[int, ...]
    mask_shape: Optional[tuple[int, ...]]
    tensors: Optional[dict[str, Any]] = None  # a torch file's tensors, already loaded

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 0

    def load(self) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """``(features (N, d) or (N, T, d), mask (N, T) bool or None)``."""
        z = self._read(self.key)
        mask = None if self.mask_key is None else self._read(self.mask_key)
        if mask is not None:
            if not np.isin(np.unique(mask), (0, 1)).all():
                raise UserError(f"--features {self.path.name}: mask {self.mask_key!r} holds values other than 0/1; "
                                "pass a boolean (N, T) mask, True for real tokens")
            mask = mask.astype(bool)
        return z, mask

    def _read(self, key: Optional[str]) -> np.ndarray:
        if self.kind == "npy":
            return np.asarray(load_array(self.path, "features"))
        if self.kind == "npz":
            with np.load(self.path, allow_pickle=False) as archive:
                return np.asarray(archive[key])
        if self.kind == "safetensors":
            return _safetensors_array(self.path, key)
        return _tensor_numpy(self.tensors[key])


def inspect_features(path: Path, key: Optional[str] = None, mask_key: Optional[str] = None) -> FeatureFile:
    """The features and mask ``path`` holds, from its header: one :class:`UserError` line for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"features file {str(path)!r} not found; pass an existing .npy, .npz, .safetensors or .pt file")
    kind = _kind(path)
    if kind == "npy":
        if key is not None or mask_key is not None:
            raise UserError(f"--features {path.name} is a single .npy array; drop --features-key/--mask-key, or "
                            "pass an .npz, .safetensors or torch.save file of named arrays")
        arr = load_array(path, "features", mmap=True)
        return _checked(FeatureFile(path, kind, None, None, tuple(arr.shape), None), {"": Entry(arr.shape, arr.dtype.str)})
    tensors = None
    if kind == "npz":
        entries = _npz_entries(path)
    elif kind == "safetensors":
        header = safetensors_header(path)
        entries = {k: Entry(tuple(v.get("shape", ())), str(v.get("dtype"))) for k, v in header.items()
                   if k != "__metadata__"}
    else:
        tensors = _torch_tensors(path)
        entries = {k: Entry(tuple(t.shape), str(t.dtype).replace("torch.", "")) for k, t in tensors.items()}
    chosen, mask = _choose(path, entries, key, mask_key)
    out = FeatureFile(path, kind, chosen, mask, entries[chosen].shape,
                      entries[mask].shape if mask else None, tensors)
    return _checked(out, entries)


def _kind(path: Path) -> str:
    """npy | npz | safetensors | torch, from the suffix, else from the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz", ".safetensors"):
        return suffix[1:]
    if suffix in TORCH_SUFFIXES:
        return "torch"
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK"):
        return "torch" if _is_torch_zip(path) else "npz"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    return "npy"  # load_array names what it is not


def _is_torch_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("data.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _npz_entries(path: Path) -> dict[str, Entry]:
    """Names, shapes and dtypes of an ``.npz`` archive's arrays, from each member's header only."""
    try:
        with zipfile.ZipFile(path) as zf:
            entries = {}
            for name in zf.namelist():
                if name.endswith(".npy"):
                    with zf.open(name) as fh:
                        version = np.lib.format.read_magic(fh)
                        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                        shape, _, dtype = read(fh)
                    entries[name[:-4]] = Entry(tuple(shape), dtype.str)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise UserError(f"features file {str(path)!r} is not a readable .npz archive ({err}); {SAVE_HINT}") from None
    if not entries:
        raise UserError(f"features file {str(path)!r} holds no arrays; {SAVE_HINT}")
    return entries


def _torch_tensors(path: Path) -> dict[str, Any]:
    """A ``torch.save`` file's tensors as ``{name: tensor}`` (a lone tensor is named ``""``)."""
    if path.stat().st_size == 0:
        raise UserError(f"features file {str(path)!r} is empty; {SAVE_HINT}")
    with open(path, "rb") as fh:
        head = fh.read(2)
    if not (head.startswith(b"PK") and _is_torch_zip(path)) and not head.startswith(b"\x80"):
        raise UserError(f"features file {str(path)!r} is not a torch.save file; {SAVE_HINT}")
    import torch  # deliberate: only a torch.save file needs torch to be read

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a bad file; each is one line
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise UserError(f"features file {str(path)!r} cannot be read by torch.load(weights_only=True) ({reason}); "
                        "save a tensor or a dict of tensors, e.g. torch.save(cache['resid_post', 6], 'z.pt')") from None
    if isinstance(obj, torch.Tensor):
        return {"": obj}
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {str(k): v for k, v in obj.items()}
    raise UserError(f"features file {str(path)!r} holds a {type(obj).__name__}, not a tensor or a dict of tensors; "
                    "save e.g. torch.save({'features': z, 'mask': mask}, 'z.pt')")


def _choose(path: Path, entries: dict[str, Entry], key: Optional[str],
            mask_key: Optional[str]) -> tuple[str, Optional[str]]:
    """The features' name and the mask's (None when there is none)."""
    names = ", ".join(repr(n) for n in entries) or "none"
    for flag, given in (("--features-key", key), ("--mask-key", mask_key)):
        if given is not None and given not in entries:
            raise UserError(f"--features {path.name} has no array {given!r} (it holds {names}); pass {flag} "
                            "with one of those names")
    if mask_key is None:
        mask_key = next((m for m in MASK_NAMES if m in entries and m != key), None)
    if key is None:
        rest = [n for n in entries if n != mask_key]
        key = rest[0] if len(rest) == 1 else next((n for n in FEATURE_NAMES if n in rest), None)
        if key is None:
            raise UserError(f"--features {path.name} holds several arrays ({names}); pass --features-key NAME "
                            "to choose one")
    return key, mask_key


def _checked(f: FeatureFile, entries: dict[str, Entry]) -> FeatureFile:
    """Shapes and dtypes of the chosen arrays agree with (N, d) / (N, T, d) and an (N, T) mask."""
    what = f"--features {f.path.name}" + (f" [{f.key}]" if f.key else "")
    dtype = entries[f.key or ""].dtype
    if not _numeric_dtype(dtype):
        raise UserError(f"{what} has non-numeric dtype {dtype}; {SAVE_HINT}")
    if not 1 <= len(f.shape) <= 3 or 0 in f.shape:
        raise UserError(f"{what} has shape {f.shape}; pass (N, d) or (N, T, d) features with T, d > 0 "
                        "(e.g. one layer of a cache)")
    if f.mask_key is not None:
        if len(f.shape) != 3:
            raise UserError(f"{what} has shape {f.shape} with a mask {f.mask_key!r}; a mask goes with (N, T, d) "
                            "token states: drop it, or pass the unpooled states")
        if f.mask_shape != f.shape[:2]:
            raise UserError(f"{what} has shape {f.shape} but its mask {f.mask_key!r} has shape {f.mask_shape}; "
                            f"pass an (N, T) = {f.shape[:2]} mask")
    return f


def _numeric_dtype(dtype: str) -> bool:
    if dtype in SAFETENSORS_NUMPY or dtype.startswith(("BF16", "F8", "bfloat16", "float8")):
        return True
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return dtype.startswith(("float", "int", "uint", "bool"))
    return kind in "biuf"


def _safetensors_array(path: Path, key: str) -> np.ndarray:
    from safetensors import safe_open

    header = safetensors_header(path)
    if header[key].get("dtype") in SAFETENSORS_NUMPY:
        with safe_open(str(path), framework="numpy") as fh:
            return fh.get_tensor(key)
    with safe_open(str(path), framework="pt") as fh:  # BF16 / F8: numpy has no such dtype; torch reads it
        return _tensor_numpy(fh.get_tensor(key))


def _tensor_numpy(tensor: Any) -> np.ndarray:
    """A CPU tensor as numpy (half-precision kinds numpy lacks become float32)."""
    import torch

    t = tensor.detach().cpu()
    if t.dtype in (torch.bfloat16,) or "float8" in str(t.dtype):
        t = t.float()
    return t.numpy()


__all__ = ["FEATURE_NAMES", "MASK_NAMES", "FeatureFile", "inspect_features"]
