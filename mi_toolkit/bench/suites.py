"""The named suites of ``mi bench --suite NAME``: one registry every suite registers into.

Without ``--suite``, ``mi bench`` runs the built-in ground-truth tasks (:mod:`mi_toolkit.bench.synthetic`) and
``--real`` the real-state tasks; each named suite here is one :class:`BenchSuite` (its ``run`` computes
and returns a JSON-able dict, its ``show`` prints it). ``SUITES.list()`` feeds the option's choices
and ``SUITES.get`` names the valid ones on a typo; ``register`` raises on a duplicate name.

Import-light on purpose (the CLI imports this module to list the choices, and a bad option must be
answered in the time Python starts): register a suite here with ``run`` and ``show`` functions that
import their modules (torch, scikit-learn) when called.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from predgen_common.registry import Registry


@dataclass(frozen=True)
class SuiteOptions:
    """What ``mi bench`` passes to a suite: ``estimators`` (``None`` = the default for the kind of Y),
    samples per task ``n`` (a suite on a fixed data set reads at most its rows), ``seed``, ``device``."""

    quick: bool
    estimators: list[str | None]
    n: int
    seed: int
    device: str


@dataclass(frozen=True)
class BenchSuite:
    """``run(options) -> dict`` (JSON-able, written by ``--json``) and ``show(dict)`` (the console table)."""

    summary: str
    run: Callable[[SuiteOptions], dict[str, Any]]
    show: Callable[[dict[str, Any]], None]


SUITES: Registry[BenchSuite] = Registry("bench suite")


def register(name: str) -> Callable[[BenchSuite], BenchSuite]:
    """``register("name")(BenchSuite(...))``; raises ``ValueError`` on a duplicate name."""
    return SUITES.register(name)


def _run_consistency(opts: SuiteOptions) -> dict[str, Any]:
    from mi_toolkit.bench.consistency import run_consistency

    reports = [run_consistency(name, n=opts.n, seed=opts.seed, device=opts.device, quick=opts.quick)
               for name in opts.estimators]
    return {"suite": "consistency", "reports": [r.to_dict() for r in reports]}


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported when first called (the CLI lists the suites without importing them)."""
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)
    return call


register("consistency")(BenchSuite(
    "self-consistency on scikit-learn's digits (Song & Ermon 2020): data processing and additivity, within "
    "the intervals", _run_consistency, _lazy("mi_toolkit.reports.consistency", "print_consistency")))
register("bmi")(BenchSuite(
    "the bmi v1 tasks (Czyz et al. 2023): 40 continuous pairs with a known MI, accuracy within max(0.05, 15%), "
    "interval coverage, bounds above the truth, seconds per task", _lazy("mi_toolkit.bench.bmi", "run_bmi"),
    _lazy("mi_toolkit.bench.bmi", "show_bmi")))
register("real-continuous")(BenchSuite(
    "continuous targets on real SmolLM2 states: Y = f(Z) + Gaussian noise (linear, sin of PC1, |PC2|, one token "
    "position, none) with the truth by quadrature; share of the truth, excess over it",
    _lazy("mi_toolkit.bench.continuous_real", "run_suite"),
    _lazy("mi_toolkit.bench.continuous_real", "show_continuous_real")))
