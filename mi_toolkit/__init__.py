"""mi_toolkit: neural and k-NN mutual-information estimators for model representations."""
from __future__ import annotations

__version__ = "0.1.0"
