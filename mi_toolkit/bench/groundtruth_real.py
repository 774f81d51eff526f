"""Ground truth on real LM states: the ``mi bench --real`` tasks.

``Z`` are real hidden states of a base model (default ``smollm2-135m``, last layer) of a
few thousand sentences (SST-2 train from the shared data folder; the ``polarity`` task
when that folder is absent), in two forms:

* ``last``:   ``(N, d)``, the last token's state;
* ``window``: ``(N, W, d)``, the states of the first ``W`` tokens (sentences with at
  least ``W`` tokens only).

They are generated on first use into the user cache (fp16, written atomically) and
never committed. Each task makes a label ``U = f(Z)`` deterministically from the states
and passes it through a symmetric noisy channel of known error ``eps`` over ``C``
classes (:func:`channel_truth` gives the exact ``I(Y; Z)``); :func:`real_suite` lists the
tasks, :meth:`RealTask.make` builds one. The runner (grid baseline, estimators, summary) is
:mod:`mi_toolkit.bench.real`.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_common.io import atomic_path, cache_dir, portable_path, write_json_atomic

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_N = 2500
WINDOW = 10
STATES_FORMAT = 1


@dataclass
class RealStates:
    """Real LM states of ``N`` sentences.

    ``last``: fp16 ``(N, d)``; ``window``: fp16 ``(N, W, d)`` (the first ``W`` tokens);
    ``meta``: model, layer, corpus, sentence hash (how the states were obtained).
    """

    last: np.ndarray
    window: np.ndarray
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.last)


def _sst2_sentences(data_dir: Path) -> list[str]:
    with open(data_dir / "sst2" / "train.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"].strip() for r in rows if r.get("sentence")]


def default_data_dir() -> Path | None:
    """The first local data root of the one data lookup (``$MI_TOOLKIT_DATA``, else ``../shared/data``)."""
    from predgen_core.data import data_roots

    return next(iter(data_roots(None)), None)


def load_sentences(tokenizer: Any, n: int, window: int = WINDOW, *, data_dir: Path | None = None,
                   seed: int = 0) -> tuple[list[str], str]:
    """``n`` distinct sentences with at least ``window`` tokens (seeded order) and the corpus name."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if data_dir is not None and (data_dir / "sst2" / "train.tsv").is_file():
        texts, corpus = _sst2_sentences(data_dir), f"sst2-train ({portable_path(data_dir / 'sst2' / 'train.tsv')})"
    else:
        from predgen_core.tasks import get_task

        texts, corpus = [ex.text for ex in get_task("polarity").load("train")], "polarity-train"
    texts = list(dict.fromkeys(texts))
    order = np.random.default_rng(seed).permutation(len(texts))
    chosen: list[str] = []
    for i in order:
        if len(tokenizer(texts[i], add_special_tokens=True)["input_ids"]) >= window:
            chosen.append(texts[i])
            if len(chosen) == n:
                break
    if len(chosen) < n:
        raise UserError(f"only {len(chosen)} sentences of {corpus} have >= {window} tokens; ask for at most that many")
    return chosen, corpus


def states_key(model: str, n: int, window: int, layer: int, seed: int, texts_sha: str = "") -> str:
    """The cache key: ``model`` is the model's identity (its content), ``texts_sha`` the sentences read."""
    blob = json.dumps({"model": model, "n": n, "window": window, "layer": layer, "seed": seed,
                       "texts": texts_sha, "format": STATES_FORMAT}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _source(model: str, n: int, window: int, layer: int, seed: int,
            data_dir: Path | None) -> tuple[Path, list[str], str]:
    """``(cache folder, sentences, corpus)``: the folder is keyed by the model's content and the sentences read,
    so a rewritten data file or another GGUF is a miss (only the tokenizer loads here)."""
    from predgen_core.models import load_tokenizer, model_identity

    texts, corpus = load_sentences(load_tokenizer(model), n, window, data_dir=data_dir, seed=seed)
    sha = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()
    return cache_dir("bench-real", states_key(model_identity(model), n, window, layer, seed, sha)), texts, corpus


def real_states(model: str = DEFAULT_MODEL, n: int = DEFAULT_N, *, window: int = WINDOW, layer: int = -1,
                seed: int = 0, data_dir: Path | None = None, progress: bool = True,
                loader: Callable[[str], tuple[Any, Any]] | None = None) -> RealStates:
    """The cached states for ``model``; extracted (resumably) on first use.

    ``loader(name) -> (model, tokenizer)`` defaults to :func:`predgen_core.models.load_base_model`.
    The full token states go through :func:`mi_toolkit.states.extract.extract_texts` into a scratch
    folder in the cache, are reduced to the two fp16 forms, and the scratch folder is removed.
    """
    folder, texts, corpus = _source(model, n, window, layer, seed, data_dir)
    target = folder / "states.npz"
    if target.is_file():
        return _read(target, folder / "meta.json")
    from mi_toolkit.states.extract import ExtractConfig, TextsOptions, extract_texts

    if loader is None:
        from predgen_core.models import load_base_model as loader
    lm, tok = loader(model)
    meta = {"model": model, "layer": layer, "n": n, "window": window, "seed": seed, "corpus": corpus,
            "texts_sha": hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16], "dtype": "float16"}
    scratch = folder / "extract"
    hs = extract_texts(lm, tok, texts, scratch, config=ExtractConfig(layer=layer, storage_dtype="float16"),
                       progress=progress, options=TextsOptions(meta=meta))
    last = hs.pooled("last").astype(np.float16)
    win = np.stack([np.asarray(s[:window], np.float16) for s in hs.iter_full()])
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, last=last, window=win)
    write_json_atomic(folder / "meta.json", {**meta, "d": int(last.shape[1])})
    shutil.rmtree(scratch, ignore_errors=True)
    return _read(target, folder / "meta.json")


def _read(target: Path, meta_path: Path) -> RealStates:
    with np.load(target) as f:
        last, win = f["last"], f["window"]
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return RealStates(last, win, meta)


def channel_truth(p_u: np.ndarray, eps: float) -> float:
    """Exact ``I(Y; Z)`` in nats when ``U = f(Z)`` and ``Y`` is ``U`` through a symmetric channel.

    The channel keeps ``U`` with probability ``1 - eps`` and otherwise moves to each of the other
    ``C - 1`` classes with probability ``eps / (C - 1)``. Since ``U`` is a function of ``Z`` and
    ``Y`` depends on ``Z`` only through ``U``, ``I(Y; Z) = I(Y; U) = H(Y) - H(Y | U)`` with

        H(Y | U) = h(eps) + eps * ln(C - 1),      h(e) = -e ln e - (1 - e) ln(1 - e),
        p_Y(c)   = (1 - eps) p_U(c) + eps (1 - p_U(c)) / (C - 1),

    ``p_U`` the distribution of ``U`` over the states (``Z`` uniform over the ``N`` sentences).
    """
    p_u = np.asarray(p_u, dtype=np.float64)
    C = len(p_u)
    if C < 2 or not 0 <= eps <= 1 - 1 / C:
        raise UserError(f"a symmetric channel over {C} classes needs C >= 2 and 0 <= eps <= 1 - 1/C (got eps={eps})")
    p_y = (1 - eps) * p_u + eps * (1 - p_u) / (C - 1)
    h_y = -float(np.sum(p_y[p_y > 0] * np.log(p_y[p_y > 0])))
    h_eps = -sum(e * np.log(e) for e in (eps, 1 - eps) if e > 0)
    return h_y - (h_eps + eps * np.log(C - 1))


def noisy_channel(u: np.ndarray, n_classes: int, eps: float, rng: np.random.Generator) -> np.ndarray:
    """``Y``: ``u`` kept with probability ``1 - eps``, else one of the other classes uniformly."""
    flip = rng.random(len(u)) < eps
    shift = rng.integers(1, n_classes, len(u))  # 1..C-1: never back to u
    return np.where(flip, (u + shift) % n_classes, u)


def _pc_scores(z: np.ndarray, k: int) -> np.ndarray:
    """``(N, k)`` standardised scores on the top ``k`` principal directions of raw ``z (N, d)``."""
    zc = z - z.mean(0)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    scores = zc @ vt[:k].T
    return scores / scores.std(0)


def _quantile_codes(t: np.ndarray, n_classes: int) -> np.ndarray:
    """Codes ``0..C-1`` of ``t`` by its quantiles (balanced classes)."""
    edges = np.quantile(t, np.linspace(0, 1, n_classes + 1)[1:-1])
    return np.searchsorted(edges, t, side="right")


@dataclass(frozen=True)
class RealTask:
    """One real-state task. ``form``: ``last`` or ``window``; ``label``: how ``U = f(Z)`` is made:

    * ``linear``: quantile bins of ``w . (z - mean)``, ``w`` a seeded random Gaussian direction in
      the raw state space (so the projection is dominated by high-variance directions, as a random
      read-out of the state would be; no PCA size is favoured);
    * ``pc1-band``: whether the top principal score is within its median distance of the
      median (an even, nonlinear function of the top-variance direction; lesson 2);
    * ``position``: ``linear`` on the states of one window position only (lesson 3);
    * ``null``: ``U`` drawn independently of ``Z`` (truth 0).
    """

    name: str
    form: str
    label: str
    n_classes: int = 2
    eps: float = 0.1
    position: int = 3
    seed: int = 0

    def _u(self, states: RealStates, rng: np.random.Generator) -> np.ndarray:
        z = (states.last if self.form == "last" else states.window.mean(1)).astype(np.float64)
        if self.label == "null":
            return rng.integers(0, self.n_classes, len(z))
        if self.label == "position":
            z = states.window[:, self.position].astype(np.float64)
        if self.label == "pc1-band":
            s1 = _pc_scores(z, 1)[:, 0]
            dev = np.abs(s1 - np.median(s1))
            return (dev < np.median(dev)).astype(np.int64)
        w = rng.standard_normal(z.shape[1])
        return _quantile_codes((z - z.mean(0)) @ w, self.n_classes)

    def make(self, states: RealStates) -> tuple[np.ndarray, np.ndarray, float]:
        """``(Z, Y, truth)``: ``Z`` float32 ``(N, d)`` or ``(N, W, d)``, ``Y`` codes ``(N,)``, truth in nats."""
        rng = np.random.default_rng(10_000 + self.seed)
        u = self._u(states, rng)
        y = noisy_channel(u, self.n_classes, self.eps, rng)
        z = (states.last if self.form == "last" else states.window).astype(np.float32)
        truth = 0.0 if self.label == "null" else channel_truth(np.bincount(u, minlength=self.n_classes) / len(u),
                                                              self.eps)
        return z, y, truth


def real_suite(quick: bool = False) -> list[RealTask]:
    """The real-state tasks; ``quick`` keeps one linear, the nonlinear, the position and a null task."""
    tasks = [
        RealTask("last-linear-c2", "last", "linear"),
        RealTask("last-linear-c4", "last", "linear", n_classes=4, eps=0.2),
        RealTask("last-pc1band-c2", "last", "pc1-band"),
        RealTask("last-null", "last", "null"),
        RealTask("window-pos3-c2", "window", "position"),
        RealTask("window-mean-c2", "window", "linear"),
        RealTask("window-null", "window", "null"),
    ]
    keep = {"last-linear-c2", "last-pc1band-c2", "window-pos3-c2", "window-null"}
    return [t for t in tasks if not quick or t.name in keep]


def synthetic_states(n: int, d: int, window: int = WINDOW, seed: int = 0) -> RealStates:
    """Stand-in states with LM-like structure (a few outlier dimensions carry most variance), for tests."""
    rng = np.random.default_rng(seed)
    scale = np.ones(d)
    scale[: max(1, d // 32)] = 20.0
    win = (rng.standard_normal((n, window, d)) * scale).astype(np.float16)
    return RealStates(win[:, -1].copy(), win, {"model": "synthetic", "n": n, "window": window, "seed": seed})


def ensure_cached(model: str = DEFAULT_MODEL, n: int = DEFAULT_N, **kw: Any) -> Path:
    """Extract the states into the cache (the background job ``python -m ...groundtruth_real`` runs this)."""
    real_states(model, n, **kw)
    return _source(model, n, kw.get("window", WINDOW), kw.get("layer", -1), kw.get("seed", 0), kw.get("data_dir"))[0]


if __name__ == "__main__":  # pragma: no cover - the one-off background extraction
    import sys

    print(ensure_cached(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL,
                        int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_N))
