"""Hidden-state extraction: batched, padding-aware, streamed to disk, resumable, cached.

Two entry points, both reading states through ``predgen_core.methods.reading.forward_states``
(the project's one extraction path):

- :func:`extract_texts` works on any Hugging Face causal LM and tokenizer and a list of
  texts (this is what the tests drive with a tiny random Llama);
- :func:`extract` takes a predgen checkpoint folder and a dataset name, builds the
  prompts (and, for generator/predgen checkpoints, the generated target tokens) and
  caches the result by (checkpoint, dataset, split, layer) in the user cache.

On disk a result is a folder with ``manifest.json``, ``labels.npy`` and shards
``shard-00000/`` ... each holding

- ``tokens.npy``   float ``(T_s, d)``: every example's token states, concatenated;
- ``offsets.npy``  int64 ``(n_s + 1,)``: example ``j`` owns rows ``offsets[j]:offsets[j+1]``;
- ``n_prompt.npy`` int32 ``(n_s,)``: how many of those rows are prompt tokens (the rest,
  ``Z[n:n+m]``, are generated tokens);
- ``token_ids.npy`` int32 ``(T_s,)``;
- ``pooled.npy``   float ``(n_s, 3, d)``: first / mean / last over the prompt tokens.

A shard is written whole (temporary folder + rename) and only then listed in the
manifest, so a killed run resumes at the first missing shard and memory is bounded
by one shard, never by the dataset.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from predgen_core.errors import UserError
from predgen_core.io import atomic_dir, atomic_path, cache_dir, write_json_atomic
from predgen_core.methods.heads import POOLINGS
from predgen_core.methods.reading import check_layer, forward_states, prompt_ids

from mi_toolkit.states import checkpoints as ck

FORMAT_VERSION = 1


@dataclass
class ExtractConfig:
    """How to run the forward passes and store the states.

    layer: index into the model's hidden states (``0`` = embeddings, ``-1`` = last
        layer after the final norm, as ``output_hidden_states`` numbers them).
    batch_size: examples per forward pass.
    shard_size: examples per shard on disk (bounds peak memory).
    max_length: keep the last this many prompt tokens (None: no truncation).
    storage_dtype: ``float32`` or ``float16`` for the stored states.
    padding_side: ``right`` or ``left``; the states do not depend on it.
    """

    layer: int = -1
    batch_size: int = 16
    shard_size: int = 512
    max_length: int | None = None
    storage_dtype: str = "float32"
    padding_side: str = "right"

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.shard_size < 1:
            raise UserError("batch_size and shard_size must be at least 1")
        if self.storage_dtype not in ("float32", "float16"):
            raise UserError(f"storage_dtype must be float32 or float16, not {self.storage_dtype!r}")
        if self.padding_side not in ("left", "right"):
            raise UserError(f"padding_side must be left or right, not {self.padding_side!r}")


class HiddenStates:
    """Read-only view of an extraction folder (memory-mapped shards).

    Attributes: ``n`` examples, ``d`` features, ``labels`` ``(n,)``, ``manifest`` dict,
    ``used`` ("prompt" or "prompt+generated"): which tokens the full states cover.
    """

    def __init__(self, path: str | Path) -> None:
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

    def _shards(self) -> list[Path]:
        return [self.path / s["name"] for s in self.manifest["shards"]]

    def _load(self, shard: Path, name: str) -> np.ndarray:
        return np.load(shard / f"{name}.npy", mmap_mode="r")

    def pooled(self, kind: str = "last") -> np.ndarray:
        """Pooled states ``(n, d)`` (float32), ``kind`` in first/mean/last over prompt tokens."""
        if kind not in POOLINGS:
            raise UserError(f"unknown pooling {kind!r}; choose one of: {', '.join(POOLINGS)}")
        j = POOLINGS.index(kind)
        return np.concatenate([np.asarray(self._load(s, "pooled")[:, j], np.float32) for s in self._shards()])

    def lengths(self) -> np.ndarray:
        """Tokens per example ``(n,)`` (prompt + generated)."""
        return np.concatenate([np.diff(np.asarray(self._load(s, "offsets"))) for s in self._shards()])

    def n_prompt(self) -> np.ndarray:
        """Prompt tokens per example ``(n,)``."""
        return np.concatenate([np.asarray(self._load(s, "n_prompt")) for s in self._shards()])

    def iter_full(self) -> Iterator[np.ndarray]:
        """Yield each example's full states ``(n_i, d)`` in order, memory-mapped."""
        for shard in self._shards():
            tokens, offsets = self._load(shard, "tokens"), np.asarray(self._load(shard, "offsets"))
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
        return np.asarray(self._load(shard, "tokens")[offsets[i % size] : offsets[i % size + 1]])

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"HiddenStates(n={self.n}, d={self.d}, layer={self.manifest['layer']}, used={self.used!r}, path='{self.path}')"


def pool(states: np.ndarray, n_prompt: int) -> np.ndarray:
    """The prompt tokens pooled in ``POOLINGS`` order (first, mean, last): ``(n, d) -> (3, d)``."""
    prompt = states[:n_prompt]
    pooled = {"first": prompt[0], "mean": prompt.mean(axis=0), "last": prompt[-1]}
    return np.stack([pooled[g] for g in POOLINGS])


def _write_shard(out_dir: Path, name: str, states: list[np.ndarray], n_prompt: list[int],
                 ids: list[list[int]], dtype: str) -> None:
    with atomic_dir(out_dir / name) as tmp:
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in states])]).astype(np.int64)
        np.save(tmp / "tokens.npy", np.concatenate(states).astype(dtype))
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "n_prompt.npy", np.asarray(n_prompt, np.int32))
        np.save(tmp / "token_ids.npy", np.concatenate([np.asarray(i, np.int32) for i in ids]))
        np.save(tmp / "pooled.npy", np.stack([pool(s, n) for s, n in zip(states, n_prompt)]).astype(dtype))


def _fresh_manifest(out_dir: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The manifest to continue from: the existing one if it matches, else a clean folder."""
    path = out_dir / "manifest.json"
    if path.is_file():
        manifest = json.loads(path.read_text())
        if manifest.get("fingerprint") == fingerprint:
            return manifest
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"format": FORMAT_VERSION, "fingerprint": fingerprint, "complete": False, "shards": []}


def _progress(total: int, done: int, enabled: bool, description: str):
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   disable=not enabled, transient=False)
    task = bar.add_task(description, total=total, completed=done)
    return bar, task


def _check_inputs(model: Any, texts: Sequence[str], labels: Any, continuations: Any, config: ExtractConfig) -> np.ndarray:
    """The labels as an array ``(N,)`` (zeros when None), after checking the inputs agree."""
    check_layer(model, config.layer)
    if len(texts) == 0:
        raise UserError("no texts to extract; the dataset split is empty")
    if continuations is not None and len(continuations) != len(texts):
        raise ValueError("continuations must have one entry per text")
    labels_arr = np.asarray(labels if labels is not None else np.zeros(len(texts), np.int64))
    if len(labels_arr) != len(texts):
        raise ValueError("labels must have one entry per text")
    return labels_arr


def extract_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    out_dir: str | Path,
    *,
    labels: Sequence[int | float] | np.ndarray | None = None,
    continuations: Sequence[Sequence[int]] | None = None,
    config: ExtractConfig | None = None,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
) -> HiddenStates:
    """Extract hidden states of ``texts`` (plus optional continuation token ids) into ``out_dir``.

    ``continuations[i]`` are token ids appended after prompt ``i`` (a generator's
    generated target tokens); their states become ``Z[n:n+m]``. Re-running with the
    same arguments resumes a killed run and returns at once when it is complete.
    Returns a :class:`HiddenStates` over ``out_dir``.
    """
    config = config or ExtractConfig()
    labels_arr = _check_inputs(model, texts, labels, continuations, config)
    out_dir = Path(out_dir)
    fingerprint = {
        "config": asdict(config), "n_examples": len(texts), "meta": meta or {},
        "texts_sha": hashlib.sha256("\x1e".join(texts).encode()).hexdigest(),
        "continuations": continuations is not None,
    }
    manifest = _fresh_manifest(out_dir, fingerprint)
    if manifest["complete"]:
        return HiddenStates(out_dir)
    with atomic_path(out_dir / "labels.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, labels_arr)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    n_shards = -(-len(texts) // config.shard_size)
    done = {s["name"] for s in manifest["shards"]}
    bar, task = _progress(len(texts), len(done) * config.shard_size, progress, "extracting states")
    with bar:
        for k in range(n_shards):
            name = f"shard-{k:05d}"
            if name in done:
                continue
            lo, hi = k * config.shard_size, min(len(texts), (k + 1) * config.shard_size)
            d = _extract_shard(model, tokenizer, texts[lo:hi], continuations[lo:hi] if continuations else None,
                               config, pad_id, out_dir, name, lambda m: bar.advance(task, m))
            manifest["shards"].append({"name": name, "start": lo, "stop": hi})
            manifest["d"] = d
            write_json_atomic(out_dir / "manifest.json", manifest)
    manifest.update(
        complete=True, n_examples=len(texts), layer=config.layer, shard_size=config.shard_size,
        used="prompt+generated" if continuations is not None else "prompt", meta=meta or {},
    )
    write_json_atomic(out_dir / "manifest.json", manifest)
    return HiddenStates(out_dir)


def _extract_shard(model, tokenizer, texts, continuations, config, pad_id, out_dir, name, advance) -> int:
    prompts = prompt_ids(tokenizer, texts, config.max_length)
    seqs = [p + list(continuations[i]) if continuations else p for i, p in enumerate(prompts)]
    # Length-sorted batches waste less compute on padding; results go back in order.
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    states: list[np.ndarray | None] = [None] * len(seqs)
    for b in range(0, len(order), config.batch_size):
        idx = order[b : b + config.batch_size]
        rows = forward_states(model, [seqs[i] for i in idx], config.layer, pad_id, config.padding_side)
        for i, s in zip(idx, rows):
            states[i] = s.numpy()
        advance(len(idx))
    _write_shard(out_dir, name, states, [len(p) for p in prompts], seqs, config.storage_dtype)
    return int(states[0].shape[1])


@dataclass
class CheckpointSource:
    """What :func:`extract` reads: a checkpoint, a dataset split, a layer (the cache key)."""

    checkpoint: str
    dataset: str
    split: str
    layer: int = -1
    data_dir: str | None = None
    max_samples: int | None = None
    seed: int = 0
    generated: bool | None = None  # None: use generated tokens iff the method generates
    extra: dict[str, Any] = field(default_factory=dict)


def cache_key(source: CheckpointSource) -> str:
    """Stable hash of the source and of the checkpoint's manifest (so retraining invalidates it)."""
    ckpt = Path(source.checkpoint).resolve()
    stamp = ""
    if (ckpt / "manifest.json").is_file():
        stamp = hashlib.sha256((ckpt / "manifest.json").read_bytes()).hexdigest()
    blob = json.dumps({**asdict(source), "checkpoint": str(ckpt), "stamp": stamp}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_split(task: Any, split: str, *, data_dir: str | None = None, max_samples: int | None = None,
               seed: int = 0) -> list[Any]:
    """The examples of a split, as :func:`extract` reads them (a seeded subset with ``max_samples``)."""
    examples = task.load(split, data_dir=data_dir, max_samples=max_samples, seed=seed)
    if not examples:
        raise UserError(f"split {split!r} of {task.name!r} is empty; pick another split")
    return examples


def extract(
    checkpoint: str | Path | Any,
    dataset: str,
    split: str,
    layer: int = -1,
    *,
    data_dir: str | None = None,
    max_samples: int | None = None,
    seed: int = 0,
    generated: bool | None = None,
    config: ExtractConfig | None = None,
    cache: bool = True,
    out_dir: str | Path | None = None,
    progress: bool = True,
    examples: Sequence[Any] | None = None,
) -> HiddenStates:
    """Hidden states of a checkpoint on a dataset split, cached in the user cache.

    ``checkpoint`` is a checkpoint folder (or an already loaded checkpoint). For
    generator and predgen checkpoints the full states also cover the tokens the model
    generates after the prompt (``Z[n:n+m]``); ``HiddenStates.used`` says which.
    ``examples``: the examples to read instead of the seeded subset of ``split`` (e.g. a fit pool
    disjoint from the LM's training examples); their texts and labels are part of the cache key.
    """
    info = ck.describe(checkpoint)  # the manifest only: a cached result needs no weights
    task = ck.task_for(info, dataset)
    use_gen = ck.generates(info) if generated is None else generated
    resolved_data = data_dir or os.environ.get("MI_TOOLKIT_DATA")  # part of the cache key
    # caller-chosen examples (e.g. a fit pool disjoint from the LM's training set) are part of the key
    extra = {} if examples is None else {"examples_sha": hashlib.sha256(
        "\x1e".join(f"{e.text}\x1f{e.label}" for e in examples).encode()).hexdigest()}
    source = CheckpointSource(str(ck.checkpoint_path(checkpoint)), dataset, split, layer,
                              str(Path(resolved_data).resolve()) if resolved_data else None, max_samples, seed, use_gen,
                              extra)
    target = Path(out_dir) if out_dir else cache_dir("states", cache_key(source))
    if cache and (target / "manifest.json").is_file():
        try:
            return HiddenStates(target)
        except UserError:
            pass  # incomplete: resume below
    loaded = ck.load_checkpoint(checkpoint)
    config = config or ExtractConfig()
    config.layer = check_layer(loaded.model, layer)
    if config.max_length is None:
        config.max_length = ck.max_length(loaded)
    if examples is None:
        examples = load_split(task, split, data_dir=data_dir, max_samples=max_samples, seed=seed)
    prompts = [task.prompt(ex) for ex in examples]
    continuations = ck.generated_ids(loaded, prompts) if use_gen else None
    meta = {"checkpoint": source.checkpoint, "dataset": dataset, "split": split, "method": ck.method_name(loaded),
            "task_kind": task.kind, "max_samples": max_samples}
    return extract_texts(loaded.model, loaded.tokenizer, prompts, target, labels=[ex.label for ex in examples],
                         continuations=continuations, config=config, meta=meta, progress=progress)
