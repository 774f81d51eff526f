"""The ``ksg`` estimator: k-nearest-neighbour MI (Kraskov for continuous ``Y``, Ross 2014 for discrete),
on every scored row; nothing is trained (the terms are in :mod:`mi_toolkit.estimators.knn`)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from mi_toolkit.estimators.base import Estimator, Run, Task, held_out_rows
from mi_toolkit.estimators.evaluate import KNN_NOTE, evaluate_knn
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.estimators.specs import KSGConfig


@dataclass(frozen=True, kw_only=True)
class KSGEstimator(Estimator):
    """k-NN MI on the held-out rows of an explicit split (all rows otherwise: it fits nothing)."""

    config_cls: type = KSGConfig

    def estimate_task(self, task: Task, run: Run) -> MIResult:
        c, cfg, start = held_out_rows(task.checked, run.n_fit), self.cfg, time.perf_counter()
        mi, lo, hi, p = evaluate_knn(c.z, c.y, c.discrete, cfg, run.seed)
        return MIResult(
            mi=mi, ci_low=lo, ci_high=hi, estimator=self.name, ceiling=c.ceiling,
            above_ceiling=c.ceiling is not None and mi > c.ceiling, n_train=0, n_test=len(c.z),
            p_value=p, seconds=time.perf_counter() - start, seed=run.seed, config=asdict(cfg),
            interval_method=KNN_NOTE.format(b=cfg.n_bootstrap), discrete=c.discrete,
            n_classes=len(c.classes) if c.discrete else None,
        )
