"""Public API: :func:`estimate`, :func:`estimate_many` (batched critics) and :func:`fit_critic`.

Each registered estimator is an object with one interface (:class:`~mi_toolkit.estimators.base.Estimator`);
these functions pick one per kind of ``Y`` when none is named, give it its config and call it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from predgen_common.errors import UserError

from mi_toolkit.estimators import ESTIMATORS, Estimator, MIResult, Run, resolve
from mi_toolkit.estimators.base import prepare_tasks
from mi_toolkit.estimators.train import Prepared
from mi_toolkit.validate import as_states, check_task, flat, resolve_device

EstimatorChoice = str | Estimator | None


def estimate(Z, Y, estimator: EstimatorChoice = None, *, config: Any = None, seed: int = 0,
             device: str = "auto", test_size: float = 0.3, contains: Mapping[str, Any] | None = None) -> MIResult:
    """Estimate ``I(Y; Z)`` in nats with a held-out protocol.

    ``Z``: float ``(N, d)``, ``(N, n, d)`` token states, or :class:`~mi_toolkit.estimators.views.TokenStates`
    (token states of varying lengths with their mask: ``TokenStates(z, mask)``); the critic estimators read
    token states flattened, ``probe`` reads them with the sequence probe. ``Y``: integer ``(N,)`` (discrete)
    or float ``(N,)`` / ``(N, k)`` (continuous). ``estimator``: a registered name, an
    :class:`~mi_toolkit.estimators.base.Estimator` object, or None for the documented default for the kind
    of ``Y``.

    ``contains`` (``probe`` and ``binned``): the parts ``Z`` contains, ``{name: part}``, each an input
    with the same rows or a function of ``Z`` (e.g. ``lambda Z: Z[:, -576:]``); their
    candidates join ``Z``'s, so ``Z`` cannot read below a part except by selection noise.

    With ``estimator=None``, float ``Y`` of at most 10 whole-number values (e.g. 0.0/1.0) is read
    as class labels, noted in ``result.config["input_notes"]``.
    """
    tasks, _ = prepare_tasks([(as_states(Z), Y)], contains=[contains] if contains else None,
                             labels_by_value=estimator is None)
    return _run(tasks, estimator, config, Run(seed, resolve_device(device), test_size))[0]


def estimate_many(tasks: Sequence[tuple[Any, Any]], estimator: EstimatorChoice = None, *,
                  config: Any = None, seed: int = 0, device: str = "auto", test_size: float = 0.3,
                  test: Sequence[tuple[Any, Any]] | None = None,
                  contains: Sequence[Mapping[str, Any] | None] | None = None) -> list[MIResult]:
    """Estimate MI for many ``(Z, Y)`` tasks; trained critics of the same shape train as one model.

    Tasks with the same ``N`` and the same kind of ``Y`` (class count or target
    width) form one group whose critics are stacked (feature widths zero-padded)
    and trained together; each critic still early-stops on its own validation
    curve. ``seconds`` of a batched result is the group's wall time divided by
    its size.

    ``test``: optional explicit held-out sets, one ``(Z_eval, Y_eval)`` per task. Then
    ``tasks`` are the fit sets (train + validation slice) and ``test_size`` is
    ignored; k-NN estimators, which fit nothing, use the held-out sets only; ``probe``
    selects by cross-validation on the fit set, refits and scores the held-out set.
    Without ``test``, ``probe`` cross-fits over all rows (``test_size`` unused).

    ``contains``: per task, the parts it contains (see :func:`estimate`); with ``test``, a
    part is a function of the input or a ``(fit_part, eval_part)`` pair.

    Float targets are read as the caller gives them (a regression dataset's float targets stay
    continuous); features beyond 1e15 are always rescaled.
    """
    prepared, n_fit = prepare_tasks(tasks, test, contains)
    return _run(prepared, estimator, config, Run(seed, resolve_device(device), test_size, n_fit))


def _run(tasks: list, estimator: EstimatorChoice, config: Any, run: Run) -> list[MIResult]:
    """Each task's estimator (the default for its kind of ``Y`` when ``estimator`` is None), given
    ``config``; tasks of one estimator run together, results in the tasks' order."""
    chosen = [resolve(estimator, t.checked.discrete) for t in tasks]
    by_name: dict[str, list[int]] = {}
    for i, est in enumerate(chosen):
        by_name.setdefault(est.name, []).append(i)
    objects = {est.name: est.with_config(config) if config is not None else est for est in chosen}
    for est in objects.values():   # every config and input checked before any estimator runs
        est.check_tasks([tasks[i] for i in by_name[est.name]])
    results: list[MIResult | None] = [None] * len(tasks)
    for name, members in by_name.items():
        for i, res in zip(members, objects[name].estimate_tasks([tasks[i] for i in members], run)):
            results[i] = res
    return results  # type: ignore[return-value]


@dataclass
class FittedCritic:
    """A trained critic for pointwise scoring (e.g. token-level heatmaps).

    ``pmi(Z, y)`` is ``T(z, y) - log E_{p(z)p(y)} e^T`` with the normaliser estimated
    on the held-out split; for the ``classifier`` critic it is ``log q(y|z) - log p(y)``.
    ``result`` is the held-out :class:`MIResult` of the same critic.
    """

    spec: Estimator
    critic: torch.nn.Module
    prep: Prepared
    classes: np.ndarray | None
    log_norm: float
    device: torch.device
    result: MIResult

    @torch.no_grad()
    def scores(self, Z, y_candidates=None) -> np.ndarray:
        """Raw critic scores ``T(z_i, y_j)``: ``Z (N, d)`` -> ``(N, C)``.

        Discrete: ``y_candidates`` are original label values (default: every class).
        Continuous: ``(C,)`` or ``(C, k)`` target values.
        """
        z = np.asarray(Z, dtype=np.float64)
        z = z.reshape(len(z), -1)
        scaler, ytf = self.prep.transforms
        zt = torch.from_numpy(scaler.transform(z).astype(np.float32)).to(self.device)[None]
        zf = self.critic.embed_z(zt)
        if self.classes is not None:
            cand = self.classes if y_candidates is None else np.asarray(y_candidates)
            codes = np.searchsorted(self.classes, cand)
            if (codes >= len(self.classes)).any() or (self.classes[np.minimum(codes, len(self.classes) - 1)] != cand).any():
                raise UserError(f"unknown label in y_candidates; valid labels: {self.classes.tolist()}")
            return self.critic.matrix(zf)[0][:, torch.from_numpy(codes).to(self.device)].cpu().numpy()
        if y_candidates is None:
            raise UserError("continuous critic: pass y_candidates, an array of target values")
        yc = np.asarray(y_candidates, dtype=np.float64).reshape(len(y_candidates), -1)
        yt = torch.from_numpy(ytf.transform(yc).astype(np.float32)).to(self.device)[None]
        return self.critic.matrix(zf, self.critic.embed_y(yt))[0].cpu().numpy()

    def pmi(self, Z, y_candidates=None) -> np.ndarray:
        """Pointwise MI estimate ``(N, C)``: ``T(z, y) - log E_{p(z)p(y)} e^T``."""
        return self.scores(Z, y_candidates) - self.log_norm


def fit_critic(Z, Y, estimator: EstimatorChoice = None, *, config: Any = None, seed: int = 0,
               device: str = "auto", test_size: float = 0.3) -> FittedCritic:
    """Train one critic on ``(Z, Y)`` and keep it for pointwise scoring (see :class:`FittedCritic`)."""
    c = check_task(flat(as_states(Z)), Y)
    if c.columns is not None:   # the critic's pointwise scores index one label's classes
        raise UserError(f"fit_critic reads one label (N,), got {c.columns.shape[1]} label columns; code them "
                        "into one (e.g. k * y0 + y1) or fit one critic per column")
    est = resolve(estimator, c.discrete)
    if estimator is None and not est.keeps_critic:
        est = ESTIMATORS.get("classifier")  # the default estimator keeps no critic; the classifier's is the pointwise one
    if not est.keeps_critic:
        raise UserError(f"estimator {est.name!r} has no critic; choose a neural one: "
                        + ", ".join(n for n in ESTIMATORS.list() if ESTIMATORS.get(n).keeps_critic))
    est = est.with_config(config) if config is not None else est
    dev = resolve_device(device)
    results, critic, preps, held = est.fit([c], Run(seed, dev, test_size))
    return FittedCritic(est, critic, preps[0], c.classes, float(held.log_norm[0]), dev, results[0])
