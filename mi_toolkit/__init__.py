"""mi_toolkit: neural and k-NN mutual-information estimators for model representations."""
from __future__ import annotations

__version__ = "0.1.0"

from mi_toolkit.api import FittedCritic, estimate, estimate_many, fit_critic  # noqa: E402
from mi_toolkit.estimators import ESTIMATORS, MIResult  # noqa: E402
from mi_toolkit.extract import extract  # noqa: E402  (the function; the module stays importable)

__all__ = ["ESTIMATORS", "FittedCritic", "MIResult", "estimate", "estimate_many", "extract", "fit_critic"]
