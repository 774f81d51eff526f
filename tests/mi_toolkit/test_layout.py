"""The public API across the move to states/, measures/, reports/, cli/: old paths warn and still work."""
from __future__ import annotations

import importlib
import sys

import pytest

import mi_toolkit
from mi_toolkit._moved import MOVED
from mi_toolkit.states import extract as states_extract


def test_extract_is_the_function_and_the_old_import_line_still_works(monkeypatch):
    monkeypatch.delitem(sys.modules, "mi_toolkit.extract", raising=False)
    monkeypatch.delitem(vars(mi_toolkit), "extract", raising=False)
    assert mi_toolkit.extract is states_extract.extract  # lazy attribute: the function
    assert type(states_extract) is type(sys)  # the real module is left as it is (no callable-module trick)
    with pytest.warns(DeprecationWarning, match="moved to"):
        from mi_toolkit.extract import ExtractConfig, extract  # the old import line
    assert extract is states_extract.extract and ExtractConfig is states_extract.ExtractConfig
    assert mi_toolkit.extract.HiddenStates is states_extract.HiddenStates  # the old path's names
    assert callable(mi_toolkit.extract)  # and, after the old import, still callable as the function


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_module_paths_warn_and_serve_the_new_names(old, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match="moved to"):
        module = importlib.import_module(old)
    for new in MOVED[old]:
        target = importlib.import_module(new)
        public = [k for k in vars(target) if not k.startswith("_")]
        assert public and all(getattr(module, k) is getattr(target, k) for k in public)
