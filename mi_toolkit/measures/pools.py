"""The three pools of a measurement: the LM's training examples, the probe's fit pool, the evaluation pool.

A probe fitted on sentences the LM was trained on reads how well the LM memorised them,
and different methods memorise differently; so by default the fit pool is drawn from the
fit split *minus* every checkpoint's training examples.

How the training examples are known: a checkpoint's manifest records its training config
(``training``: ``dataset``, ``data_dir``, ``max_train_samples``, ``seed``; training reads
``task.load("train", data_dir, max_train_samples, seed)``, a seeded stratified subset).
:func:`training_texts` recomputes that subset through the same task loader, so nothing
extra is stored and old checkpoints work. Examples are matched by their input text (the
prompt is a function of it), so a duplicate sentence elsewhere in the split is excluded
too, which is what disjointness should mean.

A user may force the old behaviour (``disjoint=False``): the overlap is then counted and
the report carries a warning.

Drawn like the evaluation pool: a probe fitted on one kind of text and scored on another
reads the shift as well as the representation (SST-2's train split is mostly parse-tree
phrases, median 8 words, its validation split whole sentences, median 20), and selection on
the fit set then favours candidates that transfer worse. So when the fit and evaluation
splits differ, the fit pool is a seeded draw weighted to the evaluation pool's length
distribution (word-count deciles), ``match_lengths=True`` (the default; the summary records
both medians).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_core.data import remembered_data_dir, subset_seed
from predgen_common.errors import UserError
from predgen_core.tasks import subsample

from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import load_split

TRAIN_SPLIT = "train"   # the split predgen_core training draws from (predgen_core.api)


@dataclass
class Pools:
    """Sizes and provenance of the three pools, and any warning about them (JSON-ready via ``to_dict``)."""

    lm_train: dict[str, dict[str, Any]]   # per model: split, n, seed, max_train_samples
    fit: dict[str, Any]                   # split, n, seed, disjoint, excluded, overlap
    eval: dict[str, Any]                  # split, n, seed
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """Plain-language lines for reports."""
        lm = "; ".join(f"{m}: {v['n']} {v['split']} examples (seed {v['seed']})" for m, v in self.lm_train.items())
        f = self.fit
        how = (f"disjoint from every LM's training examples ({f['excluded']} excluded)" if f["disjoint"]
               else f"NOT checked for disjointness: {f['overlap']} of them were LM training examples")
        like = (f", drawn to the evaluation pool's lengths (median {f['median_words']:g} words against "
                f"{self.eval.get('median_words', 0):g})" if f.get("length_matched") else "")
        return [f"LM training pools: {lm}",
                f"probe fit pool: {f['n']} {f['split']} examples (seed {f['seed']}), {how}{like}",
                f"evaluation pool: {self.eval['n']} {self.eval['split']} examples (seed {self.eval['seed']}); "
                "every model is scored on these same examples"]


@dataclass(frozen=True)
class PoolSpec:
    """How the probe's fit pool and the evaluation pool are drawn: the two splits, their sizes (None: the whole
    split), the seed and data folder, whether the fit pool leaves out the LMs' training examples
    (``disjoint``) and follows the evaluation pool's lengths (``match_lengths``)."""

    fit_split: str = "train"
    eval_split: str = "validation"
    n_fit: int | None = None
    n_eval: int | None = None
    seed: int = 0
    data_dir: str | None = None
    disjoint: bool = True
    match_lengths: bool = True


def _training(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest.get("training", {}) or {}


def check_same_setting(infos: Sequence[Any], dataset: str) -> None:
    """One report compares checkpoints of one task and one base model; else a one-line error."""
    for key, what in (("task", "task"), ("base_model", "base model")):
        seen = {str(i.manifest.get(key)): str(i.path) for i in infos}
        if len(seen) > 1:
            listed = ", ".join(f"{v} ({Path(p).name})" for v, p in seen.items())
            raise UserError(f"these checkpoints differ in {what}: {listed}; compare checkpoints of one {what} "
                            f"in one report (run it once per {what})")
    del dataset  # the dataset is checked against each checkpoint's task by extract (compatible_task)


def run_provenance(info: Any) -> dict[str, Any]:
    """Which training run a checkpoint is, read from its manifest: the real budget (steps, batch, examples,
    epochs), the seed, the method, and the content hash of its weights with its manifest and base model
    (``info.stamp``), so two trainings written to one path are told apart in every result file."""
    cfg, metrics = _training(info.manifest), info.manifest.get("metrics", {}) or {}
    return {"method": info.manifest.get("method"), "training_seed": cfg.get("seed"),
            "budget": {"max_steps": cfg.get("max_steps"), "steps_done": metrics.get("global_step"),
                       "batch_size": cfg.get("per_device_train_batch_size"),
                       "max_train_samples": cfg.get("max_train_samples"),
                       "epochs": cfg.get("num_train_epochs")},
            "content_sha256": getattr(info, "stamp", None)}


def training_texts(info: Any, task: Any, data_dir: str | None) -> tuple[set[str], dict[str, Any]]:
    """The input texts the checkpoint was trained on (recomputed from its manifest) and a summary.

    Training on another dataset than ``task`` shares no examples with it: an empty set.
    """
    cfg = _training(info.manifest)
    trained_on = cfg.get("dataset", info.manifest.get("task"))
    summary = {"split": TRAIN_SPLIT, "dataset": trained_on, "seed": cfg.get("seed", 0),
               "max_train_samples": cfg.get("max_train_samples"), **run_provenance(info)}
    if trained_on != task.name:
        return set(), {**summary, "n": 0}
    examples = task.load(TRAIN_SPLIT, data_dir=remembered_data_dir(info.manifest) or data_dir,
                         max_samples=cfg.get("max_train_samples"), seed=subset_seed(cfg))
    return {e.text for e in examples}, {**summary, "n": len(examples)}


def fit_pool(checkpoints: Sequence[str | Path | Any], task: Any, spec: PoolSpec, *,
             like: Sequence[Any] | None = None, split_flag: str = "--fit-split",
             ) -> tuple[list[Any], dict[str, Any], dict, list[str]]:
    """``(examples, fit summary, per-model training summaries, warnings)``: a seeded (stratified) draw of
    ``spec.n_fit`` examples of ``spec.fit_split`` after removing every checkpoint's training examples
    (``spec.disjoint``); with ``like`` (the evaluation examples) the draw follows their length distribution.
    ``checkpoints``: model references, loaded models or their descriptions (``ModelInfo``). ``split_flag``:
    the command's option naming the split, for the advice when nothing is left."""
    split, n, seed, data_dir, disjoint = spec.fit_split, spec.n_fit, spec.seed, spec.data_dir, spec.disjoint
    trained: set[str] = set()
    lm: dict[str, dict[str, Any]] = {}
    for c in checkpoints:
        info = _described(c)
        texts, summary = training_texts(info, task, data_dir)
        trained |= texts
        lm[_unique(lm, ck.method_name(info), Path(str(ck.checkpoint_path(c))).name)] = summary
    everything = load_split(task, split, data_dir=data_dir)
    warnings, matched = [], False
    if disjoint:
        kept = [e for e in everything if e.text not in trained]
        if not kept:
            raise UserError(f"every {split!r} example was used to train these checkpoints; retrain with "
                            f"--max-train-samples N below the split's {len(everything)} examples, or pick another "
                            f"{split_flag} (one the LMs never saw)")
        matched = bool(like is not None and n and n < len(kept))
        if matched:
            fit = length_matched(kept, like, n, seed)
        else:
            fit = subsample(kept, n, seed, stratify=task.kind != "regression") if n else kept
        overlap, excluded = 0, len(everything) - len(kept)
    else:
        fit = load_split(task, split, data_dir=data_dir, max_samples=n, seed=seed)
        overlap, excluded = sum(e.text in trained for e in fit), 0
        if overlap:
            warnings.append(f"the probe fit pool overlaps the LMs' training examples ({overlap} of {len(fit)}): "
                            "the probe then reads how each LM fits sentences it was trained on, which differs "
                            "between methods; drop --overlapping-fit-pool for a disjoint pool")
    summary = {"split": split, "n": len(fit), "seed": seed, "disjoint": disjoint, "excluded": excluded,
               "overlap": overlap, "length_matched": matched,
               "median_words": _median_words(fit)}
    return fit, summary, lm, warnings


def _words(examples: Sequence[Any]) -> np.ndarray:
    return np.array([len(str(e.text).split()) for e in examples])


def _median_words(examples: Sequence[Any]) -> float:
    return float(np.median(_words(examples))) if len(examples) else 0.0


def length_matched(pool: Sequence[Any], like: Sequence[Any], n: int, seed: int) -> list[Any]:
    """A seeded draw of ``n`` of ``pool`` (in pool order) whose word counts follow those of ``like``.

    Each row within ``like``'s range of word counts is weighted by (share of ``like`` in its
    word-count decile) / (rows of ``pool`` there), then ``n`` rows are drawn without replacement;
    when too few rows carry weight, the rest are drawn uniformly, so the draw always has ``n`` rows.
    """
    lp, lt = _words(pool), _words(like)
    edges = np.unique(np.quantile(lt, np.linspace(0, 1, 11)[1:-1]))
    bp, bt = np.digitize(lp, edges), np.digitize(lt, edges)
    share = np.bincount(bt, minlength=len(edges) + 1) / len(lt)
    inside = (lp >= lt.min()) & (lp <= lt.max())   # a row outside the target's range gets no weight
    have = np.bincount(bp[inside], minlength=len(edges) + 1)
    w = np.where(inside, share[bp] / np.maximum(have[bp], 1), 0.0)
    rng = np.random.default_rng(seed)
    take = min(n, int((w > 0).sum()))
    chosen = rng.choice(len(pool), take, replace=False, p=w / w.sum())
    if take < n:   # the evaluation lengths cannot all be matched: fill up uniformly
        rest = np.setdiff1d(np.arange(len(pool)), chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, n - take, replace=False)])
    return [pool[i] for i in sorted(chosen)]


def draw_pools(checkpoints: Sequence[str | Path | Any], task: Any,
               spec: PoolSpec) -> tuple[list[Any], list[Any], Pools]:
    """``(fit_examples, eval_examples, pools)``: the seeded draw of ``spec.n_eval`` examples of
    ``spec.eval_split`` (the same for every model) and the fit pool of :func:`fit_pool`, drawn like it
    (``spec.match_lengths``) when the splits differ."""
    ev = load_split(task, spec.eval_split, data_dir=spec.data_dir, max_samples=spec.n_eval, seed=spec.seed)
    like = ev if spec.match_lengths and spec.fit_split != spec.eval_split else None
    fit, summary, lm, warnings = fit_pool(checkpoints, task, spec, like=like)
    return fit, ev, Pools(lm, summary, {"split": spec.eval_split, "n": len(ev), "seed": spec.seed,
                                        "median_words": _median_words(ev)}, warnings)


def _described(model: Any) -> Any:
    """A model's description (:func:`~mi_toolkit.states.checkpoints.describe`); one already made passes
    (a Setting describes each model once and hands its descriptions on)."""
    return model if isinstance(model, ck.ModelInfo) else ck.describe(model)


def _unique(seen: dict, name: str, fallback: str) -> str:
    return name if name not in seen else fallback
