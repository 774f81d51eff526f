"""The DPI report: paired within/across comparisons with Holm, nesting, pools, bad input, HTML/JSON."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest

from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.measures.compare import VERDICTS
from mi_toolkit.measures.dpi import DPIReport, ModelStates, dpi_from_states, judge
from mi_toolkit.measures.estimate import Estimation
from mi_toolkit.measures.pools import PoolSpec, check_same_setting, draw_pools
from mi_toolkit.reports.dpi import dpi_html
from predgen_common.errors import UserError
from predgen_core.tasks import TASKS

SHARED = np.random.default_rng(99).normal(0, 0.3, 200)   # per-example difficulty shared by every reading


def res(mi, seed=0):
    v = mi + SHARED + np.random.default_rng(seed).normal(0, 0.01, 200)
    v += mi - v.mean()
    half = 0.04
    return MIResult(mi=mi, ci_low=mi - half, ci_high=mi + half, estimator="probe", ceiling=0.69,
                    above_ceiling=mi > 0.69, n_train=100, n_test=200, p_value=0.01, seconds=0.0, seed=0, pointwise=v)


def reps(full, r, pca, first, mean, last):
    return {"full": res(full, 1), "R": res(r, 2), "token-PCA_2": res(pca, 3), "pooled:first": res(first, 4),
            "pooled:mean": res(mean, 5), "pooled:last": res(last, 6)}


def make(results, methods):
    rep = DPIReport(results, methods, {m: "last" for m in methods}, 0.693, 2)
    judge(rep)
    return rep


def test_within_and_across_comparisons_are_paired_holm_corrected_and_worded_carefully():
    rep = make({"p": reps(0.31, 0.30, 0.20, 0.10, 0.15, 0.30), "g": reps(0.40, 0.40, 0.40, 0.1, 0.1, 0.3)},
               {"p": "predictor", "g": "generator"})
    kinds = {c.kind for c in rep.comparisons}
    assert kinds == {"within", "across"} and all(c.verdict in VERDICTS for c in rep.comparisons)
    within = {(c.a, c.b): c for c in rep.comparisons if c.kind == "within"}
    assert ("p full", "p pooled:last") in within and ("p R", "p token-PCA_2") in within
    assert ("p full", "p token-PCA_2") not in within      # PCA_k centres tokens: not a part of full
    across = [c for c in rep.comparisons if c.kind == "across"]
    assert [(c.a, c.b) for c in across] == [("p pooled:last", "g token-PCA_2"), ("p full", "g full")]
    assert across[0].verdict == "reads lower"               # 0.30 vs 0.40, paired
    text = " | ".join(rep.verdicts)
    assert "keeps more" not in text and "Holm p" in text
    assert rep.flags == []


def test_a_container_reading_below_its_part_is_flagged_as_selection_noise():
    rep = make({"m": reps(0.20, 0.30, 0.1, 0.1, 0.35, 0.2)}, {"m": "generator"})
    flagged = [f for f in rep.flags if "selection noise" in f]
    assert len(flagged) == 2 and all("pooled:mean" in f for f in flagged)
    # an estimator that does not nest (binned, the continuous default) is not excused as selection noise
    rep = DPIReport({"m": reps(0.20, 0.30, 0.1, 0.1, 0.35, 0.2)}, {"m": "generator"}, {"m": "last"}, None, 2,
                    meta={"estimator": "binned", "nested_by_construction": False})
    judge(rep)
    flagged = [f for f in rep.flags if "reads lower" in f]
    assert len(flagged) == 2 and all("binned does not nest" in f and "selection noise" not in f for f in flagged)


def test_html_has_the_theorem_box_and_json_round_trips():
    rep = make({"p": reps(0.3, 0.3, 0.2, 0.1, 0.1, 0.3), "g": reps(0.4, 0.4, 0.4, 0.1, 0.1, 0.3)},
               {"p": "predictor", "g": "generator"})
    page = dpi_html(rep)
    assert "<script src=" not in page and "Plotly" in page and "V-information" in page
    assert "holds with equality" in page and "keeps more information" not in page
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["across_methods"][0]["representation"] == "pooled:last" and d["comparisons"][0]["p_holm"] <= 1


class FakeStates:
    """What the report reads from an extraction: token states, pooled rows, labels."""

    def __init__(self, rows, labels, used="prompt"):
        self.rows, self.labels, self.used = rows, np.asarray(labels), used

    def iter_full(self):
        return iter(self.rows)

    def pooled(self, g):
        return np.stack([{"first": r[0], "mean": r.mean(0), "last": r[-1]}[g] for r in self.rows]).astype(np.float32)


def _states(rng, n, y):
    """Label in the last token's state, lengths vary (4-6 tokens), d = 6."""
    out = []
    for label in y:
        z = rng.normal(size=(int(rng.integers(4, 7)), 6)).astype(np.float32)
        z[-1, 0] += 2.0 * (2 * label - 1)
        out.append(z)
    return FakeStates(out, y)


def test_dpi_from_states_nests_every_container_and_checks_the_examples():
    rng = np.random.default_rng(0)
    # 300 held-out examples: candidates are chosen per held-out fold on the other folds, and at 20 examples
    # a fold (n = 100) selection noise carried R below pooled:last in 1 of 8 seeds (0 of 8 at n = 300)
    yf, ye = rng.integers(0, 2, 150), rng.integers(0, 2, 300)
    models = [ModelStates(f"m{i}", "predgen" if i else "predictor", _states(rng, 150, yf), _states(rng, 300, ye))
              for i in range(2)]
    cfg = ProbeConfig(n_bootstrap=200, sequence=False)
    rep = dpi_from_states(models, Estimation(config=cfg))
    assert set(rep.results["m0"]) == {"full", "R", "token-PCA_2", "pooled:first", "pooled:mean", "pooled:last"}
    assert rep.results["m0"]["pooled:last"].detected and rep.meta["nested_by_construction"]
    for c in rep.comparisons:
        if c.kind == "within":
            assert c.verdict != "reads lower", c.sentence()
    # (a) also as conditional usable information: what each container adds beyond each part, paired
    cond = {(c.target, c.given): c for c in rep.conditional}
    assert len(cond) == 2 * (3 + 3 + 1) and ("m0 R", "token-PCA_2") in cond
    c = cond[("m0 full", "pooled:last")]
    within = next(x for x in rep.comparisons if (x.a, x.b) == ("m0 full", "m0 pooled:last"))
    assert abs(c.value - within.diff) < 1e-9 and c.ci_low <= c.value <= c.ci_high
    assert c.to_dict()["description"].startswith("I_V(Y; m0 full | pooled:last)")
    for (target, given), cr in cond.items():  # one verdict per pair: the conditional reading's is the comparison's
        pair = next(x for x in rep.comparisons if (x.a, x.b) == (target, f"{target.split()[0]} {given}"))
        assert cr.verdict == pair.verdict and cr.p_holm == pair.p_holm
        assert cr.detected == (pair.verdict == "reads higher"), (cr.describe(), pair.sentence())
    assert "Conditional usable information" in dpi_html(rep) and len(rep.to_dict()["conditional"]) == 14
    # one checkpoint per method: every across comparison says so, and no method verdict is given
    across = [c for c in rep.comparisons if c.kind == "across"]
    assert across and all("compares two checkpoints, not two methods" in c.sentence() for c in across)
    assert rep.verdicts[-1].startswith("(b) No method verdict") and "No method verdict" in dpi_html(rep)
    bad = ModelStates("m2", "generator", models[0].fit, _states(rng, 300, 1 - ye))
    with pytest.raises(UserError, match="same fit and evaluation pools"):
        dpi_from_states([models[0], bad], Estimation(config=cfg))


def _ckpt(manifest):
    return types.SimpleNamespace(model=None, tokenizer=None, manifest=manifest, method=manifest.get("method", "x"),
                                 path=f"ckpt-{manifest.get('method', 'x')}", pooling="last")


def test_pools_exclude_training_examples_and_mismatched_checkpoints_fail(tmp_path):
    (tmp_path / "sst2").mkdir()
    for split in ("train", "validation"):
        rows = [f"sentence number {i} of {split}\t{i % 2}" for i in range(60)]
        (tmp_path / "sst2" / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    training = {"dataset": "sst2", "max_train_samples": 20, "seed": 0, "data_dir": str(tmp_path)}
    a = _ckpt({"method": "predictor", "task": "sst2", "base_model": "m", "training": training})
    b = _ckpt({"method": "generator", "task": "sst2", "base_model": "m", "training": {**training, "seed": 1}})
    task = TASKS.get("sst2")
    trained = {e.text for s in (0, 1) for e in task.load("train", data_dir=str(tmp_path), max_samples=20, seed=s)}
    fit, ev, pools = draw_pools([a, b], task, PoolSpec(n_eval=30, data_dir=str(tmp_path)))
    assert not ({e.text for e in fit} & trained) and len(fit) == 60 - len(trained)
    assert pools.fit["excluded"] == len(trained) and len(ev) == 30 and pools.warnings == []
    assert "disjoint from every LM's training examples" in " ".join(pools.lines())
    fit2, _, forced = draw_pools([a, b], task, PoolSpec(n_fit=30, n_eval=30, data_dir=str(tmp_path),
                                                        disjoint=False))
    assert forced.fit["overlap"] > 0 and "overlaps the LMs' training examples" in forced.warnings[0]
    other = _ckpt({"method": "predgen", "task": "sst2", "base_model": "other-model", "training": training})
    with pytest.raises(UserError, match="differ in base model"):
        check_same_setting([a, other], "sst2")
    with pytest.raises(UserError, match="differ in task"):
        check_same_setting([a, _ckpt({"method": "p", "task": "stsb", "base_model": "m"})], "sst2")


def test_seed_groups_give_method_readings_and_verdicts_over_seeds(tmp_path):
    from mi_toolkit.measures.seeds import expand_groups

    results, methods = {}, {}
    for s in range(3):
        results[f"pred/seed-{s}"] = reps(0.41 + 0.01 * s, 0.41, 0.2, 0.1, 0.3, 0.40 + 0.01 * s)
        results[f"pg/seed-{s}"] = reps(0.40, 0.40, 0.25 + 0.01 * s, 0.1, 0.3, 0.38)
        methods[f"pred/seed-{s}"], methods[f"pg/seed-{s}"] = "predictor", "predgen"
    rep = DPIReport(results, methods, {m: "last" for m in methods}, 0.693, 2)
    rep.groups = {m: m.split("/")[0] for m in methods}
    judge(rep)
    assert set(rep.seed_readings) == {"pred pooled:last", "pred full", "pg token-PCA_2", "pg full"}
    zp_zr = next(c for c in rep.seed_comparisons if (c.a, c.b) == ("pred pooled:last", "pg token-PCA_2"))
    assert zp_zr.summary.n_seeds == (3, 3) and zp_zr.verdict == "reads higher"
    assert abs(zp_zr.summary.mean - 0.15) < 1e-9 and zp_zr.summary.between_seed_sd > 0  # 0.41 - 0.26
    assert not any("No method verdict" in v for v in rep.verdicts)
    assert any("over seeds (3/3 seeds" in v for v in rep.verdicts)
    d = json.loads(json.dumps(rep.to_dict(), default=str))
    assert d["over_seeds"]["comparisons"][0]["verdict"] and "Methods over seeds" in dpi_html(rep)
    # groups on disk: a folder of one method's seeds, or a quoted glob
    for s in range(2):
        (tmp_path / "pg" / f"seed-{s}").mkdir(parents=True)
        (tmp_path / "pg" / f"seed-{s}" / "manifest.json").write_text("{}")
    assert [g for _, g in expand_groups([tmp_path / "pg"])] == ["pg", "pg"]
    assert len(expand_groups([str(tmp_path / "pg" / "seed-*")])) == 2
    with pytest.raises(UserError, match="matches no checkpoint"):
        expand_groups([str(tmp_path / "nothing-*")])
    # a seed that failed to train is named, and the report says how many seeds each mean stands on
    from mi_toolkit.measures.dpi import name_unfinished

    (tmp_path / "pg" / "seed-2.trainer").mkdir()
    name_unfinished(rep, {str(tmp_path / "pg"): ["seed-2.trainer"], str(tmp_path / "pred"): []})
    assert rep.verdicts[-1] == ("Each mean over seeds stands on pred: 3 seeds; pg: 3 seeds "
                                "(left out, no finished checkpoint: pg: seed-2.trainer)")
    assert rep.meta["unfinished_seeds"] == {str(tmp_path / "pg"): ["seed-2.trainer"]}


def test_dpi_for_names_the_unfinished_seeds_of_a_setting_built_from_references(tmp_path, monkeypatch):
    """A folder of seeds read through Setting.from_references: the report says how many seeds each mean stands
    on and names the seed that never finished (as `mi pipeline` and analyses/fig2 report it)."""
    from mi_toolkit.measures.dpi import dpi_for
    from mi_toolkit.measures.pools import Pools
    from mi_toolkit.measures.setting import Reading, Setting

    for s in range(2):
        (tmp_path / "pg" / f"seed-{s}").mkdir(parents=True)
        (tmp_path / "pg" / f"seed-{s}" / "manifest.json").write_text("{}")
    (tmp_path / "pg" / "seed-2.trainer").mkdir()
    setting = Setting.from_references([tmp_path / "pg"], "sst2")
    assert setting.groups == ["pg", "pg"] and setting.unfinished_ == {str(tmp_path / "pg"): ["seed-2.trainer"]}
    rng = np.random.default_rng(0)
    yf, ye = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    models = [ModelStates(f"pg/seed-{s}", "predgen", _states(rng, 60, yf), _states(rng, 60, ye), group="pg")
              for s in range(2)]
    monkeypatch.setattr(Setting, "read", lambda self: Reading(models, Pools({}, {}, {})))
    cfg = ProbeConfig(n_bootstrap=50, sequence=False)
    rep = dpi_for(setting, config=cfg)
    assert rep.groups == {"pg/seed-0": "pg", "pg/seed-1": "pg"}
    assert rep.verdicts[-1] == ("Each mean over seeds stands on pg: 2 seeds (left out, no finished checkpoint: "
                                "pg: seed-2.trainer)")
    assert rep.meta["unfinished_seeds"] == {str(tmp_path / "pg"): ["seed-2.trainer"]}
    plain = dpi_for(Setting.from_options(setting.models, "sst2", setting.groups), config=cfg)
    assert "unfinished_seeds" not in plain.meta   # references already expanded: nothing to name


def test_a_seed_group_mixing_methods_is_one_line():
    from mi_toolkit.measures.dpi import check_groups

    infos = [types.SimpleNamespace(method=m) for m in ("predgen", "generator", "predgen")]
    with pytest.raises(UserError, match="mixes methods .*generator, predgen"):
        check_groups(infos, ["g", "g", "h"])
    check_groups(infos, ["g", "h", "g"])  # each group one method: fine
