"""Public API: :func:`estimate`, :func:`estimate_many` (batched critics) and :func:`fit_critic`."""
from __future__ import annotations

import inspect
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from predgen_common.errors import UserError
from predgen_common.progress import Phase

from mi_toolkit.estimators import ESTIMATORS, EstimatorSpec, MIResult, default_estimator
from mi_toolkit.estimators.companion import companion_estimate
from mi_toolkit.estimators.evaluate import BOOTSTRAP_NOTE, KNN_NOTE, evaluate_critics, evaluate_knn
from mi_toolkit.estimators.probe import probe_result, resolve_parts
from mi_toolkit.estimators.train import Prepared, prepare, train_critics
from mi_toolkit.validate import (Checked, as_states, check_config, check_task, concat_inputs, flat,
                                 float_labels_as_classes, resolve_device, tame_scale)


def estimate(Z, Y, estimator: str | None = None, *, config: Any = None, seed: int = 0,
             device: str = "auto", test_size: float = 0.3, contains: Mapping[str, Any] | None = None,
             mask: Any = None) -> MIResult:
    """Estimate ``I(Y; Z)`` in nats with a held-out protocol.

    ``Z``: float ``(N, d)``, ``(N, n, d)`` token states (with ``mask (N, n)`` when lengths
    vary), or :class:`~mi_toolkit.estimators.views.TokenStates`; the critic estimators read
    token states flattened, ``probe`` reads them with the sequence probe. ``Y``: integer
    ``(N,)`` (discrete) or float ``(N,)`` / ``(N, k)`` (continuous). ``estimator=None``
    picks the documented default for the kind of ``Y``.

    ``contains`` (``probe`` and ``binned``): the parts ``Z`` contains, ``{name: part}``, each an input
    with the same rows or a function of ``Z`` (e.g. ``lambda Z: Z[:, -576:]``); their
    candidates join ``Z``'s, so ``Z`` cannot read below a part except by selection noise.

    With ``estimator=None``, float ``Y`` of at most 10 whole-number values (e.g. 0.0/1.0) is read
    as class labels, noted in ``result.config["input_notes"]``.
    """
    return estimate_many([(as_states(Z, mask), Y)], estimator, config=config, seed=seed, device=device,
                         test_size=test_size, contains=[contains] if contains else None,
                         labels_by_value=estimator is None)[0]


def estimate_many(tasks: Sequence[tuple[Any, Any]], estimator: str | None = None, *,
                  config: Any = None, seed: int = 0, device: str = "auto", test_size: float = 0.3,
                  on_done: Callable[[int], None] | None = None,
                  test: Sequence[tuple[Any, Any]] | None = None,
                  contains: Sequence[Mapping[str, Any] | None] | None = None,
                  labels_by_value: bool = False) -> list[MIResult]:
    """Estimate MI for many ``(Z, Y)`` tasks; trained critics of the same shape train as one model.

    Tasks with the same ``N`` and the same kind of ``Y`` (class count or target
    width) form one group whose critics are stacked (feature widths zero-padded)
    and trained together; each critic still early-stops on its own validation
    curve. ``seconds`` of a batched result is the group's wall time divided by
    its size. ``on_done(k)`` is called after each group with its size.

    ``test``: optional explicit held-out sets, one ``(Z_eval, Y_eval)`` per task. Then
    ``tasks`` are the fit sets (train + validation slice) and ``test_size`` is
    ignored; k-NN estimators, which fit nothing, use the held-out sets only; ``probe``
    selects by cross-validation on the fit set, refits and scores the held-out set.
    Without ``test``, ``probe`` cross-fits over all rows (``test_size`` unused).

    ``contains``: per task, the parts it contains (see :func:`estimate`); with ``test``, a
    part is a function of the input or a ``(fit_part, eval_part)`` pair.

    ``labels_by_value``: float labels of few whole-number values are read as classes (what
    :func:`estimate` does without an estimator); off here, where a task's kind (e.g. a regression
    dataset's float targets) is given by the caller. Features beyond 1e15 are always rescaled.
    """
    if contains is not None and len(contains) != len(tasks):
        raise UserError(f"{len(contains)} contains= entries for {len(tasks)} tasks; pass one (or None) per task")
    inputs = [as_states(z) for z, _ in tasks]
    fixed = None
    if test is not None:
        inputs, tasks, contains, fixed = _with_held_out(inputs, tasks, test, contains)
    inputs, tasks, notes = _read_as(inputs, tasks, labels_by_value)
    checked = [check_task(flat(z), y, what=f"task {i}" if len(tasks) > 1 else "") for i, (z, y) in enumerate(tasks)]
    dev = resolve_device(device)
    names, specs = _choose_estimators(checked, estimator, config, contains)
    results: list[MIResult | None] = [None] * len(tasks)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(checked):
        width = len(c.classes) if c.discrete else c.y.shape[1]
        groups[(names[i], len(c.z), c.discrete, width)].append(i)
    # probing is a phase of its own (a bar on a terminal, else one line when it took 2 s or more)
    with Phase("probing", total=len(tasks), unit=f"representations of {len(checked[0].z) if checked else 0:,} rows",
               min_seconds=2.0) as phase:
        for (name, *_), members in groups.items():
            spec = specs[name]
            cfg = config if config is not None else spec.config_cls()
            parts = [contains[i] if contains is not None else None for i in members]
            group = _run_group(spec, cfg, [checked[i] for i in members], [inputs[i] for i in members], parts,
                               dev, seed, test_size, fixed, tick=phase.step)
            for i, res in zip(members, group):
                results[i] = res
                if notes[i]:  # what was done to the input before estimating, in the result's provenance
                    res.config = {**res.config, "input_notes": notes[i]}
            if on_done is not None:
                on_done(len(members))
    return results  # type: ignore[return-value]


def _read_as(inputs: list[Any], tasks: Sequence[tuple[Any, Any]], promote: bool,
             ) -> tuple[list[Any], list[tuple[Any, Any]], list[list[str]]]:
    """Extreme features rescaled (:func:`~mi_toolkit.validate.tame_scale`) and, with ``promote``,
    float labels of few whole-number values read as classes
    (:func:`~mi_toolkit.validate.float_labels_as_classes`); with one note per change."""
    out_inputs, out_tasks, notes = [], [], []
    for z, (_, y) in zip(inputs, tasks):
        z, scaled = tame_scale(z)
        y, classes = float_labels_as_classes(y) if promote else (y, None)
        out_inputs.append(z)
        out_tasks.append((z, y))
        notes.append([n for n in (classes, scaled) if n])
    return out_inputs, out_tasks, notes


def _with_held_out(inputs: list[Any], tasks: Sequence[tuple[Any, Any]], test: Sequence[tuple[Any, Any]],
                   contains: Sequence[Mapping[str, Any] | None] | None):
    """Each fit set joined with its explicit held-out set (fit rows first).

    Returns ``(inputs, tasks, contains, n_fit)``: the joined inputs, ``(Z, Y)`` over both sets,
    the parts over both sets, and the shared fit-set size ``n_fit`` (rows ``:n_fit`` are fit rows).
    """
    if len(test) != len(tasks):
        raise UserError(f"{len(test)} held-out sets for {len(tasks)} tasks; pass one per task")
    n_fit = {len(z) for z in inputs}
    if len(n_fit) != 1:
        raise UserError("with explicit held-out sets all tasks must share one fit-set size")
    joined = [concat_inputs(zf, as_states(ze)) for zf, (ze, _) in zip(inputs, test)]
    tasks = [(z, np.concatenate([np.asarray(yf), np.asarray(ye)])) for z, (_, yf), (_, ye) in zip(joined, tasks, test)]
    parts = [_joined_parts(c) for c in contains] if contains is not None else None
    return joined, tasks, parts, n_fit.pop()


def _choose_estimators(checked: list[Checked], estimator: str | None, config: Any,
                       contains: Sequence[Mapping[str, Any] | None] | None,
                       ) -> tuple[list[str], dict[str, EstimatorSpec]]:
    """Each task's estimator name (the default for its kind of ``Y`` when ``estimator`` is None) and
    the specs by name, after checking that ``config`` and ``contains`` suit them."""
    names = [estimator or default_estimator(c.discrete) for c in checked]
    specs = {name: ESTIMATORS.get(name) for name in set(names)}
    for name, spec in specs.items():
        check_config(spec, config)
        if spec.family == "probe" and not all(c.discrete for c, n in zip(checked, names) if n == name):
            raise UserError("estimator 'probe' reads discrete (integer) labels; for a continuous target "
                            "choose a continuous estimator (see mi estimate --help)")
    if contains is not None and any(c and not _nests(specs[n]) for c, n in zip(contains, names)):
        raise UserError("contains= is an option of probe and binned (nesting by construction); use one of them")
    return names, specs


def _run_group(spec: EstimatorSpec, cfg: Any, checked: list[Checked], inputs: list[Any],
               parts: list[Mapping[str, Any] | None], dev: torch.device, seed: int, test_size: float,
               n_fit: int | None, tick: Callable[[], None] = lambda: None) -> list[MIResult]:
    """The results of one group of tasks (same estimator, ``N`` and kind of ``Y``), in order; ``tick()``
    after each task (the neural critics train as one model: one tick each at the end)."""
    def ticked(result: MIResult) -> MIResult:
        tick()
        return result

    if spec.family == "knn":
        return [ticked(_knn_result(spec, cfg, _tail(c, n_fit), seed)) for c in checked]
    if spec.family == "probe":
        return [ticked(probe_result(resolve_parts(z, p, len(c.y)), c.y, len(c.classes), cfg, seed, dev, n_fit))
                for c, z, p in zip(checked, inputs, parts)]
    if spec.family == "direct":  # the estimator does its own split or cross-fit
        return [ticked(_with_companion(spec.run(c, cfg, seed, n_fit, **_direct_options(spec, z, p, len(c.y), dev)),
                                       cfg, c, seed, n_fit, dev))
                for c, z, p in zip(checked, inputs, parts)]
    results, *_ = _neural_group(spec, cfg, checked, dev, seed, test_size, n_fit=n_fit)
    return [ticked(r) for r in results]


def _nests(spec: EstimatorSpec) -> bool:
    """Whether an estimator reads ``contains=`` parts: the probe, and a direct one whose ``run`` takes ``parts``."""
    return spec.family == "probe" or (spec.run is not None and "parts" in inspect.signature(spec.run).parameters)


def _direct_options(spec: EstimatorSpec, z: Any, parts: Mapping[str, Any] | None, n: int,
                    dev: torch.device) -> dict[str, Any]:
    """What a direct estimator's ``run`` takes beyond the task, when it takes it: the ``contains=`` parts as
    ``(N, features)`` arrays and the device."""
    params = inspect.signature(spec.run).parameters
    out: dict[str, Any] = {"device": str(dev)} if "device" in params else {}
    if parts and "parts" in params:
        out["parts"] = {name: flat(v).reshape(n, -1).astype(np.float64)
                        for name, v in resolve_parts(z, parts, n).items() if name}
    return out


def _with_companion(res: MIResult, cfg: Any, c: Checked, seed: int, n_fit: int | None, dev: torch.device) -> MIResult:
    """A bound whose config names a ``companion`` critic (``binned``) gets that critic's reading beside it,
    labelled "estimate, not a bound" (:mod:`mi_toolkit.estimators.companion`)."""
    name = getattr(cfg, "companion", None)
    if name and res.is_bound and not c.discrete:
        res.estimate = companion_estimate(c.z, c.y, ESTIMATORS.get(name), seed, n_fit, str(dev))
    return res


def _joined_parts(parts: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """With an explicit held-out set, a ``(fit, eval)`` part becomes one input over both."""
    if not parts:
        return parts
    out = {}
    for name, part in parts.items():
        if callable(part):
            out[name] = part
        elif isinstance(part, tuple) and len(part) == 2:
            out[name] = concat_inputs(as_states(part[0]), as_states(part[1]))
        else:
            raise UserError(f"part {name!r}: with explicit held-out sets pass a function of the input or a "
                            "(fit_part, eval_part) pair")
    return out


def _tail(c: Checked, n_fit: int | None) -> Checked:
    """The held-out rows of a task with an explicit fit/held-out split (all rows otherwise)."""
    if n_fit is None:
        return c
    return Checked(c.z[n_fit:], c.y[n_fit:], c.discrete, c.classes, c.ceiling)


def _prepare_all(checked: list[Checked], cfg, seed: int, test_size: float,
                 n_fit: int | None = None) -> list[Prepared]:
    n_classes = max(len(c.classes) for c in checked) if checked[0].discrete else None
    return [prepare(c.z, c.y, c.discrete, test_size, cfg.val_fraction, seed, n_classes, n_fit=n_fit)
            for c in checked]


def _neural_group(spec: EstimatorSpec, cfg, checked: list[Checked], dev: torch.device, seed: int,
                  test_size: float, n_fit: int | None = None):
    """Train, evaluate and wrap one stacked group; returns ``(results, critic, preps, held)``."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    preps = _prepare_all(checked, cfg, seed, test_size, n_fit)
    critic, curve, lr = train_critics(spec, cfg, preps, dev, seed)
    held = evaluate_critics(spec, cfg, critic, preps, dev, seed)
    seconds = (time.perf_counter() - start) / len(checked)
    out = []
    for k, c in enumerate(checked):
        mi = float(held.mi[k])
        ceiling = _ceiling(preps[k])
        out.append(MIResult(
            mi=mi, ci_low=float(held.ci_low[k]), ci_high=float(held.ci_high[k]), estimator=spec.name,
            ceiling=ceiling, above_ceiling=ceiling is not None and mi > ceiling,
            n_train=len(preps[k].y["train"]) + len(preps[k].y["val"]), n_test=held.n_test,
            p_value=float(held.p_value[k]), seconds=seconds, seed=seed,
            config={**asdict(cfg), "lr_used": lr, "test_size": test_size, "batched_with": len(checked)},
            curve=[row[k] for row in curve], interval_method=BOOTSTRAP_NOTE.format(b=cfg.n_bootstrap),
            discrete=c.discrete, n_classes=len(c.classes) if c.discrete else None, device=str(dev),
        ))
    return out, critic, preps, held


def _ceiling(prep: Prepared) -> float | None:
    """The most a discrete estimate can read with the prior it uses: ``mean -log p(y)`` over the
    held-out labels, ``p`` the train-split prior of the critic (not the plug-in over all rows)."""
    if not prep.discrete:
        return None
    return float(-prep.log_prior[prep.y["test"]].mean())


def _knn_result(spec: EstimatorSpec, cfg, c: Checked, seed: int) -> MIResult:
    start = time.perf_counter()
    mi, lo, hi, p = evaluate_knn(c.z, c.y, c.discrete, cfg, seed)
    return MIResult(
        mi=mi, ci_low=lo, ci_high=hi, estimator=spec.name, ceiling=c.ceiling,
        above_ceiling=c.ceiling is not None and mi > c.ceiling, n_train=0, n_test=len(c.z),
        p_value=p, seconds=time.perf_counter() - start, seed=seed, config=asdict(cfg),
        interval_method=KNN_NOTE.format(b=cfg.n_bootstrap), discrete=c.discrete,
        n_classes=len(c.classes) if c.discrete else None,
    )


@dataclass
class FittedCritic:
    """A trained critic for pointwise scoring (e.g. token-level heatmaps).

    ``pmi(Z, y)`` is ``T(z, y) - log E_{p(z)p(y)} e^T`` with the normaliser estimated
    on the held-out split; for the ``classifier`` critic it is ``log q(y|z) - log p(y)``.
    ``result`` is the held-out :class:`MIResult` of the same critic.
    """

    spec: EstimatorSpec
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


def fit_critic(Z, Y, estimator: str | None = None, *, config: Any = None, seed: int = 0,
               device: str = "auto", test_size: float = 0.3) -> FittedCritic:
    """Train one critic on ``(Z, Y)`` and keep it for pointwise scoring (see :class:`FittedCritic`)."""
    c = check_task(flat(as_states(Z)), Y)
    name = estimator or default_estimator(c.discrete)
    if estimator is None and ESTIMATORS.get(name).family != "neural":
        name = "classifier"  # the default estimator keeps no critic; the classifier's is the pointwise one
    spec = ESTIMATORS.get(name)
    check_config(spec, config)
    if spec.family != "neural":
        raise UserError(f"estimator {spec.name!r} has no critic; choose a neural one: "
                        + ", ".join(n for n in ESTIMATORS.list() if ESTIMATORS.get(n).family == "neural"))
    cfg = config if config is not None else spec.config_cls()
    dev = resolve_device(device)
    results, critic, preps, held = _neural_group(spec, cfg, [c], dev, seed, test_size)
    return FittedCritic(spec, critic, preps[0], c.classes, float(held.log_norm[0]), dev, results[0])
