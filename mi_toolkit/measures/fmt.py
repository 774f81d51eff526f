"""How an estimate is written in messages, tables and hover text.

A result that detected nothing is never written as a bare ``0.000 [0.000, 0.000]``: it reads
``not detected`` with the best held-out value and its interval beside it.
"""
from __future__ import annotations

from typing import Any

from mi_toolkit.estimators.result import RESOLUTION


def _getter(res: Any):
    return res.get if isinstance(res, dict) else lambda k: getattr(res, k, None)


def shown_values(res: Any) -> tuple[float, float, float]:
    """``(value, low, high)`` to show: the estimate, or for a prior-only result the best model's held-out values."""
    get = _getter(res)
    best = (get("config") or {}).get("best_model") if isinstance(get("config"), dict) else None
    if get("chosen") == "prior" and best:
        return float(best["mi"]), float(best["ci_low"]), float(best["ci_high"])
    return float(get("mi")), float(get("ci_low")), float(get("ci_high"))


def detected(res: Any) -> bool:
    get = _getter(res)
    flag = get("detected")
    return bool(get("ci_low") > RESOLUTION) if flag is None else bool(flag)


def fmt_result(res: Any) -> str:
    """``0.512 [0.470, 0.556]`` from an MIResult-like object or dict; ``not detected (best held-out ...)``
    when its interval does not lie above 0."""
    mi, lo, hi = shown_values(res)
    text = f"{mi:.3f} [{lo:.3f}, {hi:.3f}]"
    return text if detected(res) else f"not detected (best held-out {text})"


def provenance(res: Any) -> str:
    """One line on how an estimate was obtained."""
    get = _getter(res)
    how = f"estimator {get('estimator')}" + (f" ({get('chosen')})" if get("chosen") else "")
    folds = f", {get('n_folds')}-fold CV" if get("n_folds") else ""
    return (f"{how}, n_fit {get('n_fit') or get('n_train')}, n_eval {get('n_eval') or get('n_test')}{folds}, "
            f"seed {get('seed')}, p={get('p_value'):.3g}")
