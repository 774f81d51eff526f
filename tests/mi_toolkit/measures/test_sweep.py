"""PCA sweep logic: k parsing, nested estimates, paired monotonicity flags, and small real sweeps."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators import NeuralConfig, ProbeConfig
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.measures.estimate import Estimation, estimate_split
from mi_toolkit.measures.sweep import SweepResult, monotonicity_flags, parse_ks, step_comparisons, sweep_arrays
from mi_toolkit.reports.sweep import sweep_figure, sweep_html
from predgen_common.errors import UserError


FAST = NeuralConfig(n_bootstrap=100, n_permutations=20, max_epochs=30)  # the classifier, fewer resamples
PROBE = ProbeConfig(n_bootstrap=200)


def res(mi, half=0.02, n=200, seed=0):
    """A result with per-example values around ``mi`` (a shared per-example component, so pairs correlate)."""
    shared = np.random.default_rng(99).normal(0, 0.3, n)
    v = mi + shared + np.random.default_rng(seed).normal(0, 0.01, n)
    v += mi - v.mean()
    return MIResult(mi=mi, ci_low=mi - half, ci_high=mi + half, estimator="fake", ceiling=0.69,
                    above_ceiling=False, n_train=100, n_test=n, p_value=0.01, seconds=0.0, seed=0, pointwise=v)


def test_parse_ks():
    assert parse_ks("8,1, 2,2") == [1, 2, 8]
    for bad in ("", "a,b", "0,1"):
        with pytest.raises(UserError):
            parse_ks(bad)


def test_rising_sweep_has_no_flags():
    assert monotonicity_flags([1, 2, 4], [res(0.1), res(0.2), res(0.2)]) == []


def test_a_fall_between_two_readings_of_nothing_is_neither_flag_nor_dip():
    results = [res(0.0, half=0.01, seed=1), res(-0.012, half=0.012, seed=2)]  # both intervals reach 0: nothing
    comps = step_comparisons([1, 2], results)
    assert comps[0].verdict == "not detected"
    assert monotonicity_flags([1, 2], results, comps) == []


def test_falling_sweep_is_flagged_with_its_paired_difference():
    results = [res(0.3, seed=1), res(0.299, seed=2), res(0.5, seed=3), res(0.2, seed=4)]
    comps = step_comparisons([1, 2, 4, 8], results)
    flags = monotonicity_flags([1, 2, 4, 8], results, comps)
    assert [(f["k"], f["below_k"], f["beyond_intervals"]) for f in flags] == [(2, 1, False), (8, 4, True)]
    assert "estimator noise" in flags[1]["message"] and "Holm p" in flags[1]["message"]
    assert [c.verdict for c in comps] == ["no difference detected at this n", "reads higher", "reads lower"]
    sweep = SweepResult([1, 2, 4, 8], results, [f for f in flags if f["beyond_intervals"]], 0.69, {}, comps,
                        dips=[f for f in flags if not f["beyond_intervals"]])
    page = sweep_html(sweep)
    assert "beyond the paired interval" in page and "<script src=" not in page
    # one rule: only the fall whose paired verdict reads lower is drawn and flagged; the dip within noise is a note
    drawn = [a.x for a in sweep_figure(sweep).layout.annotations if "reads lower" in (a.text or "")]
    assert drawn == [8] and "dip within noise" in page
    assert page.count("class='flag'") == 1


def _states(rng, n, informative_rank):
    """Examples whose label lives in the 2nd principal direction: k=1 misses it, k=2 sees it."""
    y = rng.integers(0, 2, n)
    out = []
    for label in y:
        base = rng.normal(size=(6, 8)) * np.array([3.0, 0.3] + [0.05] * 6)
        base[:, 1] += np.linspace(-1, 1, 6) * (2.0 if label else 0.2)
        out.append(base.astype(np.float32))
    return out, y


def test_real_sweep_on_synthetic_states_finds_the_informative_component():
    rng = np.random.default_rng(0)
    fit, yf = _states(rng, 300, 2)
    ev, ye = _states(rng, 150, 2)
    out = sweep_arrays(fit, ev, yf, ye, [1, 2, 4], Estimation(config=PROBE, seed=0))
    assert out.ks == [1, 2, 4] and out.results[0].n_test == 150
    assert out.results[1].mi > out.results[0].mi + 0.2
    assert out.results[1].mi <= out.ceiling + 0.05
    assert out.to_dict()["meta"]["axis"] == "token" and out.meta["nested_by_construction"]
    # nested: k=4 holds k=2's candidates, so it cannot read below k=2 beyond selection noise
    assert out.comparisons[0].verdict == "reads higher"
    assert out.comparisons[1].verdict != "reads lower" and out.results[2].mi >= out.results[1].mi - 0.02
    assert not any(f["beyond_intervals"] for f in out.flags)


def test_estimates_are_reported_on_the_evaluation_split_only():
    rng = np.random.default_rng(1)
    zf = rng.normal(size=(400, 4)).astype(np.float32)
    yf = (zf[:, 0] > 0).astype(np.int64)           # fit split: Y is a function of Z
    ze = rng.normal(size=(200, 4)).astype(np.float32)
    ye = rng.integers(0, 2, 200)                    # eval split: Y independent of Z
    res = estimate_split([(zf, yf, ze, ye), (zf, yf, ze, (ze[:, 0] > 0).astype(np.int64))], "classifier", seed=0,
                         config=FAST)
    assert [r.n_test for r in res] == [200, 200]
    assert res[0].mi < 0.1                           # a random split of the pooled data would show ~0.3
    assert res[1].mi > 0.4


def test_sweep_with_reduced_rows_keeps_the_signal_and_records_it():
    rng = np.random.default_rng(0)
    fit, yf = _states(rng, 300, 2)
    ev, ye = _states(rng, 150, 2)
    out = sweep_arrays(fit, ev, yf, ye, [1, 2], Estimation(config=PROBE, seed=0), row_dim=3)
    assert out.results[1].mi > out.results[0].mi + 0.2
    assert out.to_dict()["meta"]["row_dim"] == 3
    with pytest.raises(UserError, match="--row-dim applies to the token-axis PCA"):
        sweep_arrays(fit, ev, yf, ye, [1, 2], axis="feature", row_dim=3)



def _wide_states(rng, n, y, d=80):
    """Token states ``(4-6, d)`` wider than 64 whose main direction across tokens is coordinate ``label``."""
    out = []
    for label in y:
        n_tok = int(rng.integers(4, 7))
        z = rng.normal(size=(n_tok, d)).astype(np.float32)
        z[:, int(label)] += 4.0 * rng.normal(size=n_tok)
        out.append(z)
    return out


def test_the_sweep_reads_the_rows_figure_2_reads():
    """One name, one quantity: the sweep's k = 2 reads the DPI report's (Figure 2's) token-PCA_2 rows: every
    candidate of its own scores the same cross-validated log-loss, and the two readings on identical pools agree
    within their paired interval."""
    from mi_toolkit.estimators.paired import paired_difference
    from mi_toolkit.measures.dpi import ModelStates, dpi_from_states
    from tests.mi_toolkit.measures.test_dpi import FakeStates

    rng = np.random.default_rng(3)
    yf, ye = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    fit, ev = _wide_states(rng, 300, yf), _wide_states(rng, 300, ye)
    cfg = ProbeConfig(n_bootstrap=200, sequence=False)
    dpi = dpi_from_states([ModelStates("m", "predgen", FakeStates(fit, yf), FakeStates(ev, ye))],
                          Estimation(config=cfg))
    fig2 = dpi.results["m"]["token-PCA_2"]
    sweep = sweep_arrays(fit, ev, yf, ye, [1, 2], Estimation(config=cfg))
    own = {c["name"]: c["cv_logloss"] for c in sweep.results[1].candidates}
    theirs = {c["name"]: c["cv_logloss"] for c in fig2.candidates}
    assert theirs and all(abs(own[name] - v) < 1e-9 for name, v in theirs.items())
    assert fig2.detected and "probe_row_k" not in sweep.meta
    p = paired_difference(sweep.results[1], fig2, n_boot=500)
    assert p.ci_low <= 0 <= p.ci_high, (sweep.results[1].describe(), fig2.describe())
