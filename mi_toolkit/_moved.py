"""Old module paths of the flat layout, kept importable with a DeprecationWarning.

``import mi_toolkit.dpi`` (and the other names below) still works: a one-home move
gives the new module itself; a module split into a measure and its report gives a
module holding the names of both. New code imports the new paths.

``mi_toolkit.extract`` is the one old path that was also a function: the package attribute
``mi_toolkit.extract`` is the function ``states.extract.extract``, and ``import mi_toolkit.extract``
(which rebinds that attribute to what it imports) serves a copy of the module's names that is
callable as that function, so ``mi_toolkit.extract(...)`` keeps working after the old import line.
The module ``mi_toolkit.states.extract`` itself is never altered.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings
from typing import Sequence

MOVED: dict[str, tuple[str, ...]] = {
    "mi_toolkit.extract": ("mi_toolkit.states.extract",),
    "mi_toolkit._checkpoints": ("mi_toolkit.states.checkpoints",),
    "mi_toolkit.pca": ("mi_toolkit.states.pca",),
    "mi_toolkit.representations": ("mi_toolkit.states.representations", "mi_toolkit.measures.estimate"),
    "mi_toolkit.dpi": ("mi_toolkit.measures.dpi", "mi_toolkit.reports.dpi"),
    "mi_toolkit.sweep": ("mi_toolkit.measures.sweep", "mi_toolkit.reports.sweep"),
    "mi_toolkit.heatmap": ("mi_toolkit.measures.heatmap", "mi_toolkit.reports.heatmap"),
    "mi_toolkit.attribution": ("mi_toolkit.measures.attribution",),
    "mi_toolkit.report": ("mi_toolkit.reports.html",),
    "mi_toolkit.cli_models": ("mi_toolkit.cli.measures",),
    "mi_toolkit.pipeline": ("predgen_mi.pipeline", "mi_toolkit.cli.pipeline"),
}


# old paths that were also callable: path -> the function of the new module that a call runs
CALLABLE: dict[str, str] = {"mi_toolkit.extract": "extract"}


class CallableModule(types.ModuleType):
    """A copy of a moved module's names that calls the module's function :data:`CALLABLE` names."""

    def __call__(self, *args, **kwargs):
        return getattr(importlib.import_module(MOVED[self.__name__][0]), CALLABLE[self.__name__])(*args, **kwargs)


def merged(name: str, targets: Sequence[str]) -> types.ModuleType:
    """The module to serve for the old path ``name``: the new module, or the names of several."""
    modules = [importlib.import_module(t) for t in targets]
    if len(modules) == 1 and name not in CALLABLE:
        return modules[0]
    kind = CallableModule if name in CALLABLE else types.ModuleType
    out = kind(name, f"Moved: the names of {', '.join(targets)}.")
    for module in modules:
        out.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return out


class _MovedLoader(importlib.abc.Loader):
    def create_module(self, spec):  # noqa: D102
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {' and '.join(new)}; import it from there",
                      DeprecationWarning, stacklevel=3)
        module = merged(spec.name, new)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):  # noqa: D102
        return None


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths of :data:`MOVED` (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedLoader())


def install() -> None:
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
