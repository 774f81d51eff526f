"""The result every estimator returns."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

# nats: an interval whose low end is below this is not a detection. A probe on a constant input
# (e.g. layer 0's state of the prompt's fixed last token) ends up equal to the prior up to float32
# rounding and can read 2e-8 [2e-8, 3e-8]: that is arithmetic, not information.
RESOLUTION = 1e-6


NOTHING_READ = "nothing read above the no-information model, to 3 decimals"


def rounds_to_zero(*values: float) -> bool:
    """Whether every value would print as 0.000: a reading of nothing is then written without numbers."""
    return max(abs(v) for v in values) < 0.0005


def table_cells(mi: float, lo: float | None, hi: float | None, detected: bool | None = None) -> tuple[str, str]:
    """``(estimate, interval)`` cells of a console table row; a reading of nothing reads "not detected"
    (with its value only when that does not print as 0.000), and an interval that prints as
    [0.000, 0.000] is left out. ``lo``/``hi`` None: a reading without an interval."""
    if lo is None and detected is None:   # a point reading (e.g. the best of a grid): shown unless it is 0.000
        return ("not detected" if rounds_to_zero(mi) else f"{mi:.3f}"), ""
    found = is_detection(lo) if detected is None else bool(detected)
    interval = "" if lo is None else f"{lo:.3f} – {hi:.3f}"
    if found:
        return f"{mi:.3f}", interval
    if rounds_to_zero(*((mi,) if lo is None else (mi, lo, hi))):
        return "not detected", ""
    return f"not detected ({mi:.3f})", interval


def is_detection(ci_low: float) -> bool:
    """Whether an interval starting at ``ci_low`` (nats) lies above 0 by more than the resolution."""
    return bool(ci_low > RESOLUTION)


@dataclass
class MIResult:
    """An MI estimate in nats with how it was obtained.

    ``ci_low``/``ci_high``: 95% interval; ``interval_method`` says what it covers.
    ``p_value``: see ``interval_method`` (permutation null for the critic estimators,
    a one-sided bootstrap for ``probe``). ``ceiling``: the largest value the estimate
    could take with the label prior it uses (discrete ``Y``; ``None`` for continuous):
    ``mean_i -log p(y_i)`` over the scored examples, ``p`` the prior of the fit split.
    ``above_ceiling`` flags an estimate above it (estimator error, not information);
    :attr:`below_zero` flags the other impossible case. ``curve``: validation bound per epoch.

    Per-example read-out (estimators that score each example, e.g. ``probe``):

    - ``pointwise`` ``(n_eval,)`` float64: ``log q(y_i|z_i) - log p(y_i)`` in nats for each
      scored example, by a model that never saw it; their mean is ``mi``. Row ``i`` is
      example ``i`` of the input (cross-fitting scores all ``N``) or of the explicit
      held-out set. Two results on the same examples can be compared pairwise
      (:func:`mi_toolkit.estimators.paired.paired_difference`).
    - ``fold_ids`` ``(n_eval,)`` int: the cross-fitting fold that scored each example
      (``-1`` for an explicit held-out set scored by one refitted model).
    - ``chosen``: the selected candidate; ``candidates``: one dict per candidate with its
      cross-validated log-loss (``cv_logloss``, nats) and ``cv_mi`` (prior log-loss minus it).
    - ``n_fit`` (examples each scoring model was fitted on), ``n_eval`` (examples scored),
      ``n_folds`` (K; 0 for a single held-out split).
    - ``detected``: the interval lies above 0, i.e. some model beat the label prior
      beyond held-out noise. :meth:`describe` renders a result that is not detected as
      "no information detected at this n", never as a zero.
    """

    mi: float
    ci_low: float
    ci_high: float
    estimator: str
    ceiling: float | None
    above_ceiling: bool
    n_train: int
    n_test: int
    p_value: float
    seconds: float
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    curve: list[float] = field(default_factory=list)
    interval_method: str = ""
    discrete: bool = True
    n_classes: int | None = None
    device: str = "cpu"
    pointwise: np.ndarray | None = None
    fold_ids: np.ndarray | None = None
    chosen: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    n_fit: int | None = None
    n_eval: int | None = None
    n_folds: int | None = None
    detected: bool | None = None
    # True: ``mi`` (the headline) is a lower bound on I(Y; Z) up to held-out noise (``binned``); None: not said
    is_bound: bool | None = None
    # an estimate beside the bound, labelled "estimate, not a bound" (``binned``: a critic's reading, see
    # mi_toolkit.estimators.companion): estimator, label, mi, ci_low, ci_high, p_value, interval_method, seconds
    estimate: dict[str, Any] | None = None
    # the probe's select-and-score record (every candidate's values and the folds; in memory only, not
    # serialised): paired comparisons resample the selection from it (mi_toolkit.estimators.reselect)
    selection: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("mi", "ci_low", "ci_high"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"MIResult.{name} is not finite; estimators must never return NaN/inf")
        if self.detected is None:
            self.detected = is_detection(self.ci_low)
        if self.n_eval is None:
            self.n_eval = self.n_test

    @property
    def estimate_skipped(self) -> str | None:
        """Why no estimate sits beside the bound (``config["estimate_skipped"]``, written by ``binned``), or None."""
        return self.config.get("estimate_skipped") if isinstance(self.config, dict) else None

    @property
    def below_zero(self) -> bool:
        """The whole interval is below 0. True MI never is, so this is estimator error
        (typically too few examples for the input width): read it as "nothing detected"."""
        return self.ci_high < 0

    def describe(self) -> str:
        """One line: the estimate with its interval and provenance, or, when nothing was
        detected, "no information detected at this n" with the best held-out value."""
        how = f"{self.estimator}" + (f" ({self.chosen})" if self.chosen else "")
        how += f", n={self.n_eval} scored" + (f", {self.n_folds}-fold cross-fit" if self.n_folds else "")
        if self.detected:
            return f"{self.mi:.3f} nats [{self.ci_low:.3f}, {self.ci_high:.3f}] ({how})"
        alt = self.config.get("best_model") if isinstance(self.config, dict) else None
        if alt and self.chosen == "prior":
            best = (f"best held-out value {alt['mi']:.3f} [{alt['ci_low']:.3f}, {alt['ci_high']:.3f}] "
                    f"by {alt['name']}; no model beat the label prior")
        elif rounds_to_zero(self.mi, self.ci_low, self.ci_high):
            best = NOTHING_READ
        else:
            best = f"best held-out value {self.mi:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"
        return f"no information detected at this n ({best}; {how})"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MIResult":
        """The inverse of :meth:`to_dict`: derived keys (``description``) are recomputed, not read."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self, per_example: bool = False) -> dict[str, Any]:
        """JSON-ready dict (plain floats, lists and dicts). The per-example arrays are left
        out unless ``per_example`` (they hold one value per scored example)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            val = getattr(self, f.name)
            if f.name == "selection":
                continue
            if f.name in ("pointwise", "fold_ids"):
                if not per_example:
                    continue
                val = None if val is None else np.asarray(val).tolist()
            elif isinstance(val, (dict, list)):
                val = _plain(val)
            out[f.name] = val
        out["description"] = self.describe()
        return out


def _plain(obj: Any) -> Any:
    """Deep copy with numpy scalars/arrays turned into Python values."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
