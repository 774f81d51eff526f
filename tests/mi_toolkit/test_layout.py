"""The public API after the move to states/, measures/, reports/, cli/ (issue 21, item 5): the old flat module
paths are gone (nothing in the repository, its docs, analyses or benchmarks imports them), and
``mi_toolkit.extract`` is the function, with no callable-module trick."""
from __future__ import annotations

import importlib
import sys

import pytest

import mi_toolkit
from mi_toolkit.states import extract as states_extract

OLD = ("mi_toolkit.extract", "mi_toolkit._checkpoints", "mi_toolkit.pca", "mi_toolkit.representations",
       "mi_toolkit.dpi", "mi_toolkit.sweep", "mi_toolkit.heatmap", "mi_toolkit.attribution", "mi_toolkit.report",
       "mi_toolkit.cli_models", "mi_toolkit.pipeline", "mi_toolkit._moved",
       # the suites of `mi bench`, now in mi_toolkit.bench (issue 21, item 2)
       "mi_toolkit.bench_bmi", "mi_toolkit.bench_suites", "mi_toolkit.consistency", "mi_toolkit.estimators.realbench",
       "mi_toolkit.estimators.groundtruth_real")


def test_extract_is_the_function_of_states_extract(monkeypatch):
    monkeypatch.delitem(vars(mi_toolkit), "extract", raising=False)
    assert mi_toolkit.extract is states_extract.extract  # lazy attribute: the function
    assert type(states_extract) is type(sys)  # the real module is a plain module


@pytest.mark.parametrize("old", OLD)
def test_old_module_paths_are_gone(old):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_no_import_hook_is_installed():
    assert not [f for f in sys.meta_path if type(f).__module__.startswith("mi_toolkit")]
