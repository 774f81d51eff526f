from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures import tiny_lm  # noqa: E402


@pytest.fixture
def tiny():
    """(model, tokenizer): a fresh tiny Llama per test, in eval mode."""
    return tiny_lm()
