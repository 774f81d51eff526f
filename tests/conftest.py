"""Shared fixtures. Unit tests never load real weights; see tests/fixtures.py for the tiny model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MI_TOOLKIT_SHARED_DATA", REPO.parent / "shared" / "data"))

# Tests never touch the network or the user's real cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets one private cache folder, except the model cache which is shared
    so that the dequantised SmolLM2 weights are built once per machine."""
    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
