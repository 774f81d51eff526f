"""What every estimator is: an object with its config and one interface, ``estimate_many``.

An :class:`Estimator` is a frozen dataclass registered in ``mi_toolkit.estimators.ESTIMATORS``. It
carries what the rest of the toolkit asks of it (``name``, ``config_cls``, ``summary``, which kinds of
``Y`` it reads, whether it nests parts) and its ``config`` (``None``: the config class's defaults;
:meth:`Estimator.with_config` gives a copy with another, checked). :meth:`Estimator.estimate_many`
validates the inputs once (:func:`prepare_tasks`), groups tasks that can run together (same ``N`` and
kind of ``Y``) and hands each group to :meth:`Estimator.estimate_group`. A subclass overrides
:meth:`Estimator.estimate_task` (one task at a time, e.g. the probe, k-NN, the binned bound) or
:meth:`Estimator.estimate_group` (tasks that train as one model, the neural critics). Nothing outside
the subclasses asks what kind of estimator it holds.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_common.progress import Phase

from mi_toolkit.estimators.result import MIResult
from mi_toolkit.validate import (Checked, as_states, check_config, check_task, concat_inputs, flat,
                                 float_labels_as_classes, resolve_device, tame_scale)

Parts = Mapping[str, Any] | None


@dataclass(frozen=True)
class Task:
    """One validated task: ``checked`` (``z (N, d)`` float64, ``y`` codes ``(N,)`` or float ``(N, k)``),
    ``states`` (the input as given, e.g. :class:`~mi_toolkit.ground.TokenStates` ``(N, n, d)``, for the
    estimators that read token states), ``parts`` (the ``contains=`` parts or None) and ``notes`` (what
    was done to the input before estimating, recorded in the result's config)."""

    checked: Checked
    states: Any
    parts: Parts = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """How a group runs: ``seed``, the resolved torch ``device``, the held-out share ``test_size`` of the
    estimators that split (unused with an explicit held-out set), ``n_fit`` (rows ``:n_fit`` of every task
    are the fit set of an explicit held-out split; None: no explicit split) and ``tick()``, called after
    each task (a progress bar)."""

    seed: int = 0
    device: Any = "cpu"
    test_size: float = 0.3
    n_fit: int | None = None
    tick: Callable[[], None] = field(default=lambda: None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Estimator:
    """An MI estimator and its config. Subclasses set the fields' defaults and override
    :meth:`estimate_task` or :meth:`estimate_group`."""

    name: str
    config_cls: type
    summary: str = ""
    discrete_only: bool = False     # reads integer labels only (the bench skips continuous tasks for it)
    continuous_only: bool = False   # reads float targets only (the bench skips discrete tasks for it)
    config: Any = None              # None: config_cls()

    @property
    def cfg(self) -> Any:
        """The config this estimator runs with."""
        return self.config if self.config is not None else self.config_cls()

    @property
    def nests(self) -> bool:
        """Whether it reads ``contains=`` parts (nesting by construction)."""
        return False

    @property
    def reads_token_states(self) -> bool:
        """Whether it reads token states ``(N, n, d)`` as such (others flatten them in the input check)."""
        return False

    @property
    def keeps_critic(self) -> bool:
        """Whether it trains a critic that :func:`mi_toolkit.api.fit_critic` can keep for pointwise scores."""
        return False

    def with_config(self, config: Any) -> "Estimator":
        """A copy with ``config`` (None: the defaults); a config of another estimator is a ``UserError``."""
        check_config(self, config)
        return replace(self, config=config)

    def estimate_many(self, tasks: Sequence[tuple[Any, Any]], *, test: Sequence[tuple[Any, Any]] | None = None,
                      contains: Sequence[Parts] | None = None, seed: int = 0, device: str = "auto",
                      test_size: float = 0.3) -> list[MIResult]:
        """``I(Y; Z)`` in nats for each ``(Z, Y)`` task (see :func:`mi_toolkit.api.estimate_many`, which
        picks an estimator per kind of ``Y`` and calls this)."""
        prepared, n_fit = prepare_tasks(tasks, test, contains)
        self.check_tasks(prepared)
        return self.estimate_tasks(prepared, Run(seed, resolve_device(device), test_size, n_fit))

    def estimate_tasks(self, tasks: Sequence[Task], run: Run) -> list[MIResult]:
        """The results of validated tasks that :meth:`check_tasks` accepted, in order: grouped by ``N`` and
        kind of ``Y``, each group run by :meth:`estimate_group`, under one progress phase."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, t in enumerate(tasks):
            c = t.checked
            groups[(len(c.z), c.discrete, len(c.classes) if c.discrete else c.y.shape[1])].append(i)
        results: list[MIResult | None] = [None] * len(tasks)
        rows = len(tasks[0].checked.z) if tasks else 0
        # probing is a phase of its own (a bar on a terminal, else one line when it took 2 s or more)
        with Phase("probing", total=len(tasks), unit=f"representations of {rows:,} rows", min_seconds=2.0) as phase:
            for members in groups.values():
                done = self.estimate_group([tasks[i] for i in members], replace(run, tick=phase.step))
                for i, res in zip(members, done):
                    if tasks[i].notes:
                        res.config = {**res.config, "input_notes": list(tasks[i].notes)}
                    results[i] = res
        return results  # type: ignore[return-value]

    def check_tasks(self, tasks: Sequence[Task]) -> None:
        """Refuse what this estimator cannot read: continuous targets for a discrete-only one, parts for one
        that does not nest."""
        if self.discrete_only and not all(t.checked.discrete for t in tasks):
            raise UserError(f"estimator {self.name!r} reads discrete (integer) labels; for a continuous target "
                            "choose a continuous estimator (see mi estimate --help)")
        if any(t.parts for t in tasks) and not self.nests:
            raise UserError("contains= is an option of probe and binned (nesting by construction); use one of them")

    def estimate_group(self, tasks: Sequence[Task], run: Run) -> list[MIResult]:
        """Tasks of one ``N`` and kind of ``Y``: by default one :meth:`estimate_task` each."""
        out = []
        for t in tasks:
            out.append(self.estimate_task(t, run))
            run.tick()
        return out

    def estimate_task(self, task: Task, run: Run) -> MIResult:
        """One task's result; a subclass overrides this or :meth:`estimate_group`."""
        raise NotImplementedError(f"{type(self).__name__} overrides neither estimate_task nor estimate_group")


def prepare_tasks(tasks: Sequence[tuple[Any, Any]], test: Sequence[tuple[Any, Any]] | None = None,
                  contains: Sequence[Parts] | None = None, labels_by_value: bool = False,
                  ) -> tuple[list[Task], int | None]:
    """Validated :class:`Task` s and ``n_fit``: with explicit held-out sets ``test`` each fit set is joined
    with its held-out set (fit rows first; ``n_fit`` the shared fit size), else ``n_fit`` is None.
    Extreme features are rescaled and, with ``labels_by_value``, float labels of few whole-number values
    read as classes, each change noted."""
    if contains is not None and len(contains) != len(tasks):
        raise UserError(f"{len(contains)} contains= entries for {len(tasks)} tasks; pass one (or None) per task")
    inputs = [as_states(z) for z, _ in tasks]
    parts = list(contains) if contains is not None else [None] * len(tasks)
    n_fit = None
    if test is not None:
        inputs, tasks, parts, n_fit = _with_held_out(inputs, tasks, test, parts)
    out = []
    for i, (z, (_, y)) in enumerate(zip(inputs, tasks)):
        z, scaled = tame_scale(z)
        y, classes = float_labels_as_classes(y) if labels_by_value else (y, None)
        checked = check_task(flat(z), y, what=f"task {i}" if len(tasks) > 1 else "")
        out.append(Task(checked, z, parts[i], tuple(n for n in (classes, scaled) if n)))
    return out, n_fit


def _with_held_out(inputs: list[Any], tasks: Sequence[tuple[Any, Any]], test: Sequence[tuple[Any, Any]],
                   parts: list[Parts]) -> tuple[list[Any], list[tuple[Any, Any]], list[Parts], int]:
    """Each fit set joined with its explicit held-out set (fit rows first), the parts over both sets,
    and the shared fit-set size."""
    if len(test) != len(tasks):
        raise UserError(f"{len(test)} held-out sets for {len(tasks)} tasks; pass one per task")
    n_fit = {len(z) for z in inputs}
    if len(n_fit) != 1:
        raise UserError("with explicit held-out sets all tasks must share one fit-set size")
    joined = [concat_inputs(zf, as_states(ze)) for zf, (ze, _) in zip(inputs, test)]
    tasks = [(z, np.concatenate([np.asarray(yf), np.asarray(ye)])) for z, (_, yf), (_, ye) in zip(joined, tasks, test)]
    return joined, tasks, [_joined_parts(p) for p in parts], n_fit.pop()


def _joined_parts(parts: Parts) -> Parts:
    """With an explicit held-out set, a ``(fit, eval)`` part becomes one input over both."""
    if not parts:
        return parts
    out = {}
    for name, part in parts.items():
        if callable(part):
            out[name] = part
        elif isinstance(part, tuple) and len(part) == 2:
            out[name] = concat_inputs(as_states(part[0]), as_states(part[1]))
        else:
            raise UserError(f"part {name!r}: with explicit held-out sets pass a function of the input or a "
                            "(fit_part, eval_part) pair")
    return out


def held_out_rows(c: Checked, n_fit: int | None) -> Checked:
    """The held-out rows of a task with an explicit fit/held-out split (all rows otherwise)."""
    if n_fit is None:
        return c
    return Checked(c.z[n_fit:], c.y[n_fit:], c.discrete, c.classes, c.ceiling)
