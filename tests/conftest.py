"""Shared fixtures. Unit tests never load real weights; see tests/fixtures.py for the tiny model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MI_TOOLKIT_SHARED_DATA", REPO.parent / "shared" / "data"))

# Tests never touch the network. Everything they write goes to a per-session cache
# (below), except the model cache: the SmolLM2 tokenizer and dequantised weights are
# deterministic functions of the installed GGUF, so they are built once per machine.
# One thread per process: the tests run tiny models, where a second torch/BLAS thread on a
# 2-core machine only adds contention (the whole suite ran several times slower with two),
# and several tests start child processes that inherit this.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_user_cache = os.environ.get("PREDGEN_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "predgen"
)
os.environ.setdefault("PREDGEN_MODEL_CACHE", os.path.join(_user_cache, "models"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets one private cache folder (the model cache excepted, above)."""
    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """The tests marked slow run first, the longest first (``slow(seconds=...)``): under pytest-xdist a slow test
    that starts last (the README block, about three minutes) decides the suite's wall time; serially the order
    changes nothing."""
    def first(item: pytest.Item) -> float:
        mark = item.get_closest_marker("slow")
        return -mark.kwargs.get("seconds", 20) if mark else 0.0
    items.sort(key=first)   # stable: the rest keep their order
