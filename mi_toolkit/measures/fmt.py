"""How an estimate is written in messages, tables and hover text."""
from __future__ import annotations

from typing import Any


def _getter(res: Any):
    return res.get if isinstance(res, dict) else lambda k: getattr(res, k)


def fmt_result(res: Any) -> str:
    """``0.512 [0.470, 0.556]`` from an MIResult-like object or dict."""
    get = _getter(res)
    return f"{get('mi'):.3f} [{get('ci_low'):.3f}, {get('ci_high'):.3f}]"


def provenance(res: Any) -> str:
    """One line on how an estimate was obtained."""
    get = _getter(res)
    return (f"estimator {get('estimator')}, n_train {get('n_train')}, n_test {get('n_test')}, "
            f"seed {get('seed')}, p={get('p_value'):.3g}")
