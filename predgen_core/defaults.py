"""Defaults a user can set from the environment (a light module: the CLIs read it before any heavy import)."""
from __future__ import annotations

import os

DEFAULT_MODEL = "smollm2-135m"
MODEL_ENV = "PREDGEN_MODEL"  # the base model of `predgen train|zero-shot` and `mi pipeline` when --model is not given


def default_model() -> str:
    """``$PREDGEN_MODEL`` if set (e.g. ``tiny-llama`` for a smoke test of a whole workflow), else SmolLM2-135M."""
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL
