"""Control baselines: what a probe reads where there is nothing (or nothing learned) to read.

Each control is read the same way as the real representation, on the same examples, and set
beside it; the **selectivity** (Hewitt & Liang 2019) is the real reading minus the control's,
with a paired bootstrap interval over the examples.

* ``shuffled labels``: the labels permuted once (seeded) across the examples, the states
  untouched: whatever a probe reads then is the probe family's own fitting noise;
* ``random-init model``: a model of the same architecture with fresh random weights
  (``transformers.AutoModelForCausalLM.from_config`` on the model's own config), its states read
  through the same extraction path on the same examples: what the architecture and the
  tokens alone give, before any training;
* ``control task`` (token-level reads, e.g. the heatmap's token probe): every word type gets
  one random label drawn from the label distribution, so the label is a function of the
  token's identity only (:func:`control_task_labels`, :func:`token_selectivity`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.estimators.result import is_detection
from mi_toolkit.measures.compare import paired_bootstrap
from mi_toolkit.measures.curve import CurveConfig, learning_curve
from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.pvi import GroupedProbe
from mi_toolkit.states import checkpoints as ck

KINDS = ("shuffled labels", "random-init model", "control task")


def control_verdict(ci_low: float, ci_high: float) -> str:
    """``reads above the control`` / ``reads below the control`` / ``not detected`` (no difference at this n),
    from the paired interval of the selectivity (real - control)."""
    if is_detection(ci_low):  # the one detection rule of the toolkit (estimators.result.is_detection)
        return "reads above the control"
    if is_detection(-ci_high):
        return "reads below the control"
    return "not detected: no difference from the control at this n"


@dataclass
class Control:
    """One control beside the real reading of one representation; ``selectivity`` = real - control (nats)."""

    kind: str
    representation: str
    real: Any
    control: Any
    selectivity: float
    ci_low: float
    ci_high: float
    p_two_sided: float
    n: int

    @property
    def verdict(self) -> str:
        return control_verdict(self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "representation": self.representation, "real": fmt_result(self.real),
                "control": fmt_result(self.control), "real_mi": float(self.real.mi),
                "control_mi": float(self.control.mi), "selectivity": self.selectivity, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "p_two_sided": self.p_two_sided, "n": self.n, "verdict": self.verdict}


@dataclass
class ControlReport:
    """Every control of a measurement, and how they were made."""

    controls: list[Control] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"controls": [c.to_dict() for c in self.controls], "notes": self.notes}


def selectivity(kind: str, representation: str, real: Any, control: Any, seed: int = 0) -> Control:
    """The real reading against a control's on the same examples (paired; within folds when they match)."""
    diff, lo, hi, p = paired_bootstrap(real, control, seed=seed)
    return Control(kind, representation, real, control, diff, lo, hi, p, len(np.asarray(real.pointwise)))


def shuffled_labels(y: np.ndarray, seed: int) -> np.ndarray:
    """The labels permuted once across examples (seeded): the same label counts, no tie to the states."""
    return np.asarray(y)[np.random.default_rng(seed + 2_147).permutation(len(y))]


def architecture_config(model: Any) -> Any:
    """The transformers config of ``model``'s architecture (a loaded model, checkpoint, folder, name or hub id).

    One ``UserError`` line when there is none to read: the random-init control needs it.
    """
    try:
        lm = ck.load_checkpoint(model).model
        config = getattr(lm, "config", None)
        if config is None or not hasattr(config, "to_dict"):
            raise ValueError("the loaded model carries no transformers config")
        return config
    except UserError as err:
        raise UserError(f"cannot read the architecture config of {model}, which the random-init control needs: "
                        f"{err}") from None
    except Exception as err:  # noqa: BLE001 - any failure to read it is the same one-line answer
        raise UserError(f"cannot read the architecture config of {model} ({type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else 'no message'}); the random-init control needs "
                        "a model whose config transformers can read, or drop --controls") from None


def random_init_model(model: Any, seed: int = 0) -> Any:
    """A model of ``model``'s architecture with fresh random weights, and its tokenizer, as a loaded model
    :func:`mi_toolkit.states.extract.extract` reads through the same path (cached under its own key)."""
    import copy

    import torch
    from transformers import AutoModelForCausalLM  # imported on use: the model stack is heavy

    info = ck.describe(model)
    config = copy.deepcopy(architecture_config(model))
    loaded = ck.load_checkpoint(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lm = AutoModelForCausalLM.from_config(config)
    lm.eval()
    ref, _ = ck.identity(info)
    return ck.PlainModel(Path(f"random-init-seed{seed}-of-{Path(ref).name}"), lm, loaded.tokenizer,
                         {"random_init_of": ref, "seed": seed, "architecture": type(lm).__name__},
                         task=getattr(info, "task", None), generates=ck.generates(info),
                         max_length=ck.max_length(info))


def control_task_labels(types: Sequence[Hashable], label_probs: Sequence[float], seed: int = 0) -> np.ndarray:
    """Hewitt & Liang's control task: each distinct type (e.g. a token id) gets one label drawn from
    ``label_probs`` ``(C,)``; returns the label of every item of ``types`` ``(T,)``."""
    p = np.asarray(label_probs, np.float64)
    if p.ndim != 1 or len(p) < 2 or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        raise UserError("control-task label probabilities must be a distribution over at least 2 classes")
    uniq, inverse = np.unique(np.asarray(types), return_inverse=True)
    drawn = np.random.default_rng(seed + 31).choice(len(p), size=len(uniq), p=p)
    return drawn[inverse.ravel()]


def token_selectivity(Z: np.ndarray, y: np.ndarray, types: Sequence[Hashable], groups: np.ndarray, n_classes: int,
                      *, seed: int = 0, n_boot: int = 1000, **probe_kw: Any) -> dict[str, Any]:
    """Token-level read (sentence-grouped probe of :mod:`mi_toolkit.measures.pvi`) of the real labels and of
    the control task, on the same (token, sentence) pairs; selectivity with a paired sentence bootstrap.

    ``Z (P, d)`` token states, ``y (P,)`` label codes, ``types (P,)`` the word type of each token,
    ``groups (P,)`` the sentence of each token.
    """
    y = np.asarray(y)
    probs = np.bincount(y, minlength=n_classes) / len(y)
    ctrl = control_task_labels(types, probs, seed)
    real = GroupedProbe(n_classes, seed=seed, n_boot=n_boot, **probe_kw).fit(Z, y, groups)
    fake = GroupedProbe(n_classes, seed=seed, n_boot=n_boot, **probe_kw).fit(Z, ctrl, groups)
    d = real.pointwise - fake.pointwise
    _, g = np.unique(groups, return_inverse=True)
    sums, counts = np.bincount(g, weights=d), np.bincount(g).astype(float)
    draw = np.random.default_rng(seed + 7).integers(0, len(sums), (n_boot, len(sums)))
    boot = sums[draw].sum(1) / counts[draw].sum(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"kind": "control task", "real": real.held_out.to_dict(), "control": fake.held_out.to_dict(),
            "selectivity": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi),
            "verdict": control_verdict(lo, hi), "n_pairs": len(d),
            "n_sentences": len(sums), "control_labels": ctrl,
            "interval_method": "95% bootstrap over sentences of the paired per-pair difference (real - control)"}


def curve_controls(reps: dict[str, Any], y: np.ndarray, real: Any, *, contains: dict[str, list[str]] | None = None,
                   random_reps: dict[str, Any] | None = None, config: Any = None, seed: int = 0,
                   device: str = "auto") -> ControlReport:
    """Shuffled-label (and, with ``random_reps``, random-init) controls of a curve, at its largest size.

    ``real``: the :class:`~mi_toolkit.measures.curve.CurveResult`; ``random_reps``: the same
    representations built from a random-init model's states of the same examples.
    """
    cfg = replace(config or CurveConfig(), sizes=(real.sizes[-1],), repeats=1)
    out = ControlReport(notes=[f"controls are read at the largest size (n = {real.sizes[-1]}) with the same "
                               "cross-fitting, folds and seed as the real reading"])
    shuffled = learning_curve(reps, shuffled_labels(y, seed), contains=contains, config=cfg, seed=seed, device=device)
    for rep in reps:
        out.controls.append(selectivity("shuffled labels", rep, real.final(rep), shuffled.final(rep), seed))
    if random_reps:
        rand = learning_curve(random_reps, y, contains=contains, config=cfg, seed=seed, device=device)
        for rep in random_reps:
            out.controls.append(selectivity("random-init model", rep, real.final(rep), rand.final(rep), seed))
    return out
