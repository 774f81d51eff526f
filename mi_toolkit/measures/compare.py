"""Paired comparisons of estimates on the same examples, Holm-corrected over one report's family.

Two estimates scored on the same evaluation examples are compared by the mean of their
per-example differences ``a_i - b_i`` (``MIResult.pointwise``), with a paired bootstrap
(:func:`mi_toolkit.estimators.paired.paired_difference`). For two probe results it resamples the
select-and-score step jointly: the same resampled examples for both, the same re-dealt folds
(explicit held-out set) or each example's own fitting fold (cross-fit), and every fold's candidate
re-chosen on the resampled other folds. The interval so covers which examples were drawn, how they
fell into selection folds and which candidate each fold chose; it does not refit the candidates
(their fitting enters through each example's value, scored by a model that never saw it) and, for
an explicit held-out set, does not cover the draw of the fit set. For results without that record
(arrays, other estimators) it resamples the examples within their scoring folds: conditional on
the folds and the choices. The p-values of every comparison in one report form one family and
are corrected with Holm's step-down method before any verdict is given.

Verdicts use four phrases only:

- ``reads higher`` / ``reads lower``: the Holm-adjusted two-sided p is below ``alpha`` and
  the paired interval excludes 0 in that direction: more (less) label information is
  *recoverable by this probe family at this n*; not "keeps more information".
- ``no difference detected at this n``: otherwise.
- ``not detected``: neither estimate detected any information (a difference between two
  readings of nothing is not a comparison).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.estimators.paired import holm, paired_difference
from mi_toolkit.estimators.result import is_detection
from mi_toolkit.measures.fmt import fmt_difference

VERDICTS = ("reads higher", "reads lower", "no difference detected at this n", "not detected")
ALPHA = 0.05


@dataclass
class Comparison:
    """``a - b`` in nats over ``n`` paired examples; ``p_holm`` is adjusted over the report's family."""

    kind: str          # "within" (a contains b), "across" (two models), "sweep" (k vs a smaller k)
    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_two_sided: float
    n: int
    p_holm: float = 1.0
    verdict: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def difference(self) -> str:
        """``+0.031 [+0.012, +0.050]``; a difference of two readings of nothing is not shown as a number."""
        return fmt_difference(self.diff, self.ci_low, self.ci_high, self.verdict == "not detected")

    def holm(self) -> str:
        """The Holm-adjusted p as reports print it; none for two readings of nothing (not a test)."""
        return "-" if self.verdict == "not detected" else f"{self.p_holm:.3g}"

    def sentence(self) -> str:
        """``a reads higher than b: +0.031 nats [0.012, 0.050] paired, Holm p = 0.004 (n = 600)``."""
        rel = {"reads higher": "reads higher than", "reads lower": "reads lower than"}.get(self.verdict)
        head = f"{self.a} {rel} {self.b}" if rel else f"{self.a} vs {self.b}: {self.verdict}"
        diff = (self.difference() if self.verdict == "not detected" else
                f"{self.diff:+.3f} nats [{self.ci_low:+.3f}, {self.ci_high:+.3f}] paired")
        holm = "" if self.verdict == "not detected" else f", Holm p = {self.holm()}"
        return f"{head}: {diff}{holm} (n = {self.n})" + (f"; {self.note}" if self.note else "")


def _values(res: Any) -> tuple[np.ndarray, np.ndarray]:
    v = getattr(res, "pointwise", None)
    if v is None:
        raise UserError(f"estimator {getattr(res, 'estimator', '?')!r} gives no per-example values, so estimates "
                        "cannot be compared pairwise; use --estimator probe (discrete labels) or binned (continuous)")
    folds = getattr(res, "fold_ids", None)
    return np.asarray(v, np.float64), (np.zeros(len(v), int) if folds is None else np.asarray(folds))


def paired_bootstrap(a: Any, b: Any, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float, float]:
    """``(diff, ci_low, ci_high, p_two_sided)`` of ``mean(a_i - b_i)``: :func:`paired_difference`, resampling
    the select-and-score step of two probe results, else the examples within scoring folds.

    ``a``, ``b``: results with ``pointwise`` ``(n,)`` over the same examples in the same order.
    """
    _values(a), _values(b)   # a result without per-example values gets the message naming the way out
    p = paired_difference(a, b, n_boot=n_boot, seed=seed)
    return p.diff, p.ci_low, p.ci_high, p.p_two_sided


def compare(kind: str, name_a: str, a: Any, name_b: str, b: Any, *, seed: int = 0, note: str = "") -> Comparison:
    """One unadjusted comparison (call :func:`adjust` on the family before reading verdicts)."""
    diff, lo, hi, p = paired_bootstrap(a, b, seed=seed)
    out = Comparison(kind, name_a, name_b, diff, lo, hi, p, len(_values(a)[0]), note=note)
    out.verdict = "not detected" if not (_detected(a) or _detected(b)) else ""
    return out


def _detected(res: Any) -> bool:
    return bool(getattr(res, "detected", is_detection(res.ci_low)))


def adjust(family: Sequence[Comparison], alpha: float = ALPHA) -> list[Comparison]:
    """Holm-adjust the family's p-values (in place) and fill each verdict; returns the family."""
    if not family:
        return list(family)
    for c, p in zip(family, holm([c.p_two_sided for c in family])):
        c.p_holm = float(p)
        if c.verdict == "not detected":
            continue
        if c.p_holm < alpha and c.ci_low > 0:
            c.verdict = "reads higher"
        elif c.p_holm < alpha and c.ci_high < 0:
            c.verdict = "reads lower"
        else:
            c.verdict = "no difference detected at this n"
    return list(family)
