"""Test helpers shared by every part: the tiny model and small data files.

Importing this module points ``PREDGEN_MODEL_CACHE`` at the machine's real model
cache (unless already set), so the SmolLM2 tokenizer and dequantised weights are
built once per machine rather than once per test session; everything else a
test writes goes to the per-session cache that tests/conftest.py sets up.
"""
from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any, Iterable

_user_cache = os.environ.get("PREDGEN_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "predgen"
)
os.environ.setdefault("PREDGEN_MODEL_CACHE", os.path.join(_user_cache, "models"))


@functools.lru_cache(maxsize=1)
def _tiny_once() -> tuple[Any, Any]:
    from predgen_core.models import load_base_model

    return load_base_model("tiny-llama")


def tiny_lm() -> tuple[Any, Any]:
    """A fresh copy of the seeded tiny Llama (hidden 64, 2 layers) and the shared SmolLM2 tokenizer."""
    model, tok = _tiny_once()
    return copy.deepcopy(model), tok


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
