"""The trained-critic estimators (MINE, InfoNCE, SMILE, NWJ, the classifier): one object per bound.

A :class:`NeuralEstimator` says which bound it reports, how its marginal term is formed and which
critic it trains (:class:`~mi_toolkit.estimators.specs.CriticSpec`); the shared trainer (``train.py``)
and read-out (``evaluate.py``) do the rest. Tasks of one ``N`` and kind of ``Y`` train as one stacked
model (feature widths zero-padded); each critic still early-stops on its own validation curve.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Literal, Sequence

import torch

from mi_toolkit.estimators.base import Estimator, Run, Task
from mi_toolkit.estimators.evaluate import BOOTSTRAP_NOTE, HeldOut, evaluate_critics
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.estimators.specs import Marginal, NeuralConfig
from mi_toolkit.estimators.train import Prepared, prepare, train_critics
from mi_toolkit.validate import Checked


@dataclass(frozen=True, kw_only=True)
class NeuralEstimator(Estimator):
    """A variational bound maximised by a trained critic (fields: see :class:`~mi_toolkit.estimators.specs.CriticSpec`)."""

    config_cls: type = NeuralConfig
    bound: Callable
    marginal: Marginal = "exclusive"
    critic: Literal["ratio", "density"] = "ratio"
    trainer: Literal["bound", "mine", "js"] = "bound"
    null_score: float = 0.0

    @property
    def keeps_critic(self) -> bool:
        return True

    def estimate_group(self, tasks: Sequence[Task], run: Run) -> list[MIResult]:
        """One stacked critic model for the group; ``seconds`` of each result is the group's wall time
        divided by its size (one tick per task at the end)."""
        results, *_ = self.fit([t.checked for t in tasks], run)
        for _ in results:
            run.tick()
        return results

    def fit(self, checked: Sequence[Checked], run: Run) -> tuple[list[MIResult], torch.nn.Module, list[Prepared],
                                                                  HeldOut]:
        """Train, read out and wrap one stacked group: ``(results, critic, preps, held)``."""
        cfg, start = self.cfg, time.perf_counter()
        torch.manual_seed(run.seed)
        n_classes = max(len(c.classes) for c in checked) if checked[0].discrete else None
        preps = [prepare(c.z, c.y, c.discrete, run.test_size, cfg.val_fraction, run.seed, n_classes, n_fit=run.n_fit)
                 for c in checked]
        critic, curve, lr = train_critics(self, cfg, preps, run.device, run.seed)
        held = evaluate_critics(self, cfg, critic, preps, run.device, run.seed)
        seconds = (time.perf_counter() - start) / len(checked)
        config = {**asdict(cfg), "lr_used": lr, "test_size": run.test_size, "batched_with": len(checked)}
        out = [self._result(k, c, preps[k], held, [row[k] for row in curve], run, seconds, config)
               for k, c in enumerate(checked)]
        return out, critic, preps, held

    def _result(self, k: int, c: Checked, prep: Prepared, held: HeldOut, curve: list, run: Run, seconds: float,
                config: dict[str, Any]) -> MIResult:
        """Critic ``k`` of a stacked group as an :class:`MIResult` (``curve``: its validation curve)."""
        mi, ceiling = float(held.mi[k]), held_out_ceiling(prep)
        return MIResult(
            mi=mi, ci_low=float(held.ci_low[k]), ci_high=float(held.ci_high[k]), estimator=self.name,
            ceiling=ceiling, above_ceiling=ceiling is not None and mi > ceiling,
            n_train=len(prep.y["train"]) + len(prep.y["val"]), n_test=held.n_test,
            p_value=float(held.p_value[k]), seconds=seconds, seed=run.seed, config=dict(config),
            curve=curve, interval_method=BOOTSTRAP_NOTE.format(b=self.cfg.n_bootstrap),
            discrete=c.discrete, n_classes=len(c.classes) if c.discrete else None, device=str(run.device),
        )


def held_out_ceiling(prep: Prepared) -> float | None:
    """The most a discrete estimate can read with the prior it uses: ``mean -log p(y)`` over the
    held-out labels, ``p`` the train-split prior of the critic (not the plug-in over all rows)."""
    if not prep.discrete:
        return None
    return float(-prep.log_prior[prep.y["test"]].mean())
