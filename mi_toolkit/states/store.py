"""Extracted states on disk: the shard layout, its writer and the read-only :class:`HiddenStates` view.

A result is a folder with ``manifest.json``, ``labels.npy`` and shards ``shard-00000/`` ...
each holding (``L`` = the layers read in the one forward pass, 1 for a plain extraction):

- ``tokens.npy``   float ``(T_s, L, d)``: every example's token states, concatenated
  (absent when the extraction kept pooled states only, as a layer sweep does);
- ``offsets.npy``  int64 ``(n_s + 1,)``: example ``j`` owns rows ``offsets[j]:offsets[j+1]``;
- ``n_prompt.npy`` int32 ``(n_s,)``: how many of those rows are prompt tokens (the rest,
  ``Z[n:n+m]``, are generated tokens);
- ``token_ids.npy`` int32 ``(T_s,)``;
- ``pooled.npy``   float ``(n_s, L, 3, d)``: first / mean / last over the prompt tokens.

A shard is written whole (temporary folder + rename), so a shard folder that exists is
complete: a killed run, or another process of a distributed run, resumes at the shards
still missing. Format 1 (one layer, no layer axis) still reads.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_common.io import atomic_dir
from predgen_core.methods.heads import POOLINGS

FORMAT_VERSION = 2


class HiddenStates:
    """Read-only view of an extraction folder (memory-mapped shards), at one layer.

    Attributes: ``n`` examples, ``d`` features, ``labels`` ``(n,)``, ``manifest`` dict,
    ``used`` ("prompt" or "prompt+generated"): which tokens the full states cover;
    ``layers``: every layer the folder holds; ``layer``: the one this view reads
    (:meth:`at` gives a view at another).
    """

    def __init__(self, path: str | Path, layer: int | None = None) -> None:
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            raise UserError(f"{self.path} holds no extracted states (no manifest.json); run extract first")
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if not self.manifest.get("complete"):
            raise UserError(f"extraction in {self.path} is incomplete; run extract again to resume it")
        self.n: int = int(self.manifest["n_examples"])
        self.d: int = int(self.manifest["d"])
        self.used: str = self.manifest["used"]
        self.labels: np.ndarray = np.load(self.path / "labels.npy")
        self.layers: list[int] = list(self.manifest.get("layers", [self.manifest["layer"]]))
        self._axis = self.manifest.get("format", 1) >= 2  # format 1 has no layer axis
        self._li = self._index(self.layers[0] if layer is None else layer)
        self.layer: int = self.layers[self._li]

    def _index(self, layer: int) -> int:
        depth = self.manifest.get("n_layers")

        def norm(x: int) -> int:  # -1 is the last of depth + 1 outputs
            return x + depth + 1 if depth is not None and x < 0 else x

        for i, stored in enumerate(self.layers):
            if norm(layer) == norm(stored):
                return i
        raise UserError(f"layer {layer} was not extracted into {self.path} (it holds {self.layers}); "
                        "extract that layer first")

    def at(self, layer: int) -> "HiddenStates":
        """The same folder read at another of its layers."""
        return HiddenStates(self.path, layer)

    def _shards(self) -> list[Path]:
        return [self.path / s["name"] for s in self.manifest["shards"]]

    def _load(self, shard: Path, name: str) -> np.ndarray:
        return np.load(shard / f"{name}.npy", mmap_mode="r")

    def _tokens(self, shard: Path) -> np.ndarray:
        if not (shard / "tokens.npy").is_file():
            raise UserError(f"{self.path} kept pooled states only (a layer sweep); extract the layer on its own "
                            "for token states")
        tokens = self._load(shard, "tokens")
        return tokens[:, self._li] if self._axis else tokens

    def pooled(self, kind: str = "last") -> np.ndarray:
        """Pooled states ``(n, d)`` (float32), ``kind`` in first/mean/last over prompt tokens."""
        if kind not in POOLINGS:
            raise UserError(f"unknown pooling {kind!r}; choose one of: {', '.join(POOLINGS)}")
        j = POOLINGS.index(kind)
        parts = []
        for s in self._shards():
            pooled = self._load(s, "pooled")
            parts.append(np.asarray(pooled[:, self._li, j] if self._axis else pooled[:, j], np.float32))
        return np.concatenate(parts)

    def lengths(self) -> np.ndarray:
        """Tokens per example ``(n,)`` (prompt + generated)."""
        return np.concatenate([np.diff(np.asarray(self._load(s, "offsets"))) for s in self._shards()])

    def n_prompt(self) -> np.ndarray:
        """Prompt tokens per example ``(n,)``."""
        return np.concatenate([np.asarray(self._load(s, "n_prompt")) for s in self._shards()])

    def iter_full(self) -> Iterator[np.ndarray]:
        """Yield each example's full states ``(n_i, d)`` in order, memory-mapped."""
        for shard in self._shards():
            tokens, offsets = self._tokens(shard), np.asarray(self._load(shard, "offsets"))
            for a, b in zip(offsets[:-1], offsets[1:]):
                yield tokens[a:b]

    def iter_token_ids(self) -> Iterator[np.ndarray]:
        """Yield each example's token ids ``(n_i,)`` in order."""
        for shard in self._shards():
            ids, offsets = self._load(shard, "token_ids"), np.asarray(self._load(shard, "offsets"))
            for a, b in zip(offsets[:-1], offsets[1:]):
                yield np.asarray(ids[a:b])

    def full(self, i: int) -> np.ndarray:
        """Full states ``(n_i, d)`` of example ``i``."""
        if not 0 <= i < self.n:
            raise IndexError(i)
        size = int(self.manifest["shard_size"])
        shard = self._shards()[i // size]
        offsets = self._load(shard, "offsets")
        return np.asarray(self._tokens(shard)[offsets[i % size] : offsets[i % size + 1]])

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (f"HiddenStates(n={self.n}, d={self.d}, layer={self.layer}, layers={len(self.layers)}, "
                f"used={self.used!r}, path='{self.path}')")


def pool(states: np.ndarray, n_prompt: int) -> np.ndarray:
    """The prompt tokens pooled in ``POOLINGS`` order (first, mean, last): ``(n, ..., d) -> (..., 3, d)``."""
    prompt = states[:n_prompt]
    pooled = {"first": prompt[0], "mean": prompt.mean(axis=0), "last": prompt[-1]}
    return np.stack([pooled[g] for g in POOLINGS], axis=-2)


def write_shard(out_dir: Path, name: str, states: Sequence[np.ndarray], n_prompt: Sequence[int],
                ids: Sequence[Sequence[int]], dtype: str, keep_tokens: bool = True) -> None:
    """Write one shard whole; ``states[j]`` is example ``j``'s ``(n_j, L, d)``."""
    with atomic_dir(out_dir / name, keep_existing=True) as tmp:  # same key, same content
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in states])]).astype(np.int64)
        if keep_tokens:
            np.save(tmp / "tokens.npy", np.concatenate(states).astype(dtype))
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "n_prompt.npy", np.asarray(n_prompt, np.int32))
        np.save(tmp / "token_ids.npy", np.concatenate([np.asarray(i, np.int32) for i in ids]))
        np.save(tmp / "pooled.npy", np.stack([pool(s, n) for s, n in zip(states, n_prompt)]).astype(dtype))


def fresh_manifest(out_dir: Path, fingerprint: dict[str, Any], clear: bool = True) -> dict[str, Any]:
    """The manifest to continue from: the existing one if its fingerprint matches, else a clean
    folder (``clear=False``: only read, for the processes of a distributed run that are not the main one)."""
    path = out_dir / "manifest.json"
    if path.is_file():
        manifest = json.loads(path.read_text())
        if manifest.get("fingerprint") == fingerprint:
            return manifest
        if clear:
            shutil.rmtree(out_dir)
    if clear:
        out_dir.mkdir(parents=True, exist_ok=True)
    return {"format": FORMAT_VERSION, "fingerprint": fingerprint, "complete": False, "shards": []}


def shard_done(out_dir: Path, name: str) -> bool:
    """A shard folder exists only once written whole (atomic rename)."""
    return (out_dir / name / "pooled.npy").is_file()
