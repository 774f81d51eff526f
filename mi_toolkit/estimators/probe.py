"""The ``probe`` estimator: a small family of probes chosen by cross-validated log-loss.

``I(Y; Z) >= H(Y) - CE``: the cross-entropy of any model ``q(y|z)`` on examples it never saw
bounds the mutual information from below (Barber & Agakov 2003; the information-theoretic
probing of Pimentel et al. 2020). The engine

1. builds the candidate set: the label prior (reads exactly 0), and preprocessing x head x
   penalty candidates for each input (:func:`~mi_toolkit.estimators.probe_family.array_candidates`;
   the sequence probe's for token states); a container's set also holds each part's
   candidates (``contains=``), so it cannot read below a part except by selection noise;
2. scores every candidate on the same ``K`` folds (members of one family batched);
3. **cross-fitting** (no held-out set): every example is scored once, by the candidate chosen
   for its fold on the *other* folds' cross-validated log-loss, fitted without it;
   **explicit held-out set**: the candidate with the best CV log-loss on the fit set is refitted on
   all of it and scores the held-out set;
4. reports ``mean_i [log q(y_i|z_i) - log p(y_i)]``, ``p`` the prior of the rows the model was
   fitted on, with the per-example values, fold ids and the candidate table.
Labels of m columns (``Y (N, m)``): the rows' codes, and a factorised candidate (:mod:`~.probe_multi`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch
from sklearn.model_selection import KFold, StratifiedKFold

from predgen_common.errors import UserError

from mi_toolkit.estimators.base import Estimator, Run, Task
from mi_toolkit.estimators.probe_family import FamilyMember, array_candidates, split_log_prior
from mi_toolkit.estimators.probe_multi import (INTERVAL_NOTE, ColumnScores, factorised_candidate, marginal_term,
                                               split_labels)
from mi_toolkit.estimators.probe_prep import has_heavy_tails
from mi_toolkit.estimators.reselect import SelectionRecord, choose, reselect_draws
from mi_toolkit.estimators.result import MIResult, is_detection
from mi_toolkit.estimators.specs import ProbeConfig
from mi_toolkit.estimators.views import ProbeCandidate, TokenStates, as_input

PRIOR = "prior"
SELECT_ON = ("test", "fit")
# An explicit held-out set's folds only choose among candidates fitted once on the fit set, so the reading
# averages this many deals of them: the choice then hangs much less on one deal (selection noise).
SELECT_DEALS = 10


@dataclass
class ProbeOutcome:
    """What the engine measured; arrays are over the scored examples."""

    pointwise: np.ndarray      # (n_eval,) log q(y_i|z_i) - log p(y_i), nats
    log_prior: np.ndarray      # (n_eval,) log p(y_i) used for each example
    fold_ids: np.ndarray       # (n_eval,) scoring fold, -1 for an explicit held-out set
    chosen: str
    per_fold: list[str]
    table: list[dict[str, Any]]
    n_fit: int
    n_folds: int
    repeat_means: list[float]  # the estimate of each repeated cross-fit (one entry unless cfg.repeats > 1)
    best_model: tuple[str, np.ndarray]  # the best non-prior candidate (CV log-loss) and its scored values
    selected_on_test: bool = False  # explicit held-out set: candidates chosen per held-out fold on the others
    selection: SelectionRecord | None = None  # every candidate's values and the folds: resampled by the interval


def candidates_for(X: Any, n_classes: int, cfg: ProbeConfig, device: str) -> list[ProbeCandidate]:
    """The candidate set for one input: an ``(N, d)`` array or :class:`TokenStates`."""
    if isinstance(X, TokenStates):
        arr = lambda C: array_candidates(C, X.d, cfg, device=device)  # noqa: E731
        try:
            from mi_toolkit.estimators.seqprobe import sequence_candidates
        except ImportError:
            sequence_candidates = None
        if cfg.sequence and sequence_candidates is not None:
            return sequence_candidates(X, n_classes, device=device, array_candidates=arr)
        return [ProbeCandidate(f"{how}:{c.name}", c.make, (lambda X, how=how: X.pooled(how)))
                for how in ("first", "mean", "last") for c in arr(n_classes)]
    X = np.asarray(X)
    return array_candidates(n_classes, X.shape[1], cfg, heavy=has_heavy_tails(X), device=device)


def make_splits(y: np.ndarray, rows: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train, score) index pairs over ``rows``; stratified when every class has ``folds`` rows."""
    counts = np.bincount(y[rows])
    kind = StratifiedKFold if counts[counts > 0].min() >= folds else KFold
    cv = kind(n_splits=folds, shuffle=True, random_state=seed)
    return [(rows[a], rows[b]) for a, b in cv.split(rows, y[rows])]


def _score_all(sources: Mapping[str, Any], cands: list[tuple[str, ProbeCandidate]], y: np.ndarray,
               splits: list, n_classes: int, seed: int, device: torch.device) -> dict[str, np.ndarray]:
    """``log q(y_i | z_i)`` ``(N,)`` per candidate, each row from the split that scores it."""
    out: dict[str, np.ndarray] = {}
    views: dict[tuple, Any] = {}
    caches: dict[tuple, dict] = {}
    done: set[tuple] = set()
    for src, c in cands:
        vkey = (src, id(c.view))
        if vkey not in views:
            views[vkey] = c.read(sources[src])
        Xv = views[vkey]
        fam = getattr(c.make, "family", None)
        if fam is not None:
            gkey = vkey + (fam,)
            if gkey in done:
                continue
            done.add(gkey)
            lp = fam.score_splits(Xv, y, splits, n_classes, seed, device, caches.setdefault(vkey, {}))
            members = [(s, m) for s, m in cands if (s, id(m.view)) == vkey and getattr(m.make, "family", None) == fam]
            for s, m in members:
                out[_label(s, m)] = _gather(lp[m.make.index], splits, y)
            continue
        preds = []
        for tr, sc in splits:
            est = c.make(seed, n_classes).fit(Xv[tr], y[tr])
            preds.append(np.asarray(est.predict_log_proba(Xv[sc]), dtype=np.float64))
        out[_label(src, c)] = _gather(preds, splits, y)
    return out


def _label(src: str, c: ProbeCandidate) -> str:
    return f"{src}:{c.name}" if src else c.name


def _gather(preds: list[np.ndarray], splits: list, y: np.ndarray) -> np.ndarray:
    full = np.full(len(y), np.nan)
    for lp, (_, sc) in zip(preds, splits):
        full[sc] = np.maximum(lp[np.arange(len(sc)), y[sc]], -50.0)  # one wild example cannot read -inf
    return full


def run_probe(sources: Mapping[str, Any], y: np.ndarray, n_classes: int, cfg: ProbeConfig, seed: int,
              device: torch.device, n_fit: int | None = None,
              scores: Mapping[str, np.ndarray] | None = None) -> ProbeOutcome:
    """Cross-fit (``n_fit=None``) or fit-select-score (rows ``n_fit:`` held out) on ``sources``.

    ``sources``: ``{"": container input, part name: part input, ...}``, every input with one row
    per label; ``y (N,)`` codes, or ``(N, m)``: m labels read jointly (:mod:`~.probe_multi`). ``scores``:
    the candidates' ``log q(y_i|z_i) (N,)`` already fitted on rows ``:n_fit`` (one repeat, held-out-fold
    selection; :mod:`~mi_toolkit.estimators.probe_batch`).
    """
    if cfg.select_on not in SELECT_ON:
        raise UserError(f"ProbeConfig.select_on={cfg.select_on!r}; choose one of: {', '.join(SELECT_ON)}")
    y, columns = split_labels(y)   # the rows' codes; and each column's, for m labels read jointly
    cands = [(src, c) for src, X in sources.items() for c in candidates_for(X, n_classes, cfg, str(device))]
    if len({_label(s, c) for s, c in cands}) != len(cands):
        raise UserError("two probe candidates share a name; give each part of contains= its own name")
    N = len(y)
    rows = np.arange(N if n_fit is None else n_fit)
    on_test = n_fit is not None and _select_on_test(y[n_fit:], cfg)
    from_part = {_label(src, c) for src, c in cands if src}
    reps, records, fit_means = [], [], []
    for r in range(cfg.repeats):
        if on_test:   # fit every candidate once on the fit set; the held-out folds choose among them
            splits = [(rows, np.arange(n_fit, N))]
            # the folds only select, so re-dealing them costs no refit: the reading averages SELECT_DEALS deals
            deals = [make_splits(y, np.arange(n_fit, N), cfg.folds, seed + r * SELECT_DEALS + j)
                     for j in range(SELECT_DEALS)]
        else:
            splits = make_splits(y, rows, cfg.folds, seed + r)
            deals = [splits]
            if n_fit is not None:
                splits = splits + [(rows, np.arange(n_fit, N))]
        logq = scores if scores is not None else _score_all(sources, cands, y, splits, n_classes, seed + r, device)
        prior = _split_prior(y, splits, n_classes)
        cols = _score_columns(sources, columns, splits, cfg, seed + r, device) if scores is None else None
        prior = prior if cols is None else marginal_term(prior, [c.prior for c in cols])
        by_deal = [logq if cols is None else {**logq, **_factorised(cols, prior, d, cfg.folds, N)} for d in deals]
        start = len(reps)
        for score_folds, cand in zip(deals, by_deal):
            reps.append(_select(cand, prior, score_folds, cfg.folds, None if on_test else n_fit, N, from_part))
        fit_means.append(float(np.nanmean(np.mean([rep[0] for rep in reps[start:]], axis=0))))
        if n_fit is None or on_test:   # selection by folds of the scored rows: resampled by the interval
            records.append(_values_by_candidate(by_deal[0], prior, deals[0], cfg.folds, N, from_part))
    out = _combine(reps, n_fit, N, cfg.folds)
    out.repeat_means = fit_means
    if records:
        out.selection = _record(records, y, cfg.folds, redraw=on_test)
    if on_test:   # rows :n_fit were never scored: keep the held-out rows only
        keep = np.arange(n_fit, N)
        out.pointwise, out.log_prior, out.fold_ids = out.pointwise[keep], out.log_prior[keep], out.fold_ids[keep]
        out.best_model = (out.best_model[0], out.best_model[1][keep])
        out.n_fit, out.n_folds, out.selected_on_test = n_fit, 0, True
    return out


def _split_prior(y: np.ndarray, splits: list, n_classes: int) -> np.ndarray:
    """``(N,)`` ``log p(y_i)``, ``p`` the label prior of the rows that the split scoring row ``i`` trained on."""
    return _gather([np.tile(split_log_prior(y[tr], n_classes), (len(sc), 1)) for tr, sc in splits], splits, y)


def _score_columns(sources: Mapping[str, Any], columns: np.ndarray | None, splits: list, cfg: ProbeConfig, seed: int,
                   device: torch.device) -> list[ColumnScores] | None:
    """Each column of ``columns (N, m)`` read by every source's candidates on the joint reading's ``splits``."""
    if columns is None:   # one label
        return None
    out = []
    for yj in columns.T:
        k = int(yj.max()) + 1   # a constant column (k = 1) adds log 1 = 0: no candidates
        cands = [(src, c) for src, X in sources.items() if k > 1 for c in candidates_for(X, k, cfg, str(device))]
        logq = _score_all(sources, cands, yj, splits, k, seed, device)
        out.append(ColumnScores(logq, _split_prior(yj, splits, k), {_label(s, c) for s, c in cands if s}))
    return out


def _factorised(cols: list[ColumnScores], prior: np.ndarray, score_folds: list, K: int, N: int) -> dict:
    """The factorised candidate for one deal of scoring folds: per fold, each column's own choice on the others."""
    picks = [_select(c.logq, c.prior, score_folds, K, None, N, c.from_part) for c in cols]
    return factorised_candidate(cols, [(pk[2], pk[4] + [pk[3]]) for pk in picks], prior, PRIOR)


def _values_by_candidate(logq: dict[str, np.ndarray], prior: np.ndarray, splits: list, K: int, N: int,
                         from_part: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values (C, m), folds (m,), part_rows)`` over the ``m`` scored rows, candidates in :func:`_select`'s
    order (row 0 the prior: zeros)."""
    fold = np.full(N, -1)
    for f, (_, sc) in enumerate(splits[:K]):
        fold[sc] = f
    rows = fold >= 0
    names = [PRIOR] + list(logq)
    vals = np.stack([np.zeros(int(rows.sum()))] + [np.nan_to_num(logq[n][rows] - prior[rows]) for n in logq])
    return vals, fold[rows], np.array([i for i, n in enumerate(names) if n in from_part], dtype=int)


def _record(records: list, y: np.ndarray, K: int, redraw: bool) -> SelectionRecord:
    """One :class:`SelectionRecord` from each repeat's ``(values, folds, part_rows)``; ``y`` the codes of all rows."""
    m = records[0][0].shape[1]   # the scored rows are the last m (all of them when cross-fitting)
    return SelectionRecord(values=np.stack([r[0] for r in records]), folds=np.stack([r[1] for r in records]),
                           part_rows=records[0][2], y=np.asarray(y)[len(y) - m:], k=K, redraw=redraw)


def _select_on_test(y_test: np.ndarray, cfg: ProbeConfig) -> bool:
    """Select on the held-out folds when asked and every fold can hold an example of each class."""
    return cfg.select_on == "test" and len(y_test) >= 2 * cfg.folds


def _select(logq: dict[str, np.ndarray], prior: np.ndarray, splits: list, K: int, n_fit: int | None, N: int,
            from_part: set[str] = frozenset()):
    """Choose per scored fold on the other folds' log-loss (cross-fit, or held-out folds choosing among
    candidates fitted on the fit set) or, ``n_fit`` given, on the fit set's CV log-loss."""
    names = [PRIOR] + list(logq)
    logq = {PRIOR: prior, **logq}
    fold = np.full(N, -1)
    for f, (_, sc) in enumerate(splits[:K]):
        fold[sc] = f
    cv_rows = fold >= 0
    loss = np.stack([-np.nan_to_num(logq[n], nan=0.0) for n in names])   # (n_cands, N); unscored rows unused
    cv_loss = loss[:, cv_rows].mean(1)
    table = [{"name": n, "cv_logloss": float(v), "cv_mi": float(cv_loss[0] - v)} for n, v in zip(names, cv_loss)]
    best = int(np.argmin(cv_loss))
    runner_up = 1 + int(np.argmin(cv_loss[1:])) if len(names) > 1 else 0
    if n_fit is not None:
        ev = np.arange(n_fit, N)
        alt = (names[runner_up], logq[names[runner_up]][ev] - prior[ev])
        return logq[names[best]][ev] - prior[ev], prior[ev], np.full(len(ev), -1), names[best], [names[best]], table, alt
    point = np.full(N, np.nan)   # rows outside every scoring fold (the fit set of a held-out run) stay NaN
    per_fold = []
    part_rows = np.array([i for i, n in enumerate(names) if n in from_part], dtype=int)
    for f in range(K):
        pick = pick_candidate(loss[:, cv_rows & (fold != f)], part_rows)
        per_fold.append(names[pick])
        point[fold == f] = logq[names[pick]][fold == f] - prior[fold == f]
    return point, prior, fold, names[best], per_fold, table, (names[runner_up], logq[names[runner_up]] - prior)


def pick_candidate(loss: np.ndarray, part_rows: np.ndarray) -> int:
    """The candidate with the lowest mean loss ``(n_cands, m)`` on the selecting rows, by the one-standard-error
    rule for containers (:func:`~mi_toolkit.estimators.reselect.choose`)."""
    return choose(-loss.mean(1), part_rows, lambda own, part: loss[part] - loss[own])


def _combine(reps: list, n_fit: int | None, N: int, K: int) -> ProbeOutcome:
    point = np.mean([r[0] for r in reps], axis=0)
    prior = np.mean([r[1] for r in reps], axis=0)
    first = reps[0]
    table = first[5]
    if len(reps) > 1:
        for j, row in enumerate(table):
            row["cv_logloss"] = float(np.mean([r[5][j]["cv_logloss"] for r in reps]))
            row["cv_mi"] = float(np.mean([r[5][j]["cv_mi"] for r in reps]))
    n_rows = N if n_fit is None else n_fit
    return ProbeOutcome(point, prior, first[2], first[3], first[4], table,
                        n_fit=n_rows if n_fit is not None else n_rows - n_rows // K, n_folds=K if n_fit is None else 0,
                        repeat_means=[float(r[0].mean()) for r in reps], best_model=first[6])


CROSS_NOTE = ("95% percentile bootstrap (B={b}) of the select-and-score step over the {n} cross-fitted examples: "
              "each draw resamples the examples, keeps the fold whose probe (trained without the example) scored "
              "it, and re-chooses every fold's candidate on the resampled other folds; it covers which examples "
              "were drawn and which candidate each fold chose, and the probes' training variability through the "
              "examples' values{rep}. p: one-sided share of draws at or below 0")
TEST_NOTE = ("95% percentile bootstrap (B={b}) of the select-and-score step over the {n} held-out examples: every "
             "candidate is fitted once on the fit set and the reading averages " + str(SELECT_DEALS) + " deals of "
             "the held-out examples into {k} selection folds; each draw resamples the held-out examples, re-deals them into "
             "folds once and re-chooses each fold's candidate on the other held-out folds (selection never sees the example "
             "it scores); it covers which held-out examples were drawn, how they fell into folds and which "
             "candidate each fold chose, not the fit set's draw{rep}. p: one-sided share of draws at or below 0")
HELD_NOTE = ("95% percentile bootstrap (B={b}) over the {n} held-out per-example values of one probe, selected by "
             "{k}-fold CV log-loss on the fit set and refitted on all of it: held-out sampling only; the probe's "
             "training variability and the selection are not included. p: one-sided bootstrap share at or below 0")


def interval(out: ProbeOutcome, n_boot: int, seed: int, folds: int) -> tuple[float, float, float, float, str]:
    """``(mi, ci_low, ci_high, p_value, interval_method)``: the bootstrap of the select-and-score step
    (:mod:`~mi_toolkit.estimators.reselect`) where the selection was made by folds of the scored examples,
    else of the per-example values."""
    v = out.pointwise
    if out.selection is not None:
        boot = reselect_draws([out.selection], n_boot, seed)[:, 0]
    else:
        rng = np.random.default_rng(seed + 7919)
        boot = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    mi = float(v.mean())
    lo, hi = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
    rep = ""
    if len(out.repeat_means) > 1:
        # re-drawn fold splits: their spread, for the mean of R repeats, added in quadrature
        extra = 1.96 * float(np.std(out.repeat_means, ddof=1)) / np.sqrt(len(out.repeat_means))
        lo, hi = mi - float(np.hypot(mi - lo, extra)), mi + float(np.hypot(hi - mi, extra))
        rep = f"; and the spread of {len(out.repeat_means)} re-drawn fold splits, added in quadrature"
    p = float((1 + np.sum(boot <= 0)) / (n_boot + 1))
    template = TEST_NOTE if out.selected_on_test else HELD_NOTE if out.n_folds == 0 else CROSS_NOTE
    note = template.format(b=n_boot, n=len(v), k=folds, rep=rep)
    return mi, lo, hi, p, note


def probe_result(sources: Mapping[str, Any], y: np.ndarray, n_classes: int, cfg: ProbeConfig, seed: int,
                 device: torch.device, n_fit: int | None = None,
                 scores: Mapping[str, np.ndarray] | None = None) -> MIResult:
    """Run the engine and wrap it as an :class:`MIResult` (per-example values, table, interval)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    out = run_probe(sources, y, n_classes, cfg, seed, device, n_fit, scores)
    mi, lo, hi, p, note = interval(out, cfg.n_bootstrap, seed, cfg.folds)
    note += INTERVAL_NOTE.format(m=np.shape(y)[1]) if np.ndim(y) == 2 and scores is None else ""
    name, vals = out.best_model
    rng = np.random.default_rng(seed + 104729)
    blo, bhi = np.quantile(vals[rng.integers(0, len(vals), (cfg.n_bootstrap, len(vals)))].mean(1), [0.025, 0.975])
    best = {"name": name, "mi": float(vals.mean()), "ci_low": float(blo), "ci_high": float(bhi)}
    ceiling = float(-out.log_prior.mean())   # the most the estimate can read with the prior it uses
    parts = [s for s in sources if s]
    return MIResult(
        mi=mi, ci_low=lo, ci_high=hi, estimator="probe", ceiling=ceiling, above_ceiling=mi > ceiling + 1e-9,
        n_train=out.n_fit, n_test=len(out.pointwise), p_value=p, seconds=time.perf_counter() - start, seed=seed,
        config={**asdict(cfg), "per_fold_choice": out.per_fold, "best_model": best, "parts": parts,
                "repeat_means": out.repeat_means},
        interval_method=note, discrete=True, n_classes=n_classes, device=str(device),
        pointwise=out.pointwise, fold_ids=out.fold_ids, chosen=out.chosen, candidates=out.table,
        selection=out.selection,
        n_fit=out.n_fit, n_eval=len(out.pointwise), n_folds=out.n_folds,
        detected=is_detection(lo) and out.chosen != PRIOR,
    )


def resolve_parts(Z: Any, contains: Mapping[str, Any] | None, n: int) -> dict[str, Any]:
    """``{"": Z, name: part}``: a part is an input with ``n`` rows, or a callable view of ``Z``."""
    # A plain (N, n, d) array is read as fixed-length token states (the sequence probe), for
    # the container as for its parts; parts are views of the caller's Z, not of the converted one.
    sources: dict[str, Any] = {"": _probe_input(Z)}
    for name, part in (contains or {}).items():
        if not name or ":" in name:
            raise UserError(f"part name {name!r} is not usable; name each part of contains= with a word (no ':')")
        val = _probe_input(part(Z) if callable(part) else part)
        if len(val) != n:
            raise UserError(f"part {name!r} has {len(val)} rows but the representation has {n}; "
                            "pass parts of the same examples, in the same order")
        sources[name] = val
    return sources


def _probe_input(val: Any) -> Any:
    """:class:`TokenStates` for token states (3-D arrays: every token real), else ``(N, features)`` float."""
    if isinstance(val, TokenStates) or np.ndim(val) == 3:
        return as_input(val)
    return np.asarray(val, dtype=np.float64).reshape(len(val), -1)


Part = Callable[[Any], Any] | np.ndarray


@dataclass(frozen=True, kw_only=True)
class ProbeEstimator(Estimator):
    """``probe``: H(Y) minus the cross-fitted (or held-out) log-loss of probes chosen by CV log-loss, with
    the ``contains=`` parts' candidates joined to the representation's (discrete ``Y``)."""

    config_cls: type = ProbeConfig
    discrete_only: bool = True

    nests = True                 # type: ignore[assignment]  (a constant here: the parts' candidates join)
    reads_token_states = True    # type: ignore[assignment]  (the sequence probe's candidates)

    def estimate_task(self, task: Task, run: Run) -> MIResult:
        c = task.checked
        y = c.y if c.columns is None else c.columns   # m labels: read jointly and factorised (probe_multi)
        return probe_result(resolve_parts(task.states, task.parts, len(c.y)), y, len(c.classes), self.cfg,
                            run.seed, run.device, run.n_fit)
