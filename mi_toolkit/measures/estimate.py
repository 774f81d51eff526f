"""MI of one representation on fixed splits: the critic fits on one split, reports on another.

:func:`estimate_split` fits critics on the fit split and reports on the evaluation
split (not a random split of one pool), as ``mi estimate --model`` promises. :func:`estimate_for` reads a
model's states through its :class:`~mi_toolkit.measures.setting.Setting`, so its fit pool leaves out the
model's training examples and follows the evaluation pool's lengths, as ``mi dpi`` and ``mi pca-sweep`` do.
:class:`Estimation` is how every measure estimates: estimator, config, seed and device, together.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from mi_toolkit.api import estimate_many
from mi_toolkit.estimators import Estimator, default_estimator, resolve
from mi_toolkit.measures.setting import Setting
from mi_toolkit.ground import POOLINGS
from mi_toolkit.states.representations import Representation, build, labels_array, plugin_entropy


@dataclass(frozen=True)
class Estimation:
    """How a measure estimates: the estimator (a registered name, an estimator object, or None: the default
    for the labels), its ``config``, the ``seed`` and the ``device``; the four travel together from a
    measure to :func:`mi_toolkit.estimate_many`."""

    estimator: Any = None
    config: Any = None
    seed: int = 0
    device: str = "auto"

    @classmethod
    def of(cls, setting: Setting, estimator: Any = None, config: Any = None) -> "Estimation":
        """The estimation of a measure read in ``setting``: its seed and device."""
        return cls(estimator, config, setting.seed, setting.device)

    def named(self, y: np.ndarray) -> "Estimation":
        """This estimation with its estimator named: the default for labels ``y`` (``probe`` for integer
        labels, ``binned`` otherwise) when none was chosen."""
        if self.estimator:
            return self
        return replace(self, estimator=default_estimator(bool(np.issubdtype(np.asarray(y).dtype, np.integer))))

    @property
    def chosen(self) -> Estimator:
        """The estimator object (after :meth:`named`)."""
        if self.estimator is None:
            raise ValueError("name the estimator first (Estimation.named)")
        return resolve(self.estimator, discrete=True)   # named: the kind of Y no longer matters

    @property
    def nests(self) -> bool:
        """Whether a container's estimate takes its parts' candidates (``contains=``): nesting by construction."""
        return self.chosen.nests

    @property
    def nests_token_states(self) -> bool:
        """Whether the full token states can be estimated as a container of their pooled states."""
        return self.chosen.nests and self.chosen.reads_token_states

    def many(self, tasks: Sequence[tuple[Any, Any]], *, test: Sequence[tuple[Any, Any]] | None = None,
             contains: Sequence[Mapping[str, Any] | None] | None = None) -> list:
        """:func:`mi_toolkit.estimate_many` of ``tasks`` with this estimator, config, seed and device."""
        return estimate_many(tasks, self.estimator, seed=self.seed, device=self.device, config=self.config,
                             test=test, contains=contains)


def estimate_split(tasks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                   estimator: str | None = None, *, seed: int = 0, device: str = "auto",
                   config: Any = None) -> list:
    """MI on explicit splits: each task is ``(Z_fit, Y_fit, Z_eval, Y_eval)``; critics train on
    the fit split (early-stopping on part of it) and are evaluated on the evaluation split.
    All tasks go to :func:`mi_toolkit.estimate_many` as one batched job."""
    return Estimation(estimator, config, seed, device).many([(t[0], t[1]) for t in tasks],
                                                            test=[(t[2], t[3]) for t in tasks])


def estimate_for(setting: Setting, rep: Representation | None = None, *, estimator: str | None = None,
                 config: Any = None) -> tuple[Any, dict[str, Any]]:
    """I(Y; representation of the one model of ``setting``): critic fitted on its fit pool (disjoint from the
    model's training examples, drawn like the evaluation pool, as every model measure draws it), reported on
    its evaluation pool. Returns ``(MIResult, info)`` with ``info`` saying what was measured: the
    representation, the pools and the setting."""
    rep = rep or Representation()
    reading = setting.read()
    fit, ev = reading.only.fit, reading.only.eval
    zf, ze = build(rep, fit, ev)
    y_fit, y_eval = labels_array(fit.labels), labels_array(ev.labels)
    how = Estimation.of(setting, estimator, config).named(y_eval)
    # the full states contain every pooled state (a generator's include its generated tokens, so their "last"
    # is not the pooled state): their candidates join, as in mi dpi, and full cannot read below pooled
    parts = ({f"pooled_{g}": (fit.pooled(g), ev.pooled(g)) for g in POOLINGS}
             if rep.kind == "full" and how.nests_token_states else None)
    res = how.many([(zf, y_fit)], test=[(ze, y_eval)], contains=[parts] if parts else None)[0]
    info = {"representation": rep.label, "tokens_used": ev.used, "dataset": setting.dataset,
            "fit_split": setting.fit_split, "eval_split": setting.eval_split, "layer": setting.layer,
            "max_samples": setting.n_fit, "method": ev.manifest.get("meta", {}).get("method"),
            "ceiling_eval": plugin_entropy(ev.labels), "pools": reading.pools.to_dict(),
            "warnings": reading.pools.warnings, "setting": setting.to_dict()}
    return res, info
