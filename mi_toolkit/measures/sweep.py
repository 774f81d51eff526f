"""PCA sweeps: I(Y; PCA_k(Z)) against k (the paper's Figure 7), all k as one batched job.

PCA_k(Z) is the first k rows of PCA_{k'}(Z) for k < k', a deterministic function of it,
so the true MI cannot fall as k grows. The estimates nest by construction (``probe``: the
candidates of every smaller k are in PCA_k's set, ``contains=``), so a reading can only fall
by selection noise; each k is compared with the next smaller k by the paired difference on
the same evaluation examples (Holm-corrected over the sweep). One rule decides how a fall is
shown: a fall whose paired comparison *reads lower* (after the correction) is a **flag**; a fall
whose verdict is "no difference detected" is a **dip** within noise, listed as a note, never drawn
as a fall.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

from mi_toolkit.measures.compare import Comparison, adjust, compare
from mi_toolkit.measures.estimate import Estimation
from mi_toolkit.measures.fmt import fmt_result
from mi_toolkit.measures.setting import Setting
from mi_toolkit.states.extract import HiddenStates
from mi_toolkit.states.pca import FeaturePCA, reduce_rows, token_pca_all
from mi_toolkit.states.representations import labels_array, plugin_entropy


@dataclass
class SweepResult:
    """One sweep: ``ks``, one MIResult per k, ``flags`` (falls that read lower, paired and Holm-corrected),
    ``dips`` (falls within the paired interval: no difference detected) and provenance ``meta``."""

    ks: list[int]
    results: list[Any]
    flags: list[dict[str, Any]] = field(default_factory=list)
    ceiling: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    dips: list[dict[str, Any]] = field(default_factory=list)

    @property
    def noisy(self) -> bool:
        """True when some estimate falls as k grows beyond its paired interval (estimator noise)."""
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {"ks": self.ks, "results": [r.to_dict() for r in self.results], "flags": self.flags, "dips": self.dips,
                "ceiling": self.ceiling, "estimator_noise": self.noisy, "meta": self.meta,
                "comparisons": [c.to_dict() for c in self.comparisons]}


def parse_ks(text: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]`` (sorted, unique, positive)."""
    try:
        ks = sorted({int(t) for t in str(text).split(",") if t.strip()})
    except ValueError:
        raise UserError(f"--k must be comma-separated integers such as 1,2,4,8, not {text!r}") from None
    if not ks or ks[0] < 1:
        raise UserError(f"--k needs positive integers such as 1,2,4,8, not {text!r}")
    return ks


def step_comparisons(ks: Sequence[int], results: Sequence[Any], seed: int = 0) -> list[Comparison]:
    """Each k against the next smaller k: paired differences on the same examples, Holm over the sweep."""
    return adjust([compare("sweep", f"k={ks[j]}", results[j], f"k={ks[j - 1]}", results[j - 1], seed=seed,
                           note="contains it") for j in range(1, len(ks))])


def monotonicity_flags(ks: Sequence[int], results: Sequence[Any],
                       comparisons: Sequence[Comparison] = ()) -> list[dict[str, Any]]:
    """Every k whose estimate is below that of the next smaller k (unless neither reading detected anything).

    ``beyond_intervals`` is True when the paired difference reads lower after the Holm
    correction. Either way the true MI did not fall: the drop is estimator noise.
    """
    flags = []
    by_k = {c.a: c for c in comparisons}
    for j in range(1, len(ks)):
        prev, cur = results[j - 1], results[j]
        if cur.mi >= prev.mi:
            continue
        c = by_k.get(f"k={ks[j]}")
        if c is not None and c.verdict == "not detected":
            continue  # two readings of nothing: the values shown are not estimates, so nothing fell
        beyond = bool(c is not None and c.verdict == "reads lower")
        paired = f"; paired {c.difference()}, Holm p = {c.holm()}" if c else ""
        flags.append({
            "k": int(ks[j]), "below_k": int(ks[j - 1]), "mi": cur.mi, "below_mi": prev.mi,
            "beyond_intervals": beyond,
            "message": (f"estimate at k={ks[j]} ({fmt_result(cur)}) is below k={ks[j - 1]} ({fmt_result(prev)})"
                        f"{paired}" + (", beyond the paired interval" if beyond else ", within the paired interval")
                        + "; true MI cannot fall with k (PCA_k is a function of PCA_k'), so this is estimator noise"),
        })
    return flags


def _nested(ks: Sequence[int], zf: dict, ze: dict, y_fit: np.ndarray, y_eval: np.ndarray, how: Estimation) -> list:
    """One estimate per k (``how.estimator`` named); with an estimator that nests each k contains every smaller k
    (``(N, k, w)`` rows, flattened).

    Each k reads the same rows as the DPI report's and Figure 2's token-PCA_k (all ``k x w`` numbers, the
    probe's own PCA candidates choosing directions), so one name is one quantity across reports."""
    flat = lambda a: np.ascontiguousarray(np.asarray(a).reshape(len(a), -1))  # noqa: E731
    out = []
    for k in ks:
        parts = {f"k{s}": (flat(zf[s]), flat(ze[s])) for s in ks if s < k} if how.nests else None
        out.append(how.many([(flat(zf[k]), y_fit)], test=[(flat(ze[k]), y_eval)],
                            contains=[parts] if parts else None)[0])
    return out


def sweep_arrays(fit_states: Any, eval_states: Any, y_fit: np.ndarray, y_eval: np.ndarray, ks: Sequence[int],
                 how: Estimation | None = None, *, axis: str = "token", row_dim: int | None = None) -> SweepResult:
    """Sweep over ``ks`` from per-example states.

    ``fit_states`` / ``eval_states``: sequences (or re-iterables) of ``(n_i, d)`` arrays;
    ``y_*`` labels ``(N,)``. One SVD per example serves every k (token axis); each k is fitted
    on the fit states and scores the evaluation states (nested: it contains every smaller k). ``how``:
    estimator, config, seed and device (default: the labels' default estimator, seed 0). ``row_dim``: reduce
    each ``d``-wide PCA row to that many dims (:class:`~mi_toolkit.states.pca.RowPCA`, token axis only).
    The result's ``meta`` records the sweep's settings; a caller adds its provenance to it.
    """
    ks = sorted(set(int(k) for k in ks))
    y_fit, y_eval = labels_array(y_fit), labels_array(y_eval)
    if row_dim is not None and axis != "token":
        raise UserError("--row-dim applies to the token-axis PCA; drop it or use --pca-axis token")
    if axis == "token":
        kmax = max(ks)
        big_f, big_e = reduce_rows(token_pca_all(fit_states, [kmax])[kmax], token_pca_all(eval_states, [kmax])[kmax],
                                   row_dim)
        zf = {k: np.ascontiguousarray(big_f[:, :k]) for k in ks}
        ze = {k: np.ascontiguousarray(big_e[:, :k]) for k in ks}
    elif axis == "feature":
        fit_list, eval_list = list(fit_states), list(eval_states)
        longest = max(len(z) for z in fit_list + eval_list)
        full = FeaturePCA(max(ks), n_tokens=longest).fit(fit_list)
        zf_all, ze_all = full.transform(fit_list), full.transform(eval_list)
        zf = {k: zf_all[..., :k] for k in ks}
        ze = {k: ze_all[..., :k] for k in ks}
    else:
        raise UserError(f"unknown PCA axis {axis!r}; choose token or feature")
    how = (how or Estimation()).named(y_eval)
    results = _nested(ks, zf, ze, y_fit, y_eval, how)
    comps = step_comparisons(ks, results, how.seed)
    drops = monotonicity_flags(ks, results, comps)
    return SweepResult(ks, results, [d for d in drops if d["beyond_intervals"]], plugin_entropy(y_eval),
                       {"axis": axis, "seed": how.seed, "row_dim": row_dim, "estimator": how.estimator,
                        "nested_by_construction": how.nests}, comps,
                       dips=[d for d in drops if not d["beyond_intervals"]])


def sweep_states(fit: HiddenStates, ev: HiddenStates, ks: Sequence[int], how: Estimation | None = None, *,
                 axis: str = "token", row_dim: int | None = None, meta: dict[str, Any] | None = None) -> SweepResult:
    """:func:`sweep_arrays` over two extractions (memory-mapped, read in chunks); ``meta`` (with the
    extractions' own) is added to the result's."""
    fit_iter = fit.iter_full() if axis == "token" else list(fit.iter_full())
    res = sweep_arrays(fit_iter, ev.iter_full(), fit.labels, ev.labels, ks, how, axis=axis, row_dim=row_dim)
    res.meta.update({"fit": fit.manifest.get("meta", {}), "eval": ev.manifest.get("meta", {}), "used": ev.used,
                     **(meta or {})})
    return res


def pca_sweep_for(setting: Setting, ks: Sequence[int], *, axis: str = "token", estimator: str | None = None,
                  row_dim: int | None = None, config: Any = None) -> SweepResult:
    """The sweep over ``ks`` of the one model of ``setting`` (:meth:`Setting.read`: its pools and states);
    ``meta["setting"]`` records the setting."""
    reading = setting.read()
    m = reading.only
    meta = {"checkpoint": str(setting.models[0]), "dataset": setting.dataset, "fit_split": setting.fit_split,
            "eval_split": setting.eval_split, "layer": setting.layer, "max_samples": setting.n_fit,
            "pools": reading.pools.to_dict(), "warnings": reading.pools.warnings, "setting": setting.to_dict()}
    return sweep_states(m.fit, m.eval, ks, Estimation.of(setting, estimator, config), axis=axis, row_dim=row_dim,
                        meta=meta)
