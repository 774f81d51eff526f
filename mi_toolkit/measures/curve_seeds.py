"""Learning curves over seeds: each method a group of trained checkpoints, every checkpoint read on one pool.

Every checkpoint has its own curve (:func:`~mi_toolkit.measures.curve.learning_curve`) on the **same**
examples with the same folds and fit-set orders (one pool, one measurement seed), so at each fit-set size
``n`` a representation's per-example values form an ``(S, N)`` array per group (seeds x examples), crossed
with the examples as :mod:`mi_toolkit.measures.seeds` needs. At every size, for every representation:

- each group's mean over its seeds with the two-level 95% interval (the seed term plus the example term,
  Student's t with Satterthwaite's df: :func:`~mi_toolkit.measures.seeds.two_level`);
- the between-seed SD (how far a retraining moves the reading), the within-seed SE (what a one-checkpoint
  interval covers) and the combined SE of the mean, apart;
- each pair of groups on the same representation: the two-level paired difference, Holm over every size,
  representation and pair of the report, with a method verdict only where both groups hold at least
  :data:`~mi_toolkit.measures.seeds.MIN_SEEDS` seeds (:func:`~mi_toolkit.measures.seeds.method_table`);
  a pair of single checkpoints is labelled as comparing two checkpoints, not two methods.

A group of one checkpoint has no seed term: its interval covers which examples were drawn only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.estimators.result import is_detection
from mi_toolkit.measures.curve import CurveResult
from mi_toolkit.measures.dpi import NO_METHOD_VERDICT, ONE_RUN
from mi_toolkit.measures.fmt import fmt_difference
from mi_toolkit.measures.seeds import MIN_SEEDS, MethodComparison, SeedSummary, method_table, per_seed_values

INTERVAL = ("95% two-level interval over the group's seeds and the shared examples: the seed term (variance of the "
            "per-seed means over S seeds, / S) plus the example term (variance over the N examples of the "
            "per-example means over seeds, paired across groups for a difference, / N), Student's t with "
            "Satterthwaite's degrees of freedom (measures.seeds.two_level); a group of one checkpoint has no seed "
            "term, and its interval covers which examples were drawn only")


@dataclass
class SizeComparison:
    """Two groups' readings of one representation at one fit-set size, over seeds (``a - b``)."""

    representation: str
    n: int
    group_a: str
    group_b: str
    comparison: MethodComparison
    neither_detected: bool = False   # neither group's mean reads above 0: verdict "not detected", no number

    @property
    def one_run(self) -> bool:
        """Both sides are one checkpoint: a comparison of two checkpoints, not of two methods."""
        return max(self.comparison.summary.n_seeds) == 1

    @property
    def verdict(self) -> str:
        return self.comparison.verdict

    def difference(self) -> str:
        s = self.comparison.summary
        return fmt_difference(s.mean, s.ci_low, s.ci_high, self.neither_detected)

    def sentence(self) -> str:
        c, s = self.comparison, self.comparison.summary
        if self.neither_detected:
            text = f"{c.a} - {c.b}: {self.difference()}: {c.verdict}"
        elif self.one_run:  # no seed term: the interval covers which examples were drawn, nothing more
            text = (f"{c.a} - {c.b} (one checkpoint each, {s.n_examples} examples): {self.difference()} nats over "
                    f"the examples only, Holm p = {c.p_holm:.3g}: {c.verdict}")
        else:
            text = c.sentence()
        return text + (f"; {ONE_RUN}" if self.one_run else "")

    def to_dict(self) -> dict[str, Any]:
        return {"representation": self.representation, "n": self.n, "group_a": self.group_a,
                "group_b": self.group_b, **self.comparison.to_dict(), "neither_detected": self.neither_detected,
                "note": ONE_RUN if self.one_run else ""}


@dataclass
class SeedCurves:
    """The curves of groups of checkpoints on one pool.

    ``groups``: ``{group: [member names]}``; ``curves``: ``{member: CurveResult}`` (each checkpoint's own
    curve, kept whole); ``readings[group][rep][i]``: the :class:`SeedSummary` of ``rep`` at ``sizes[i]``
    over the group's seeds; ``comparisons``: every pair of groups at every size, Holm over all of them;
    ``unfinished``: ``{group: [seed folders without a finished checkpoint]}``.
    """

    sizes: list[int]
    groups: dict[str, list[str]]
    curves: dict[str, CurveResult]
    readings: dict[str, dict[str, list[SeedSummary]]]
    comparisons: list[SizeComparison]
    ceiling: float
    unfinished: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_method_verdict(self) -> bool:
        """Some pair of groups holds at least ``MIN_SEEDS`` seeds each: the report may then judge methods."""
        return any(min(c.comparison.summary.n_seeds) >= MIN_SEEDS for c in self.comparisons)

    @property
    def representations(self) -> list[str]:
        return list(next(iter(self.curves.values())).results)

    def seeds(self) -> dict[str, int]:
        """How many seeds each group's means stand on."""
        return {g: len(m) for g, m in self.groups.items()}

    def stands_on(self) -> str:
        """One sentence: how many seeds each mean stands on, and the seeds that did not finish."""
        parts = []
        for g, k in self.seeds().items():
            left = self.unfinished.get(g, [])
            parts.append(f"{g}: {k} seed{'s' if k != 1 else ''}" +
                         (f" (left out, no finished checkpoint: {', '.join(left)})" if left else ""))
        return "Each mean stands on " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "ceiling": self.ceiling, "meta": self.meta, "groups": self.groups,
                "seeds": self.seeds(), "unfinished": self.unfinished, "stands_on": self.stands_on(),
                "over_seeds": {
                    "readings": {g: {rep: [{"n": n, **s.to_dict()} for n, s in zip(self.sizes, per)]
                                     for rep, per in reps.items()} for g, reps in self.readings.items()},
                    "comparisons": [c.to_dict() for c in self.comparisons],
                    "interval_method": INTERVAL, "has_method_verdict": self.has_method_verdict,
                    "no_method_verdict": None if self.has_method_verdict else NO_METHOD_VERDICT},
                "per_seed": {m: c.to_dict() for m, c in self.curves.items()}}


def _check_paired(curves: Mapping[str, CurveResult]) -> tuple[list[int], list[str]]:
    """The shared sizes and representations; one line when the curves were not measured alike."""
    names = list(curves)
    first = curves[names[0]]
    reps = list(first.results)
    for m in names[1:]:
        c = curves[m]
        if c.sizes != first.sizes or list(c.results) != reps:
            raise UserError(f"the curves of {names[0]} and {m} differ in sizes or representations; measure every "
                            "checkpoint with the same --sizes and --representations")
        if not np.array_equal(c.results[reps[0]][0].fold_ids, first.results[reps[0]][0].fold_ids):
            raise UserError(f"the curves of {names[0]} and {m} were measured on different pools or folds; read "
                            "every checkpoint on one pool with one --seed")
    return list(first.sizes), reps


def seed_curves(curves: Mapping[str, CurveResult], groups: Mapping[str, Sequence[str]],
                unfinished: Mapping[str, Sequence[str]] | None = None,
                meta: dict[str, Any] | None = None) -> SeedCurves:
    """Means over seeds, two-level intervals, spreads and method comparisons at every size.

    ``curves``: ``{member: CurveResult}`` measured on one pool; ``groups``: ``{group: [members]}`` (a group of
    one is one checkpoint). Returns a :class:`SeedCurves`.
    """
    if not curves or not groups:
        raise UserError("a curve over seeds needs at least one group of checkpoints")
    missing = [m for ms in groups.values() for m in ms if m not in curves]
    if missing or any(not ms for ms in groups.values()):
        raise UserError(f"a seed group names checkpoints without a curve ({', '.join(missing) or 'an empty group'});"
                        " measure every member of every group")
    sizes, reps = _check_paired(curves)
    values: dict[str, np.ndarray] = {}
    for g, ms in groups.items():
        for rep in reps:
            for i, n in enumerate(sizes):
                values[_key(g, rep, n)] = per_seed_values([curves[m].results[rep][i] for m in ms])
    names = list(groups)
    index = [(rep, n, a, b) for rep in reps for n in sizes for i, a in enumerate(names) for b in names[i + 1:]]
    summaries, comps = method_table(values, [(_key(a, rep, n), _key(b, rep, n)) for rep, n, a, b in index])
    readings = {g: {rep: [summaries[_key(g, rep, n)] for n in sizes] for rep in reps} for g in names}
    quiet = {k: not is_detection(s.ci_low) for k, s in summaries.items()}
    pairs = [SizeComparison(rep, n, a, b, c, quiet[_key(a, rep, n)] and quiet[_key(b, rep, n)])
             for (rep, n, a, b), c in zip(index, comps)]
    for c in pairs:  # one detection rule (measures.compare): two readings of nothing are not compared
        if c.neither_detected:
            c.comparison.verdict = "not detected"

    ceiling = next(iter(curves.values())).ceiling
    return SeedCurves(sizes, {g: list(ms) for g, ms in groups.items()}, dict(curves), readings, pairs, ceiling,
                      {g: list(v) for g, v in (unfinished or {}).items() if v}, dict(meta or {}))


def _key(group: str, rep: str, n: int) -> str:
    return f"{group} {rep} @ n={n}"


def per_example_means(sc: SeedCurves, *, texts: Sequence[str] | None = None,
                      labels: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """One dict per example: ``id, text, label, fold`` and ``pvi_<group> <rep>``, the mean over the group's
    seeds of the example's PVI at the largest size (nats)."""
    first = next(iter(sc.curves.values()))
    rep0 = sc.representations[0]
    folds = first.final(rep0).fold_ids
    n = len(folds)
    cols = {f"{g} {rep}": np.mean([sc.curves[m].final(rep).pointwise for m in ms], axis=0)
            for g, ms in sc.groups.items() for rep in sc.representations}
    for what, seq in (("texts", texts), ("labels", labels)):
        if seq is not None and len(seq) != n:
            raise UserError(f"{len(seq)} {what} for {n} examples; pass one per example")
    return [{"id": i, "text": texts[i] if texts is not None else "", "label": labels[i] if labels is not None else "",
             "fold": int(folds[i]), **{f"pvi_{k}": float(v[i]) for k, v in cols.items()}} for i in range(n)]
