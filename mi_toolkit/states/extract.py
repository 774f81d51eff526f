"""Hidden-state extraction: batched by length, one pass per batch, streamed to disk, resumable, cached.

Two entry points, both reading states through ``predgen_core.methods.reading`` (the
project's one extraction path: ``forward_layers``, and ``decode_states`` for generated
tokens):

- :func:`extract_texts` works on any Hugging Face causal LM and tokenizer and a list of
  texts (this is what the tests drive with a tiny random Llama);
- :func:`extract` takes a model (a predgen checkpoint, a transformers folder, a registered
  name or a hub id: ``states.checkpoints``) and a dataset name, builds the prompts and
  caches the result by (model, dataset, split, layers) in the user cache;
  :func:`extract_layers` reads many layers in the same single pass (a layer sweep).

Batches are buckets of similar length (sorted, so little padding); results come back in
the original order. For generator/predgen checkpoints the generated tokens and their
states come from one KV-cached decoding pass, not a decoding pass and a second forward
pass. The layout on disk is ``states.store``'s; under ``accelerate launch`` the shards are
split across processes and merged into one folder (``states.distributed``).
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_common.io import atomic_path, cache_dir, write_json_atomic
from predgen_core.methods.reading import (DEFAULT_TOKEN_BUDGET, check_layer, decode_states, forward_layers,
                                          model_depth, prompt_ids_cut, token_budget)
from predgen_common.progress import Phase

from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states import distributed
from mi_toolkit.states.options import ExtractConfig, ExtractOptions, Generation, TextsOptions
from mi_toolkit.states.store import FORMAT_VERSION, HiddenStates, fresh_manifest, pool, shard_done, write_shard

__all__ = ["ExtractConfig", "ExtractOptions", "Generation", "HiddenStates", "TextsOptions", "extract", "extract_layers",
           "extract_texts", "load_split", "pool", "FORMAT_VERSION"]


@dataclass(frozen=True)
class _Rows:
    """Which rows of the split :func:`extract` reads (``load_split``'s arguments)."""

    data_dir: str | None = None
    max_samples: int | None = None
    seed: int = 0


def _progress(total: int, done: int, enabled: bool, description: str):
    """``(phase, task)`` for ``with phase: ... phase.advance(task, rows)`` (a bar on a terminal, else one line)."""
    phase = Phase(description, total=total, unit="rows", done=done, enabled=enabled)
    return phase, None


def _check_inputs(model: Any, texts: Sequence[str], labels: Any, continuations: Any, config: ExtractConfig) -> np.ndarray:
    """The labels as an array ``(N,)`` (zeros when None), after checking the inputs agree."""
    for layer in config.read_layers:
        check_layer(model, layer)
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
    config: ExtractConfig | None = None,
    progress: bool = True,
    options: TextsOptions | None = None,
) -> HiddenStates:
    """Extract hidden states of ``texts`` (plus optional continuation token ids) into ``out_dir``.

    ``options.continuations[i]`` are token ids appended after prompt ``i``; ``options.generate``
    instead has the model write them (greedy, one decoding pass that also yields their states).
    Their states become ``Z[n:n+m]``. Re-running with the same arguments resumes a killed
    run and returns at once when it is complete. Under ``accelerate launch`` each process
    writes its share of the shards. Returns a :class:`HiddenStates` over ``out_dir``.
    """
    config = config or ExtractConfig()
    options = options or TextsOptions()
    continuations, generate = options.continuations, options.generate
    if continuations is not None and generate is not None:
        raise ValueError("pass continuations or generate, not both")
    labels_arr = _check_inputs(model, texts, labels, continuations, config)
    config = replace(config, max_length=config.max_length or token_budget(model))  # a budget for every model
    out_dir, ranks = Path(out_dir), distributed.current()
    if ranks.device is not None:
        model = model.to(ranks.device)
    shard_size = min(config.shard_size, -(-len(texts) // ranks.world))  # every process gets work
    meta = {**(options.meta or {}), "architecture": architecture_of(model)}  # auto class, stack, pooling, padding side
    fingerprint = {
        "config": {**config.result_fields(), "shard_size": shard_size}, "n_examples": len(texts), "meta": meta,
        "texts_sha": rows_sha(texts, labels_arr.tolist()),
        "continuations": continuations is not None, "generate": asdict(generate) if generate else None,
    }
    manifest = _open(out_dir, fingerprint, labels_arr, ranks)
    if manifest["complete"]:
        return HiddenStates(out_dir)
    n_shards = -(-len(texts) // shard_size)
    todo = [k for k in ranks.mine(n_shards) if not shard_done(out_dir, f"shard-{k:05d}")]
    bar, task = _progress(sum(min(len(texts), (k + 1) * shard_size) - k * shard_size for k in todo), 0,
                          progress and ranks.main, "extracting states")
    cut = 0
    with bar:
        for k in todo:
            lo, hi = k * shard_size, min(len(texts), (k + 1) * shard_size)
            part = replace(options, continuations=continuations[lo:hi] if continuations else None)
            cut += _extract_shard(model, tokenizer, texts[lo:hi], part, config, out_dir, f"shard-{k:05d}",
                                  lambda m: bar.advance(task, m))
    if cut:
        print(f"note: {cut} of {sum(min(len(texts), (k + 1) * shard_size) - k * shard_size for k in todo)} rows were "
              f"longer than {config.max_length} tokens and were cut to their last {config.max_length}", file=sys.stderr)
    ranks.barrier()
    if ranks.main:
        used = "prompt+generated" if continuations is not None or generate is not None else "prompt"
        _finish(out_dir, manifest, shard_size, len(texts), config, used, {**meta, "processes": ranks.world},
                model_depth(model))
    ranks.barrier()
    return HiddenStates(out_dir)


def architecture_of(model: Any) -> dict[str, Any]:
    """What the states are read from: the auto class, model class, stack, default pooling and padding side
    (``load_base_model`` records it; a model built otherwise is described by its class)."""
    arch = getattr(model, "architecture", None)
    if isinstance(arch, dict) and arch:
        return dict(arch)
    return {"kind": "decoder", "stack": "decoder", "model_class": type(model).__name__, "pooling": "last"}


def _check_generates(info: Any, arch: dict[str, Any] | None, use_gen: bool) -> None:
    """Generated-token states exist for decoder-only models only: one ``UserError`` line otherwise."""
    arch = arch or {}
    if use_gen and arch.get("kind", "decoder") != "decoder":
        raise UserError(f"model {ck.identity(info)[0]} is a {arch.get('model_type')!r} {arch['kind']} model: it "
                        "writes no tokens, so it has no generated-token states; read its prompt states "
                        "(generated=False, the default for a plain model) or pass a decoder-only model")


def _open(out_dir: Path, fingerprint: dict[str, Any], labels: np.ndarray, ranks: distributed.Ranks) -> dict[str, Any]:
    """The manifest to continue from; the main process clears a stale folder and writes the labels first."""
    if ranks.main:
        manifest = fresh_manifest(out_dir, fingerprint)
        if not manifest["complete"]:
            write_json_atomic(out_dir / "manifest.json", manifest)
            with atomic_path(out_dir / "labels.npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, labels)
    ranks.barrier()
    return manifest if ranks.main else fresh_manifest(out_dir, fingerprint, clear=False)


def _finish(out_dir: Path, manifest: dict[str, Any], shard_size: int, n: int, config: ExtractConfig, used: str,
            meta: dict[str, Any], depth: int) -> None:
    """List every shard of ``n`` rows (written by whichever process) and mark the folder complete."""
    names = [f"shard-{k:05d}" for k in range(-(-n // shard_size))]
    missing = [x for x in names if not shard_done(out_dir, x)]
    if missing:
        raise RuntimeError(f"shards {missing} were not written; run the extraction again to resume it")
    d = int(np.load(out_dir / names[0] / "pooled.npy", mmap_mode="r").shape[-1])
    manifest.update(
        format=FORMAT_VERSION, complete=True, n_examples=n, d=d, layer=config.layer, layers=config.read_layers,
        keep_tokens=config.keep_tokens, n_layers=depth, shard_size=shard_size, used=used, meta=meta,
        shards=[{"name": x, "start": k * shard_size, "stop": min(n, (k + 1) * shard_size)} for k, x in enumerate(names)],
    )
    write_json_atomic(out_dir / "manifest.json", manifest)


def _extract_shard(model: Any, tokenizer: Any, texts: Sequence[str], part: TextsOptions, config: ExtractConfig,
                   out_dir: Path, name: str, advance: Any) -> int:
    """Extract one shard (``part``: the options with the shard's continuations); returns how many of its
    rows were cut to the token budget."""
    continuations, generate = part.continuations, part.generate
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoder = architecture_of(model).get("kind", "decoder") != "decoder"  # a cut row keeps its CLS
    prompts, cut = prompt_ids_cut(tokenizer, texts, config.max_length, keep_first_special=encoder)
    seqs = [p + list(continuations[i]) if continuations else p for i, p in enumerate(prompts)]
    # Length-sorted buckets waste little compute on padding; results go back in input order.
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i])) if config.sort_by_length else list(range(len(seqs)))
    states: list[np.ndarray | None] = [None] * len(seqs)
    for b in range(0, len(order), config.batch_size):
        idx = order[b : b + config.batch_size]
        rows = [seqs[i] for i in idx]
        if generate is not None:
            out = decode_states(model, rows, config.read_layers, pad_id, generate.max_new_tokens, generate.eos_id)
            for i, (gen, _) in zip(idx, out):
                seqs[i] = seqs[i] + gen
            got = [s for _, s in out]
        else:
            got = forward_layers(model, rows, config.read_layers, pad_id, config.padding_side)
        for i, s in zip(idx, got):
            states[i] = s.numpy().transpose(1, 0, 2)  # (L, n, d) -> (n, L, d)
        advance(len(idx))
    write_shard(out_dir, name, states, [len(p) for p in prompts], seqs, config.storage_dtype, config.keep_tokens)
    return cut


@dataclass
class CheckpointSource:
    """What :func:`extract` reads, by content (the cache key): a model, the rows of a dataset split, the layers.

    ``checkpoint`` names the model (a folder's absolute path, a registered name or a hub
    id); ``stamp`` changes when the model behind that name does (manifest, weight bytes, base
    model); ``rows_sha`` hashes the prompts and labels actually read (so a rewritten data file is a
    miss, wherever the data folder is); ``config`` the extraction settings that change the states.
    """

    checkpoint: str
    dataset: str
    split: str
    layer: int | list[int] = -1
    rows_sha: str = ""
    generated: bool | None = None  # None: use generated tokens iff the method generates
    extra: dict[str, Any] = field(default_factory=dict)
    stamp: str = ""
    config: dict[str, Any] = field(default_factory=dict)


def cache_key(source: CheckpointSource) -> str:
    """Stable hash of the source, the model's stamp and the rows' content included."""
    blob = json.dumps(asdict(source), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def rows_sha(texts: Sequence[str], labels: Sequence[Any]) -> str:
    """SHA-256 of the rows as read: each text with its label."""
    h = hashlib.sha256()
    for text, label in zip(texts, labels):
        h.update(f"{text}\x1f{label!r}\x1e".encode())
    return h.hexdigest()


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
    options: ExtractOptions | None = None,
) -> HiddenStates:
    """Hidden states of a model on a dataset split at ``layer``, cached in the user cache.

    ``checkpoint``: a checkpoint folder, a transformers folder, a registered model name, a
    hub id (``states.checkpoints``) or an already loaded model. For generator and predgen
    checkpoints the full states also cover the tokens the model generates after the prompt
    (``Z[n:n+m]``, from the same decoding pass); ``HiddenStates.used`` says which.
    ``data_dir``, ``max_samples``, ``seed``: the seeded subset of ``split`` read (:func:`load_split`);
    ``options``: other examples, generated tokens, settings, folder, progress (:class:`ExtractOptions`).
    """
    return _extract(checkpoint, dataset, split, [layer], True, _Rows(data_dir, max_samples, seed), options)


def extract_layers(checkpoint: str | Path | Any, dataset: str, split: str, layers: Sequence[int], *,
                   keep_tokens: bool = False, options: ExtractOptions | None = None, **rows: Any) -> HiddenStates:
    """States of every layer in ``layers`` from ONE forward pass per batch, in one cached folder.

    Returns a :class:`HiddenStates` at ``layers[0]``; ``.at(layer)`` reads another. By
    default only the pooled states are stored (``keep_tokens=True``: every token's, ``L``
    times the disk space). ``rows`` (``data_dir``, ``max_samples``, ``seed``) and ``options`` as
    :func:`extract`.
    """
    if not layers:
        raise UserError("no layers to extract; pass at least one layer index")
    return _extract(checkpoint, dataset, split, list(layers), keep_tokens, _Rows(**rows), options)


def _extract(checkpoint: Any, dataset: str, split: str, layers: list[int], keep_tokens: bool, rows: _Rows,
             options: ExtractOptions | None) -> HiddenStates:
    opts = options or ExtractOptions()
    info = ck.describe(checkpoint)  # the manifest only: a cached result needs no weights
    task = ck.task_for(info, dataset)
    use_gen = ck.generates(info) if opts.generated is None else opts.generated
    _check_generates(info, getattr(info, "architecture", None), use_gen)
    examples = opts.examples
    if examples is None:  # the rows are read before the cache is looked at: their content is part of the key
        examples = load_split(task, split, data_dir=rows.data_dir, max_samples=rows.max_samples, seed=rows.seed)
    texts, labels = [task.prompt(ex) for ex in examples], [ex.label for ex in examples]
    config = replace(opts.config or ExtractConfig())  # a copy: the caller's is not filled in
    ref, stamp = ck.identity(info)
    source = CheckpointSource(ref, dataset, split, layers[0] if len(layers) == 1 else layers, rows_sha(texts, np.asarray(labels).tolist()),
                              use_gen, {} if keep_tokens else {"pooled_only": True}, stamp,
                              {"max_length": config.max_length, "storage_dtype": config.storage_dtype,
                               "default_budget": DEFAULT_TOKEN_BUDGET})
    target = Path(opts.out_dir) if opts.out_dir else cache_dir("states", cache_key(source))
    if opts.cache and (target / "manifest.json").is_file():
        try:
            states = HiddenStates(target)
            if states.manifest.get("fingerprint", {}).get("texts_sha") == source.rows_sha:
                return states  # else other rows (an --out-dir reused): extract_texts starts the folder afresh
        except UserError:
            pass  # incomplete: resume below
    loaded = ck.load_checkpoint(checkpoint)
    config.layer = check_layer(loaded.model, layers[0])
    config.layers = tuple(check_layer(loaded.model, x) for x in layers) if len(layers) > 1 else None
    config.keep_tokens = keep_tokens
    if config.max_length is None:
        config.max_length = ck.max_length(loaded)
    _check_generates(info, architecture_of(loaded.model), use_gen)  # a hub id's architecture is known now
    generate = Generation(ck.max_new_tokens(loaded), loaded.tokenizer.eos_token_id) if use_gen else None
    meta = {"checkpoint": ref, "dataset": dataset, "split": split, "method": ck.method_name(loaded),
            "task_kind": task.kind, "max_samples": rows.max_samples}
    return extract_texts(loaded.model, loaded.tokenizer, texts, target, labels=labels, config=config,
                         progress=opts.progress, options=TextsOptions(generate=generate, meta=meta))
