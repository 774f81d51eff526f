"""The public API across the move to states/, measures/, reports/, cli/: old paths warn and still work."""
from __future__ import annotations

import importlib
import sys

import pytest

import mi_toolkit
from mi_toolkit._moved import MOVED
from mi_toolkit.states import extract as states_extract


def test_extract_is_the_module_and_still_callable():
    assert mi_toolkit.extract is states_extract
    assert mi_toolkit.extract.HiddenStates is states_extract.HiddenStates
    assert callable(mi_toolkit.extract) and mi_toolkit.extract.extract is states_extract.extract
    from mi_toolkit.extract import ExtractConfig, extract  # the old import line
    assert extract is states_extract.extract and ExtractConfig is states_extract.ExtractConfig


@pytest.mark.parametrize("old", sorted(set(MOVED) - {"mi_toolkit.extract"}))
def test_old_module_paths_warn_and_serve_the_new_names(old, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match="moved to"):
        module = importlib.import_module(old)
    for new in MOVED[old]:
        target = importlib.import_module(new)
        public = [k for k in vars(target) if not k.startswith("_")]
        assert public and all(getattr(module, k) is getattr(target, k) for k in public)
