"""Inputs a probe reads, and the protocol every probe candidate follows.

Two kinds of input reach the probe engine:

- a plain array ``(N, d)`` (a pooled state, a flattened PCA block, ...);
- :class:`TokenStates`: variable-length token states ``(N, n_max, d)`` with a
  ``(N, n_max)`` mask, e.g. prompt plus generated tokens of each example.

A :class:`ProbeCandidate` turns a seed into an unfitted scikit-learn-style estimator
with ``fit(X, y_codes) -> self`` and ``predict_log_proba(X) -> (n, C)`` (all ``C``
classes, in code order, even when a fold lacks one). The engine selects among
candidates by cross-validated log-loss on the same folds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from predgen_core.methods.heads import POOLINGS  # one list of poolings for training heads and probes

# The input types live on the ground floor (mi_toolkit.ground) so that states/ and validate need not
# import the estimators; re-exported here, where the probe engine and its users have always found them.
from mi_toolkit.ground import TokenStates, as_input

__all__ = ["POOLINGS", "Estimator", "ProbeCandidate", "TokenStates", "as_input"]


class Estimator(Protocol):
    def fit(self, X: Any, y: np.ndarray) -> "Estimator": ...
    def predict_log_proba(self, X: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class ProbeCandidate:
    """One probe the engine may choose: a name (kept in the result) and a factory.

    ``make(seed, n_classes)`` returns an unfitted estimator; ``view`` (optional) maps the
    engine's input to what this candidate reads (e.g. a part of a container), so that a
    container's candidate set can include each part's candidates (nesting by construction).
    """

    name: str
    make: Callable[[int, int], Estimator]
    view: Callable[[Any], Any] | None = None

    def read(self, X: Any) -> Any:
        return X if self.view is None else self.view(X)
