"""predgen_core: train Predictor, Generator and PredGen checkpoints with PEFT.

The package import is light (no transformers); heavy names load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

from predgen_core.errors import UserError
from predgen_core.registry import Registry

__all__ = ["UserError", "Registry", "__version__"]
