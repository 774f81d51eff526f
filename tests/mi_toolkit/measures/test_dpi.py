"""DPI report logic on synthetic results: flags, verdicts, ceiling, HTML and JSON."""
from __future__ import annotations

import json

from mi_toolkit.measures.dpi import DPIReport, judge
from mi_toolkit.reports.dpi import dpi_html
from mi_toolkit.estimators.result import MIResult


def res(mi, half=0.03):
    return MIResult(mi=mi, ci_low=mi - half, ci_high=mi + half, estimator="fake", ceiling=0.69,
                    above_ceiling=mi > 0.69, n_train=100, n_test=50, p_value=0.01, seconds=0.0, seed=0)


def reps(full_pooled, full, first, mean, last):
    return {"full+pooled": res(full_pooled), "full": res(full), "pooled:first": res(first),
            "pooled:mean": res(mean), "pooled:last": res(last)}


def make(results, methods):
    rep = DPIReport(results, methods, {m: "last" for m in methods}, 0.693, 2)
    judge(rep)
    return rep


def test_consistent_results_raise_no_flags_and_order_by_intervals():
    rep = make({"p": reps(0.30, 0.20, 0.10, 0.15, 0.30), "g": reps(0.40, 0.40, 0.1, 0.1, 0.3),
                "pg": reps(0.5, 0.5, 0.1, 0.1, 0.3)}, {"p": "predictor", "g": "generator", "pg": "predgen"})
    assert rep.flags == []
    assert [r for _, r, _ in rep.across()] == ["pooled:last", "full", "full"]
    text = " | ".join(rep.verdicts)
    assert "(a) g's estimate is above p's beyond the intervals" in text
    assert "g vs pg" not in text and "(a) pg's estimate is above g's" in text
    assert "follow the paper's ordering predictor <= generator <= predgen" in text
    # p's last-token pooled state beats its PCA_2 beyond intervals: reported, not flagged
    assert any("does not order these two" in v for v in rep.verdicts)


def test_pooled_above_its_full_representation_is_flagged():
    rep = make({"m": reps(0.20, 0.20, 0.10, 0.35, 0.21)}, {"m": "generator"})
    assert len(rep.flags) == 1 and "I(Y; mean)" in rep.flags[0] and "estimator error" in rep.flags[0]


def test_overlap_orders_nothing_and_above_ceiling_is_flagged():
    rep = make({"a": reps(0.80, 0.80, 0.1, 0.1, 0.1), "b": reps(0.79, 0.79, 0.1, 0.1, 0.1)},
               {"a": "generator", "b": "predgen"})
    assert any("intervals overlap" in v for v in rep.verdicts)
    assert any("above the ceiling" in f for f in rep.flags)
    assert any("do not follow the paper's ordering" in v for v in rep.verdicts)


def test_html_is_self_contained_and_json_round_trips():
    rep = make({"p": reps(0.3, 0.2, 0.1, 0.1, 0.3), "g": reps(0.4, 0.4, 0.1, 0.1, 0.3)},
               {"p": "predictor", "g": "generator"})
    page = dpi_html(rep)
    assert "<script src=" not in page and "Plotly" in page and "lower bound" in page
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["across_methods"][0]["representation"] == "pooled:last" and d["ceiling"] == 0.693


def test_an_estimate_below_zero_beyond_its_interval_is_flagged():
    rep = make({"g": reps(0.30, -0.29, 0.0, 0.01, 0.16)}, {"g": "generator"})
    flags = [f for f in rep.flags if "below 0 beyond its interval" in f]
    assert len(flags) == 1 and flags[0].startswith("g full:")
    assert not any("below 0" in f for f in make({"g": reps(0.3, -0.02, 0.0, 0.01, 0.16)}, {"g": "generator"}).flags)
