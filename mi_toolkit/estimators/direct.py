"""Estimators that split or cross-fit themselves, given as one function (``binned``, ``gaussian``).

``run(checked, config, seed, n_fit[, parts][, device]) -> MIResult``: ``checked`` is the validated task
(``z (N, d)`` float64, ``y`` codes or float ``(N, k)``), rows ``:n_fit`` the fit set of an explicit
held-out split. A ``run`` that takes ``parts`` nests (reads ``contains=``); one that takes ``device``
gets the resolved device. A bound whose config names a ``companion`` critic gets that critic's reading
beside it, labelled "estimate, not a bound" (:mod:`mi_toolkit.estimators.companion`), unless the run
says why not (``config["estimate_skipped"]``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from mi_toolkit.estimators.base import Estimator, Run, Task
from mi_toolkit.estimators.companion import companion_estimate
from mi_toolkit.estimators.probe import resolve_parts
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.ground import as_input
from mi_toolkit.validate import flat


TOKENS_PART = "tokens"   # the part under which a nesting direct estimator also gets token states as such


@dataclass(frozen=True, kw_only=True)
class DirectEstimator(Estimator):
    """An estimator given by its ``run`` function; ``companions``: where a companion critic named by the
    config is looked up (the estimator registry)."""

    run: Callable[..., MIResult]
    companions: Any = field(default=None, repr=False, compare=False)

    @property
    def nests(self) -> bool:
        return "parts" in inspect.signature(self.run).parameters

    def estimate_task(self, task: Task, run: Run) -> MIResult:
        c, cfg = task.checked, self.cfg
        res = self.run(c, cfg, run.seed, run.n_fit, **self._options(task, run))
        name = getattr(cfg, "companion", None)
        if name and res.is_bound and not c.discrete and self.companions is not None and not res.estimate_skipped:
            res.estimate = companion_estimate(c.z, c.y, self.companions.get(name), run.seed, run.n_fit,
                                              str(run.device))
        return res

    def _options(self, task: Task, run: Run) -> dict[str, Any]:
        """What ``run`` takes beyond the task, when it takes it: the parts as ``(N, features)`` arrays and
        the device."""
        params = inspect.signature(self.run).parameters
        out: dict[str, Any] = {"device": str(run.device)} if "device" in params else {}
        n = len(task.checked.y)
        if task.parts and "parts" in params:
            out["parts"] = {name: flat(v).reshape(n, -1).astype(np.float64)
                            for name, v in resolve_parts(task.states, task.parts, n).items() if name}
        if "parts" in params and np.ndim(getattr(task.states, "z", task.states)) == 3:
            # token states reach a direct estimator flattened; one that nests also gets them as they are (Z
            # itself, so a part it contains) for the readers that use their positions
            out.setdefault("parts", {})[TOKENS_PART] = as_input(task.states)
        return out
