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
import random
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


# Small SST-2 style data: "funny" only in positive sentences, "dull" only in negative ones.
POS = ["a funny film", "funny and warm", "a funny delight", "funny , smart and kind"]
NEG = ["a dull film", "dull and long", "a dull mess", "dull , flat and cold"]


def write_sst2(root: Path, n: int = 80, seed: int = 0, unique: bool = False) -> Path:
    """``root/sst2/{train,validation}.tsv`` with ``n`` rows each, alternating labels.

    ``unique``: every sentence distinct (a row number is appended), so that a fit pool with
    the LMs' training sentences removed is not empty."""
    rng = random.Random(seed)
    (root / "sst2").mkdir(parents=True, exist_ok=True)
    for split in ("train", "validation"):
        rows = [f"{rng.choice(POS if i % 2 else NEG)}{f' , take {i}' if unique else ''}\t{i % 2}" for i in range(n)]
        (root / "sst2" / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    return root


def accelerate_launcher() -> str:
    """The ``accelerate`` console script of this interpreter's environment (part of the install)."""
    import shutil
    import sys

    launcher = Path(sys.executable).with_name("accelerate")
    found = str(launcher) if launcher.exists() else shutil.which("accelerate")
    assert found, "accelerate's launcher is part of the install"
    return found
