"""Conditional usable information: what a representation R adds beyond a baseline B.

``I_V(Y; R | B) = H_V(Y | B) - H_V(Y | B, R)`` (conditional probing, Hewitt et al. 2021), in nats:
the probe family's held-out cross-entropy with B alone, minus that with B and R together.

* Both terms are **cross-fitted** by the probe engine with the same seed, so every example
  is scored once by each, by probes that never saw it, on the same folds;
* the joint probe's candidates **include B's** (``contains=``), and R's, so the joint cannot
  read below B except by selection noise; the difference is never a gap left by a weaker
  probe on the larger input;
* the per-example difference ``log q(y | b, r) - log q(y | b)`` is the conditional PVI of
  each example; its mean is the estimate, and a **paired** bootstrap over examples (within
  the scoring folds) gives the interval.

When R already contains B (the full token states contain every pooling of them; R = [PCA;
first; mean; last] contains its parts), the joint is R itself and
:func:`conditional_from_results` turns the two readings the DPI report already has into
the conditional figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.estimators.result import is_detection
from mi_toolkit.estimators.views import TokenStates, as_input
from mi_toolkit.measures.compare import paired_bootstrap
from mi_toolkit.measures.estimate import Estimation
from mi_toolkit.measures.fmt import detected, fmt_difference, fmt_result

NOTE = ("95% paired bootstrap over the {n} examples (resampled within the scoring folds) of the per-example "
        "difference log q(y|b,r) - log q(y|b); both probes cross-fitted on the same folds, the joint one holding "
        "every candidate of the baseline's")


@dataclass
class ConditionalResult:
    """``I_V(Y; target | given)`` in nats with a paired 95% interval, and both terms.

    ``h_given`` = ``H_V(Y | given)``, ``h_joint`` = ``H_V(Y | given, target)`` (nats; cross-entropies
    of the two cross-fitted probes); ``pointwise`` ``(N,)``: the conditional PVI of each example.
    """

    target: str
    given: str
    value: float
    ci_low: float
    ci_high: float
    p_two_sided: float
    n: int
    h_given: float
    h_joint: float
    given_result: Any
    joint_result: Any
    pointwise: np.ndarray
    interval_method: str
    verdict: str = ""              # set when the reading belongs to a report's Holm family (see adopt_verdict)
    p_holm: float | None = None

    @property
    def detected(self) -> bool:
        """Inside a report: its paired comparison's verdict ("reads higher"), so the two never disagree;
        alone: the paired interval lies above zero (``is_detection``, as every reading)."""
        return self.verdict == "reads higher" if self.verdict else is_detection(self.ci_low)

    def adopt_verdict(self, comparison: Any) -> None:
        """Take the verdict and Holm p of the report's comparison of the same pair on the same examples."""
        self.verdict, self.p_holm = comparison.verdict, comparison.p_holm

    @property
    def neither_detected(self) -> bool:
        """Both readings are of nothing: their difference is not a measurement."""
        return not (detected(self.joint_result) or detected(self.given_result))

    def describe(self) -> str:
        head = f"I_V(Y; {self.target} | {self.given})"
        if not self.detected:
            diff = fmt_difference(self.value, self.ci_low, self.ci_high, self.neither_detected)
            holm = f", Holm p = {self.p_holm:.3g}" if self.p_holm is not None and not self.neither_detected else ""
            return f"{head}: nothing detected beyond {self.given} at this n ({diff} nats paired{holm}, n = {self.n})"
        return f"{head} = {self.value:.3f} nats [{self.ci_low:.3f}, {self.ci_high:.3f}] paired (n = {self.n})"

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "given": self.given, "value": self.value, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "p_two_sided": self.p_two_sided, "n": self.n, "h_given": self.h_given,
                "h_joint": self.h_joint, "detected": self.detected, "description": self.describe(),
                "given_reading": fmt_result(self.given_result), "joint_reading": fmt_result(self.joint_result),
                "interval_method": self.interval_method, "verdict": self.verdict or None, "p_holm": self.p_holm}


def conditional_from_results(joint: Any, given: Any, *, target_name: str = "R", given_name: str = "B",
                             seed: int = 0) -> ConditionalResult:
    """``I_V(Y; R | B)`` from two probe results on the same examples: ``joint`` read [B, R] (or R when
    R contains B) with B's candidates among its own, ``given`` read B. Both need ``pointwise`` values
    (``MIResult`` of the probe engine, or the curve's)."""
    diff, lo, hi, p = paired_bootstrap(joint, given, seed=seed)
    h_given = float(given.ceiling - given.mi) if given.ceiling is not None else float("nan")
    h_joint = float(joint.ceiling - joint.mi) if joint.ceiling is not None else float("nan")
    point = np.asarray(joint.pointwise, np.float64) - np.asarray(given.pointwise, np.float64)
    return ConditionalResult(target_name, given_name, diff, lo, hi, p, len(point), h_given, h_joint, given, joint,
                             point, NOTE.format(n=len(point)))


def _broadcast(tokens: TokenStates, flat: np.ndarray) -> TokenStates:
    """Token states with a per-example vector appended to every real token's features."""
    extra = np.repeat(flat[:, None, :], tokens.z.shape[1], axis=1) * tokens.mask[..., None]
    return TokenStates(np.concatenate([tokens.z, extra.astype(tokens.z.dtype)], axis=2), tokens.mask)


def joint_input(given: Any, target: Any) -> Any:
    """[B, R] as one probe input: features side by side (arrays), or a per-example vector appended to
    every token of token states. Two token-state inputs must share their masks."""
    b, r = as_input(given), as_input(target)
    if isinstance(b, TokenStates) and isinstance(r, TokenStates):
        if b.mask.shape != r.mask.shape or not np.array_equal(b.mask, r.mask):
            raise UserError("the baseline and the target are token states of different lengths; pass the joint "
                            "input yourself (joint=) or a pooled baseline")
        return TokenStates(np.concatenate([b.z, r.z], axis=2), b.mask)
    if isinstance(r, TokenStates):
        return _broadcast(r, np.asarray(b, np.float32).reshape(len(b), -1))
    if isinstance(b, TokenStates):
        return _broadcast(b, np.asarray(r, np.float32).reshape(len(r), -1))
    return np.hstack([np.asarray(b, np.float32).reshape(len(b), -1), np.asarray(r, np.float32).reshape(len(r), -1)])


def check_same_examples(target: Any, given: Any, target_ids: Sequence[Any] | None = None,
                        given_ids: Sequence[Any] | None = None, names: tuple[str, str] = ("target", "baseline")) -> None:
    """One line when the conditioning representation's examples differ from the target's (count or ids)."""
    if len(target) != len(given):
        raise UserError(f"the {names[1]} has {len(given)} examples but the {names[0]} has {len(target)}; a "
                        "conditional reading needs both representations of the same examples, in the same order")
    if target_ids is not None and given_ids is not None:
        t, g = np.asarray(target_ids), np.asarray(given_ids)
        if t.shape != g.shape or not np.array_equal(t, g):
            bad = int(np.flatnonzero(t != g)[0]) if t.shape == g.shape else 0
            raise UserError(f"the {names[1]}'s example ids differ from the {names[0]}'s (first at row {bad}); "
                            "read both on the same examples, in the same order")


def conditional_information(target: Any, given: Any, y: Any, *, joint: Any = None,
                            names: tuple[str, str] = ("R", "B"),
                            ids: tuple[Sequence[Any], Sequence[Any]] | None = None,
                            how: Estimation | None = None) -> ConditionalResult:
    """``I_V(Y; target | given)``, cross-fitted, with a paired interval (see the module docstring).

    ``target``, ``given``: ``(N, d)`` arrays or token states of the same ``N`` examples (``ids``, the
    target's and the given's example ids, checks it); ``y`` integer labels ``(N,)``; ``joint``: the input
    [B, R] (default :func:`joint_input`); ``names``: the target's and the given's names in the result;
    ``how``: the probe's config, seed and device (the estimator is the probe).
    """
    how = how or Estimation()
    if how.estimator not in (None, "probe"):
        raise UserError(f"conditional usable information is read by the probe, not {how.estimator!r}; "
                        "drop the estimator")
    how = Estimation("probe", how.config, how.seed, how.device)
    target_ids, given_ids = ids if ids is not None else (None, None)
    check_same_examples(target, given, target_ids, given_ids, names)
    y = np.asarray(y)
    if len(y) != len(target):
        raise UserError(f"{len(y)} labels for {len(target)} examples; pass one label per example")
    joint = joint_input(given, target) if joint is None else joint
    base = how.many([(given, y)])[0]
    both = how.many([(joint, y)], contains=[{"given": given, "target": target}])[0]
    return conditional_from_results(both, base, target_name=names[0], given_name=names[1], seed=how.seed)
