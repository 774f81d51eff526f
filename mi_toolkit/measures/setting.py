"""The measurement setting: which models are read, on which task, splits, pools, layer, seed and device.

Every model-based measure (``mi estimate --model``, ``mi dpi``, ``mi pca-sweep``, ``mi layer-sweep``)
reads states the same way: describe each model (its manifest, no weights), find its task, draw the
pools (:func:`~mi_toolkit.measures.pools.draw_pools`: the probe's fit pool disjoint from every model's
training examples and drawn like the evaluation pool), then extract each model's states on both pools.
:class:`Setting` holds those choices; :meth:`Setting.check` validates them once, before any weights
load; :meth:`Setting.read` is the one place the sequence is written. Every result records
:meth:`Setting.to_dict` in its ``meta["setting"]`` as its provenance.

The measures that read one pool (``mi curve``, ``mi heatmap``) draw it with :meth:`Setting.draw_pool` (the
fit pool alone, following ``eval_split``'s lengths when one is named) and read their states on it with
:meth:`Setting.states`.

A setting that cannot hold is one ``UserError`` line: the same split for fitting and scoring (the
probe would be scored on examples it was fitted on), a pool smaller than the cross-fitting folds
need, models of different tasks or base models in one report, a seed group that mixes methods.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Sequence

from predgen_common.errors import UserError

from mi_toolkit.measures.pools import Pools, PoolSpec, check_same_setting, draw_pools, fit_pool
from mi_toolkit.measures.seeds import expand_groups, unfinished_seeds
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import ExtractOptions, HiddenStates, extract, extract_layers, load_split

FOLDS = 5           # the probe's cross-fitting folds (ProbeConfig.folds) unless a measure says otherwise
ROWS_PER_FOLD = 2   # a pool needs this many rows per fold: every fold fits on some rows and scores others

# The model commands' option names -> Setting fields: the one mapping from CLI options to a Setting.
OPTIONS = {"split": "eval_split", "fit_split": "fit_split", "max_samples": "n_fit", "eval_samples": "n_eval",
           "layer": "layer", "seed": "seed", "device": "device", "data_dir": "data_dir", "progress": "progress"}
NEGATED_OPTIONS = {"overlapping_fit_pool": "disjoint", "any_length_fit_pool": "match_lengths"}


@dataclass
class ModelStates:
    """One model's states on the fit and evaluation pools."""

    name: str
    method: str
    fit: HiddenStates
    eval: HiddenStates
    pooling: str = "last"
    group: str | None = None   # the seed group (one method's training runs) this checkpoint belongs to
    info: Any = None           # what the model is (states.checkpoints.describe), when read through a Setting


@dataclass
class Reading:
    """What :meth:`Setting.read` yields: every model's states on the two pools, and the pools' record."""

    models: list[ModelStates]
    pools: Pools

    @property
    def only(self) -> ModelStates:
        """The one model of a single-model setting."""
        return the_one(self.models)


def the_one(models: Sequence[Any]) -> Any:
    """The one model a single-model measure reads; one line when there are several."""
    if len(models) != 1:
        raise UserError(f"this measure reads one model, but the setting holds {len(models)}; pass a single model")
    return models[0]


def check_groups(infos: Sequence[Any], group_of: Sequence[str | None]) -> None:
    """A group of seeds is one method's training runs: one line when a group mixes methods."""
    methods: dict[str, set[str]] = {}
    for info, group in zip(infos, group_of):
        if group:
            methods.setdefault(group, set()).add(ck.method_name(info))
    for group, found in methods.items():
        if len(found) > 1:
            raise UserError(f"the seed group {group} mixes methods ({', '.join(sorted(found))}); put each method's "
                            "seeds in a folder of its own")


@dataclass
class Setting:
    """Where and how a measure reads states.

    ``models``: model references (checkpoint folders, transformers folders, registered names, hub ids or
    loaded models), all of one task and base model; ``groups``: the seed group of each (None: alone; empty:
    none). ``n_fit`` / ``n_eval``: pool sizes (``--max-samples`` / ``--eval-samples``; None: the whole split,
    and ``n_eval`` None follows ``n_fit``). ``layer``: one layer (token states kept) or a sequence of layers
    (pooled states of each, one forward pass). ``disjoint=False`` lets the fit pool overlap the models'
    training examples (the pools then warn); ``match_lengths=False`` draws it without following the
    evaluation pool's lengths. ``folds``: the cross-fitting folds each pool must fill.

    After :meth:`check`: ``infos_`` (one description per model) and ``task_``. Built by
    :meth:`from_references`: ``unfinished_`` (each reference's seed folders without a finished checkpoint).
    """

    models: Sequence[Any]
    dataset: str
    fit_split: str = "train"
    eval_split: str = "validation"
    n_fit: int | None = None
    n_eval: int | None = None
    layer: int | Sequence[int] = -1
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    disjoint: bool = True
    match_lengths: bool = True
    groups: Sequence[str | None] = ()
    folds: int = FOLDS
    progress: bool = field(default=True, compare=False)
    infos_: list[Any] | None = field(default=None, init=False, repr=False, compare=False)
    task_: Any = field(default=None, init=False, repr=False, compare=False)
    unfinished_: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.models = [self.models] if isinstance(self.models, (str, Path)) else list(self.models)
        self.groups = list(self.groups)
        if not self.models:
            raise UserError("no model to read; pass at least one model (--model or --models)")
        if self.groups and len(self.groups) != len(self.models):
            raise UserError(f"{len(self.groups)} seed groups for {len(self.models)} models; give one per model")
        if self.fit_split == self.eval_split:
            raise UserError(f"--fit-split and --split are both {self.fit_split!r}: the probe would be scored on "
                            "examples it was fitted on; pick two different splits (e.g. --fit-split train "
                            "--split validation)")
        if self.folds < 2:
            raise UserError(f"cross-fitting needs at least 2 folds, got {self.folds}")
        for flag, n in (("--max-samples", self.n_fit), ("--eval-samples", self.n_eval)):
            if n is not None and n < self.min_rows:
                raise UserError(f"{flag} {n} is smaller than the {self.min_rows} examples a pool needs "
                                f"({self.folds} folds of at least {ROWS_PER_FOLD}); pass {flag} {self.min_rows} "
                                "or more")

    @classmethod
    def from_options(cls, models: Sequence[Any], dataset: str, groups: Sequence[str | None] = (),
                     **options: Any) -> "Setting":
        """A Setting from the model commands' option names (``split``, ``max_samples``, ``eval_samples``,
        ``overlapping_fit_pool``, ...; :data:`OPTIONS`, :data:`NEGATED_OPTIONS`)."""
        unknown = sorted(set(options) - set(OPTIONS) - set(NEGATED_OPTIONS))
        if unknown:
            raise TypeError(f"not an option of a Setting: {', '.join(unknown)}")
        given = {OPTIONS[k]: v for k, v in options.items() if k in OPTIONS}
        given.update({NEGATED_OPTIONS[k]: not v for k, v in options.items() if k in NEGATED_OPTIONS})
        return cls(list(models), dataset, groups=list(groups), **given)

    @classmethod
    def from_references(cls, references: Sequence[Any], dataset: str, **options: Any) -> "Setting":
        """:meth:`from_options` on model references where a folder of one method's seeds (a checkpoint per
        subfolder) or a quoted glob is a seed group (:func:`~mi_toolkit.measures.seeds.expand_groups`); each
        reference's seed folders that hold no finished checkpoint are kept in ``unfinished_``, for the report
        to name."""
        expanded = expand_groups(references)
        out = cls.from_options([c for c, _ in expanded], dataset, [g for _, g in expanded], **options)
        out.unfinished_ = {str(r): unfinished_seeds(r) for r in references}
        return out

    @property
    def min_rows(self) -> int:
        """The fewest examples a pool may hold: :data:`ROWS_PER_FOLD` per cross-fitting fold."""
        return ROWS_PER_FOLD * self.folds

    def with_layer(self, layer: int | Sequence[int]) -> "Setting":
        """The same setting at another layer (or layers), checked already when this one was."""
        out = replace(self, layer=layer if isinstance(layer, int) else list(layer))
        out.infos_, out.task_, out.unfinished_ = self.infos_, self.task_, self.unfinished_
        return out

    def check(self) -> "Setting":
        """Validate the models once, from their manifests (no weights): every model fits the dataset's task,
        all share one task and base model, and no seed group mixes methods. Fills ``infos_`` and ``task_``."""
        if self.infos_ is None:
            infos = [ck.describe(m) for m in self.models]
            check_same_setting(infos, self.dataset)
            check_groups(infos, self.groups or [None] * len(infos))
            tasks = [ck.task_for(info, self.dataset) for info in infos]   # each model against the dataset
            self.infos_, self.task_ = infos, tasks[0]
        return self

    @property
    def pool_spec(self) -> PoolSpec:
        """How this setting's two pools are drawn (``n_eval`` None follows ``n_fit``)."""
        return PoolSpec(fit_split=self.fit_split, eval_split=self.eval_split, n_fit=self.n_fit,
                        n_eval=self.n_eval or self.n_fit, seed=self.seed, data_dir=self.data_dir,
                        disjoint=self.disjoint, match_lengths=self.match_lengths)

    def draw(self) -> tuple[list[Any], list[Any], Pools]:
        """``(fit examples, evaluation examples, pools)`` (data and manifests only), each pool checked to hold
        at least :attr:`min_rows` examples."""
        self.check()
        fit, ev, pools = draw_pools(self.infos_, self.task_, self.pool_spec)
        self._check_fit_pool(len(fit), pools.fit["excluded"], "--fit-split")
        if len(ev) < self.min_rows:
            raise UserError(f"the evaluation pool holds {len(ev)} {self.eval_split!r} examples, fewer than the "
                            f"{self.min_rows} that {self.folds} folds need; pick another --split")
        return fit, ev, pools

    def read(self) -> Reading:
        """The pools and every model's states on both (cached): check, draw the pools, extract fit and eval."""
        fit_ex, eval_ex, pools = self.draw()
        models, names = [], set()
        for ref, info, group in zip(self.models, self.infos_, self.groups or [None] * len(self.models)):
            name = self._name(ref, info, group, names)
            names.add(name)
            models.append(ModelStates(name, ck.method_name(info), self._extract(ref, self.fit_split, fit_ex),
                                      self._extract(ref, self.eval_split, eval_ex), info.pooling, group, info))
        return Reading(models, pools)

    def only(self) -> Any:
        """The one model of a single-model setting (checked); one line when the setting holds several."""
        self.check()
        return the_one(self.models)

    def draw_pool(self, split_flag: str = "--fit-split") -> tuple[list[Any], dict[str, Any], dict, list[str]]:
        """One pool, for the measures that read a single pool (``mi curve``, ``mi heatmap``): ``(examples, fit
        summary, per-model training summaries, warnings)`` of :func:`~mi_toolkit.measures.pools.fit_pool`.

        A seeded draw of ``n_fit`` examples of ``fit_split`` without every model's training examples
        (``disjoint``); with ``eval_split`` set (and ``match_lengths``) it follows the lengths of a seeded draw
        of ``n_eval`` examples of ``eval_split``, where ``n_eval`` None is the whole split (only the lengths
        are read: no evaluation pool is drawn); ``eval_split`` None: no lengths to follow. ``split_flag``: the
        command's option naming ``fit_split``, for the advice when too little is left. The pool is checked to
        hold at least :attr:`min_rows` examples.
        """
        self.check()
        like = (load_split(self.task_, self.eval_split, data_dir=self.data_dir, max_samples=self.n_eval,
                           seed=self.seed) if self.eval_split and self.match_lengths else None)
        examples, summary, lm, warnings = fit_pool(self.infos_, self.task_, self.pool_spec, like=like,
                                                   split_flag=split_flag)
        self._check_fit_pool(len(examples), summary["excluded"], split_flag)
        return examples, summary, lm, warnings

    def _check_fit_pool(self, n: int, excluded: int, split_flag: str) -> None:
        """The sizes asked for were checked already: a fit pool this small is all its split holds once the
        training examples are out (``excluded``); one line naming the way out."""
        if n < self.min_rows:
            removed = f" once the {excluded} the models were trained on are left out" if self.disjoint else ""
            raise UserError(f"the probe's fit pool holds {n} {self.fit_split!r} examples{removed}, fewer than the "
                            f"{self.min_rows} that {self.folds} folds need; retrain with a smaller "
                            f"--max-train-samples, or pick another {split_flag}")

    def states(self, examples: Sequence[Any], model: Any = None, *, max_samples: int | None = None) -> HiddenStates:
        """States (cached, every token's kept) on ``examples`` of ``fit_split`` at the setting's one ``layer``:
        the first model's, or ``model``'s (the same model loaded, a random-init control). ``max_samples`` is
        only recorded in the states' manifest (``mi heatmap`` records its ``--max-samples`` there, and so its
        cached states stay valid)."""
        self.check()
        if not isinstance(self.layer, int):
            raise UserError(f"this measure reads one layer, not {list(self.layer)}; pass one --layer")
        return extract(self.models[0] if model is None else model, self.dataset, self.fit_split, self.layer,
                       data_dir=self.data_dir, max_samples=max_samples, seed=self.seed,
                       options=ExtractOptions(examples=examples, progress=self.progress))

    def _extract(self, ref: Any, split: str, examples: list[Any]) -> HiddenStates:
        common = dict(data_dir=self.data_dir, seed=self.seed,
                      options=ExtractOptions(examples=examples, progress=self.progress))
        if isinstance(self.layer, int):
            return extract(ref, self.dataset, split, self.layer, **common)
        return extract_layers(ref, self.dataset, split, list(self.layer), **common)

    @staticmethod
    def _name(ref: Any, info: Any, group: str | None, taken: set[str]) -> str:
        """A model's name in a report: its method; the folder's name when that is taken; ``group/folder`` in
        a seed group."""
        folder = Path(str(ck.checkpoint_path(ref))).name
        if group:
            return f"{group}/{folder}"
        return ck.method_name(info) if ck.method_name(info) not in taken else folder

    def to_dict(self) -> dict[str, Any]:
        """The setting as provenance (JSON-ready): every field but the fitted ones and ``progress``."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.init and f.name not in ("progress", "models", "groups")}
        out["models"] = [str(ck.checkpoint_path(m)) for m in self.models]
        if any(self.groups):
            out["groups"] = list(self.groups)
        if not isinstance(self.layer, int):
            out["layer"] = list(self.layer)
        return out
