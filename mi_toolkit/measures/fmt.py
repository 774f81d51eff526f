"""How an estimate is written in messages, tables and hover text.

A result that detected nothing is never written as a bare ``0.000 [0.000, 0.000]``: it reads
``not detected`` with the best held-out value and its interval beside it.
"""
from __future__ import annotations

from typing import Any

from mi_toolkit.estimators.result import NOTHING_READ, is_detection, rounds_to_zero


def _getter(res: Any):
    return res.get if isinstance(res, dict) else lambda k: getattr(res, k, None)


def shown_values(res: Any) -> tuple[float, float, float]:
    """``(value, low, high)`` to show: the estimate, or for a prior-only result the best model's held-out values."""
    get = _getter(res)
    best = (get("config") or {}).get("best_model") if isinstance(get("config"), dict) else None
    if get("chosen") == "prior" and best:
        return float(best["mi"]), float(best["ci_low"]), float(best["ci_high"])
    return float(get("mi")), float(get("ci_low")), float(get("ci_high"))


def shown_below_zero(res: Any) -> bool:
    """The interval a report shows (:func:`shown_values`) lies wholly below 0: the one rule for the
    "below 0 beyond its interval" flag, so a flag never contradicts the numbers printed beside it."""
    return shown_values(res)[2] < 0


def detected(res: Any) -> bool:
    get = _getter(res)
    flag = get("detected")
    return is_detection(get("ci_low")) if flag is None else bool(flag)


def fmt_result(res: Any) -> str:
    """``0.512 [0.470, 0.556]`` from an MIResult-like object or dict; ``not detected (best held-out ...)``
    when its interval does not lie above 0, without numbers when they would all print as 0.000."""
    mi, lo, hi = shown_values(res)
    text = f"{mi:.3f} [{lo:.3f}, {hi:.3f}]"
    if detected(res):
        return text
    if rounds_to_zero(mi, lo, hi):
        return f"not detected ({NOTHING_READ})"
    return f"not detected (best held-out {text})"


def fmt_difference(diff: float, lo: float, hi: float, neither_detected: bool = False) -> str:
    """``+0.031 [+0.012, +0.050]``: a paired difference (nats); a difference between two readings of
    nothing is not written as a number."""
    if neither_detected:
        return "none (neither reading detected anything)"
    return f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def provenance(res: Any) -> str:
    """One line on how an estimate was obtained."""
    get = _getter(res)
    how = f"estimator {get('estimator')}" + (f" ({get('chosen')})" if get("chosen") else "")
    folds = f", {get('n_folds')}-fold CV" if get("n_folds") else ""
    return (f"{how}, n_fit {get('n_fit') or get('n_train')}, n_eval {get('n_eval') or get('n_test')}{folds}, "
            f"seed {get('seed')}" + ("" if get("p_value") is None else f", p={get('p_value'):.3g}"))
