"""mi_toolkit: mutual-information estimators for model representations.

Packages (docs/ARCHITECTURE.md): ``estimators`` (arrays in, estimates out),
``states`` (checkpoints, extraction, PCA, representations), ``measures`` (result
objects), ``reports`` (HTML and console), ``cli`` (the ``mi`` command). The old flat
module paths (``mi_toolkit.dpi`` ...) still import, with a DeprecationWarning.

``mi_toolkit.extract`` is the module ``mi_toolkit.states.extract`` and is also callable
as its function ``extract(checkpoint, dataset, split, ...)``, so both
``mi_toolkit.extract(...)`` and ``mi_toolkit.extract.HiddenStates`` work.
"""
from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "0.1.0"

from mi_toolkit import _moved  # noqa: E402
from mi_toolkit.api import FittedCritic, estimate, estimate_many, fit_critic  # noqa: E402
from mi_toolkit.estimators import ESTIMATORS, MIResult  # noqa: E402
from mi_toolkit.states import extract as _extract_module  # noqa: E402


class _CallableModule(types.ModuleType):
    """A module that calls its function of the same name when called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.extract(*args, **kwargs)


_extract_module.__class__ = _CallableModule
extract = _extract_module
sys.modules.setdefault("mi_toolkit.extract", _extract_module)
_moved.install()

__all__ = ["ESTIMATORS", "FittedCritic", "MIResult", "estimate", "estimate_many", "extract", "fit_critic"]
