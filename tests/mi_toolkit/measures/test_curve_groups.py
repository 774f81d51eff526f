"""mi curve with groups of tiny trained checkpoints (a folder of seeds per method, or a quoted glob): one pool
for every checkpoint, the seeds' provenance, the seeds that did not finish named, and bad groups answered in
one line (exit 2) before any weights load. The one-checkpoint path is tests/mi_toolkit/measures/test_curve.py."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.measures.curve import CurveConfig
from predgen_common.errors import UserError

from fixtures import write_sst2

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=200,
                   sequence=False)
CFG = CurveConfig(sizes=(24, 48), probe=FAST)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """``root/{predictor,predgen}/seed-{0,1}``: two tiny seeds per method trained on one pool of 16 examples,
    and ``predgen/seed-2.trainer``: a seed whose training never finished."""
    from predgen_core.api import TrainConfig, train

    root = tmp_path_factory.mktemp("curve-seeds")
    data = write_sst2(root / "data", n=100, unique=True)
    for method in ("predictor", "predgen"):
        for s in (0, 1):
            train(TrainConfig(method=method, dataset="sst2", model="tiny-llama", data_dir=str(data), seed=s,
                              output_dir=str(root / method / f"seed-{s}"), max_train_samples=16, max_steps=1,
                              batch_size=4, eval_split="", progress=False, subset_seed=0, peft_option=["r=2"]))
    (root / "predgen" / "seed-2.trainer" / "checkpoint-1").mkdir(parents=True)
    return root, data


def _setting(models, data):
    """One pool of 64 train examples, no lengths to follow."""
    from mi_toolkit.measures.setting import Setting

    return Setting(models, "sst2", fit_split="train", eval_split=None, n_fit=64, data_dir=str(data), progress=False)


def test_groups_are_read_on_one_pool_with_each_seed_named_and_kept(seeds):
    from mi_toolkit.measures.curve_groups import model_curves
    from mi_toolkit.measures.curve_model import CurveOptions

    root, data = seeds
    options = CurveOptions(("pooled:last",), config=CFG)
    sc, examples = model_curves(_setting([root / "predictor", root / "predgen"], data), options)
    assert sc.groups == {"predictor": ["predictor/seed-0", "predictor/seed-1"],
                         "predgen": ["predgen/seed-0", "predgen/seed-1"]}
    assert len(examples) == 64 and sc.meta["pool"]["disjoint"] and sc.meta["pool"]["excluded"] == 16
    folds = [c.results["pooled:last"][0].fold_ids for c in sc.curves.values()]
    assert all(np.array_equal(folds[0], f) for f in folds)       # one pool, one set of folds: paired seeds
    runs = sc.meta["lm_train"]
    assert [runs[f"predgen/seed-{s}"]["training_seed"] for s in (0, 1)] == [0, 1]
    assert len({r["content_sha256"] for r in runs.values()}) == 4
    assert runs["predictor/seed-1"]["budget"]["max_steps"] == 1
    assert sc.unfinished == {"predgen": ["seed-2.trainer"]} and "2 seeds (left out" in sc.stands_on()
    (c,) = sc.comparisons[-1:]
    assert c.comparison.summary.n_seeds == (2, 2) and c.verdict in (
        "no method verdict (fewer than 3 seeds in a group)", "not detected")
    assert not sc.has_method_verdict
    assert sc.meta["setting"]["groups"] == ["predictor"] * 2 + ["predgen"] * 2   # the members' setting
    assert [Path(m).relative_to(root.resolve()).as_posix() for m in sc.meta["setting"]["models"]] == list(sc.curves)
    # a quoted glob is a group too, labelled by its pattern; the states come from the cache
    pattern = str(root / "predgen" / "seed-*")
    glob, _ = model_curves(_setting([pattern], data), options)
    assert list(glob.groups) == [pattern] and len(glob.groups[pattern]) == 2 and glob.comparisons == []
    for m in ("seed-0", "seed-1"):
        a, b = glob.curves[f"{pattern}/{m}"].final("pooled:last"), sc.curves[f"predgen/{m}"].final("pooled:last")
        assert a.mi == b.mi
    # the curve names its groups itself (two folders of one name by their parents): a setting naming them is refused
    grouped = _setting([root / "predgen" / "seed-0", root / "predgen" / "seed-1"], data)
    grouped.groups = ["predgen", "predgen"]
    with pytest.raises(UserError, match="expands its folders of seeds"):
        model_curves(grouped, options)


def _copy(src, dst, **manifest):
    shutil.copytree(src, dst)
    if manifest:
        path = dst / "manifest.json"
        d = json.loads(path.read_text())
        for key, value in manifest.items():
            if key == "max_train_samples":
                d["training"][key] = value
            else:
                d[key] = value
        path.write_text(json.dumps(d))
    return dst


def test_bad_groups_are_one_line_exit_2_before_any_weights_load(seeds, tmp_path, monkeypatch):
    from mi_toolkit.measures import setting
    from mi_toolkit.states import checkpoints as ck

    def no_weights(*a, **k):
        raise AssertionError("weights loaded before the groups were checked")

    monkeypatch.setattr(ck, "load_checkpoint", no_weights)
    monkeypatch.setattr(setting, "extract", no_weights)
    root, data = seeds
    (tmp_path / "empty").mkdir()
    (tmp_path / "unfinished" / "seed-0.trainer").mkdir(parents=True)
    mixed = tmp_path / "mixed"
    _copy(root / "predgen" / "seed-0", mixed / "seed-0")
    _copy(root / "predictor" / "seed-0", mixed / "seed-1")
    other_pool = _copy(root / "predictor", tmp_path / "pool" / "predictor")
    _copy(root / "predictor" / "seed-0", other_pool / "seed-9", max_train_samples=32)
    base = _copy(root / "predgen", tmp_path / "base" / "predgen")
    _copy(root / "predgen" / "seed-0", base / "seed-9", base_model="smollm2-135m")
    task = _copy(root / "predgen", tmp_path / "task" / "predgen")
    _copy(root / "predgen" / "seed-0", task / "seed-9", task="stsb")
    cases = [([tmp_path / "empty"], "is empty: it holds no checkpoint"),
             ([root / "predictor", task], "was trained on 'stsb' (regression) but dataset 'sst2'"),
             ([tmp_path / "unfinished"], "holds no finished checkpoint (no manifest.json in seed-0.trainer"),
             ([str(tmp_path / "nothing-*")], "matches no checkpoint folder"),
             ([mixed], "mixes methods (predgen, predictor)"),
             ([root / "predgen", other_pool], "trained on different pools"),
             ([root / "predictor", base], "differ in base model")]
    for models, message in cases:
        args = ["curve", "--dataset", "sst2", "--data-dir", str(data), "--max-samples", "64",
                "--output", str(tmp_path / "c.html")]
        for m in models:
            args += ["--model", str(m)]
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2, (message, r.output)
        assert message in " ".join(r.output.split()) and "Traceback" not in r.output, (message, r.output)
        assert not (tmp_path / "c.html").exists()


def test_cli_curve_over_seeds_writes_the_means_the_seeds_and_the_page(seeds, tmp_path):
    root, data = seeds
    out, js = tmp_path / "c.html", tmp_path / "c.json"
    r = CliRunner().invoke(app, ["curve", "--model", str(root / "predgen"), "--dataset", "sst2", "--data-dir",
                                 str(data), "--max-samples", "64", "--sizes", "24,48", "--representations",
                                 "pooled:last", "--output", str(out), "--json", str(js),
                                 "--per-example", str(tmp_path / "pe.csv")])
    assert r.exit_code == 0, r.output
    assert "Each mean stands on predgen: 2 seeds" in " ".join(r.output.split())
    d = json.loads(js.read_text())
    assert set(d["per_seed"]) == {"predgen/seed-0", "predgen/seed-1"} and d["seeds"] == {"predgen": 2}
    row = d["over_seeds"]["readings"]["predgen"]["pooled:last"][-1]
    assert row["n"] == 48 and row["n_seeds"] == [2] and {"between_seed_sd", "within_seed_se", "total_se"} <= set(row)
    page = out.read_text()
    assert "Means over seeds against n" in page and "predgen pooled:last (2 seeds)" in page
    assert (tmp_path / "pe.csv").read_text().startswith("id,text,label,fold,pvi_predgen pooled:last")


def test_curve_by_n_reads_seed_folders_into_one_file_over_seeds(seeds, tmp_path, monkeypatch):
    """analyses/curve_by_n.py --models-from DIR with DIR/<method>/seed-<s>/: one file with the means over seeds."""
    import runpy
    import sys

    root, data = seeds
    script = Path(__file__).resolve().parents[3] / "analyses" / "curve_by_n.py"
    monkeypatch.syspath_prepend(str(script.parent))
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--models-from", str(root), "--methods",
                                      "predictor,predgen", "--max-samples", "64", "--like-samples", "40", "--sizes",
                                      "2", "--representations", "pooled:last", "--controls", "", "--data-dir",
                                      str(data), "--out", str(tmp_path), "--suffix=-seeds"])
    runpy.run_path(str(script), run_name="__main__")
    d = json.loads((tmp_path / "curve_by_n_sst2-quick-seeds.json").read_text())
    assert d["curves"]["seeds"] == {"predictor": 2, "predgen": 2} and len(d["curves"]["per_seed"]) == 4
    assert d["curves"]["unfinished"] == {"predgen": ["seed-2.trainer"]}
    assert d["curves"]["meta"]["pool"]["length_matched"] and (tmp_path / "curve_by_n_sst2-quick-seeds.html").is_file()
