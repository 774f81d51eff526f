"""mi_toolkit: mutual-information estimators for model representations.

Packages (docs/ARCHITECTURE.md): ``estimators`` (arrays in, estimates out),
``states`` (checkpoints, extraction, PCA, representations), ``measures`` (result
objects), ``reports`` (HTML and console), ``cli`` (the ``mi`` command). The old flat
module paths of before that layout (``mi_toolkit.dpi``, ``mi_toolkit.extract`` as a module, ...) are gone:
import from the packages above.

The public names load on first use (module ``__getattr__``), so ``import mi_toolkit`` (and the
``mi`` command, which checks its arguments before any work) costs no torch or scikit-learn:
``mi_toolkit.estimate``, ``estimate_many``, ``fit_critic``, ``FittedCritic`` (``mi_toolkit.api``),
``ESTIMATORS``, ``MIResult`` (``mi_toolkit.estimators``) and ``extract``, the function
``mi_toolkit.states.extract.extract(checkpoint, dataset, split, ...)``.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> (module, attribute): imported on first access, then kept in the package's namespace
_LAZY: dict[str, tuple[str, str]] = {
    "estimate": ("mi_toolkit.api", "estimate"),
    "estimate_many": ("mi_toolkit.api", "estimate_many"),
    "fit_critic": ("mi_toolkit.api", "fit_critic"),
    "FittedCritic": ("mi_toolkit.api", "FittedCritic"),
    "ESTIMATORS": ("mi_toolkit.estimators", "ESTIMATORS"),
    "MIResult": ("mi_toolkit.estimators", "MIResult"),
    "extract": ("mi_toolkit.states.extract", "extract"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a public name on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'mi_toolkit' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
