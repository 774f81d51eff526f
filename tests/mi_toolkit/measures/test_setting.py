"""The measurement setting (measures.setting.Setting): checked once before any weights load, one method that
yields the pools and the states, and the provenance every model measure records; `mi estimate --model`
reads through it, so its fit pool leaves out the checkpoint's training sentences like `mi dpi`'s."""
from __future__ import annotations

import json
import types

import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.measures.pools import PoolSpec
from mi_toolkit.measures.setting import Setting
from mi_toolkit.states import checkpoints as ck
from predgen_common.errors import UserError
from predgen_core.tasks import TASKS

from fixtures import write_sst2


def _fake(method: str, task: str, data_dir: str, trained: int = 20, base: str = "m"):
    """A checkpoint as the checks see it (manifest only): describe() passes it through, nothing loads."""
    training = {"dataset": task, "max_train_samples": trained, "seed": 0, "data_dir": data_dir}
    manifest = {"method": method, "task": task, "base_model": base, "training": training}
    return types.SimpleNamespace(model=None, tokenizer=None, manifest=manifest, method=method, task=None,
                                 path=f"ckpt-{method}-{task}", pooling="last")


@pytest.fixture
def no_weights(monkeypatch):
    """Fails the test if any weights load."""
    def refuse(*args, **kwargs):
        raise AssertionError("weights were loaded")

    monkeypatch.setattr(ck, "load_checkpoint", refuse)


@pytest.fixture
def data(tmp_path):
    return write_sst2(tmp_path / "data", n=60, unique=True)


def test_a_setting_that_cannot_hold_is_one_line_before_any_weights_load(data, no_weights):
    d = str(data)
    with pytest.raises(UserError, match="--fit-split and --split are both 'validation'"):
        Setting(["tiny-llama"], "sst2", fit_split="validation", eval_split="validation")
    with pytest.raises(UserError, match="--max-samples 6 is smaller than the 10 examples a pool needs"):
        Setting(["tiny-llama"], "sst2", n_fit=6)
    with pytest.raises(UserError, match="--eval-samples 3 is smaller than the 6"):
        Setting(["tiny-llama"], "sst2", n_eval=3, folds=3)
    mixed = Setting([_fake("predictor", "sst2", d), _fake("predgen", "stsb", d)], "sst2")
    with pytest.raises(UserError, match="differ in task: .*compare checkpoints of one task in one report"):
        mixed.check()
    group = Setting([_fake("predictor", "sst2", d), _fake("predgen", "sst2", d)], "sst2", groups=["g", "g"])
    with pytest.raises(UserError, match="the seed group g mixes methods"):
        group.check()
    # 55 of the 60 train sentences trained the LM: 5 are left, fewer than 5 folds need
    small = Setting([_fake("predictor", "sst2", d, trained=55)], "sst2", data_dir=d)
    with pytest.raises(UserError, match="fit pool holds 5 'train' examples once the 55 the models were trained on "
                                        "are left out, fewer than the 10 .*--max-train-samples.*--fit-split"):
        small.draw()
    every = Setting([_fake("predictor", "sst2", d, trained=60)], "sst2", data_dir=d)
    with pytest.raises(UserError, match="every 'train' example was used to train .*--max-train-samples.*--fit-split"):
        every.draw()


def test_the_pools_leave_out_the_training_sentences_and_the_setting_is_provenance(data, no_weights):
    d = str(data)
    models = [_fake("predictor", "sst2", d), _fake("predgen", "sst2", d)]
    setting = Setting.from_options(models, "sst2", split="validation", fit_split="train", max_samples=24,
                                   eval_samples=30, data_dir=d, seed=3, overlapping_fit_pool=False,
                                   any_length_fit_pool=True)
    assert (setting.n_fit, setting.n_eval, setting.disjoint, setting.match_lengths) == (24, 30, True, False)
    fit, ev, pools = setting.draw()
    trained = {e.text for e in TASKS.get("sst2").load("train", data_dir=d, max_samples=20, seed=0)}
    assert len(fit) == 24 and len(ev) == 30 and not ({e.text for e in fit} & trained)
    assert pools.fit["excluded"] == len(trained) == 20
    assert setting.infos_ is not None and setting.task_.name == "sst2"
    doc = json.loads(json.dumps(setting.to_dict()))
    assert doc["models"] == ["ckpt-predictor-sst2", "ckpt-predgen-sst2"] and doc["n_fit"] == 24
    assert doc["eval_split"] == "validation" and doc["seed"] == 3 and "progress" not in doc
    with pytest.raises(TypeError, match="not an option of a Setting: max_sampels"):
        Setting.from_options(models, "sst2", max_sampels=24)


def test_references_expand_seed_groups_and_the_pools_spec_follows_the_setting(data, tmp_path, no_weights):
    for s in range(2):
        (tmp_path / "pg" / f"seed-{s}").mkdir(parents=True)
        (tmp_path / "pg" / f"seed-{s}" / "manifest.json").write_text("{}")
    (tmp_path / "pg" / "seed-2.trainer").mkdir()   # a seed whose training never finished
    setting = Setting.from_references([tmp_path / "pg", "tiny-llama"], "sst2", max_samples=24, eval_samples=30,
                                      seed=3, data_dir=str(data))
    assert setting.models == [str(tmp_path / "pg" / "seed-0"), str(tmp_path / "pg" / "seed-1"), "tiny-llama"]
    assert setting.groups == ["pg", "pg", None]
    assert setting.unfinished_ == {str(tmp_path / "pg"): ["seed-2.trainer"], "tiny-llama": []}
    assert setting.with_layer([0, 1]).unfinished_ == setting.unfinished_
    assert Setting.from_options(["tiny-llama"], "sst2").unfinished_ is None
    assert setting.pool_spec == PoolSpec("train", "validation", 24, 30, 3, str(data), True, True)
    assert Setting(["tiny-llama"], "sst2", n_fit=24).pool_spec.n_eval == 24   # n_eval None follows n_fit


def test_read_yields_each_models_states_on_both_pools(data):
    setting = Setting(["tiny-llama"], "sst2", n_fit=20, n_eval=16, data_dir=str(data), progress=False)
    reading = setting.read()
    m = reading.only
    assert (m.name, m.method, len(m.fit.labels), len(m.eval.labels)) == ("base", "base", 20, 16)
    assert m.info.kind == "registered" and reading.pools.fit["disjoint"] and reading.pools.fit["excluded"] == 0
    layered = setting.with_layer([0, 2]).read().only   # several layers: pooled states of each, one pass
    assert layered.fit.at(2).pooled("last").shape == m.fit.pooled("last").shape


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny predictor trained (one step) on 32 of 80 distinct SST-2 sentences."""
    from predgen_core.api import TrainConfig, train

    root = tmp_path_factory.mktemp("setting")
    d = write_sst2(root / "data", n=80, unique=True)
    ckpt = train(TrainConfig(method="predictor", dataset="sst2", model="tiny-llama", output_dir=str(root / "pred"),
                             data_dir=str(d), max_train_samples=32, max_steps=1, batch_size=8, eval_split="",
                             progress=False, peft_option=["r=2"]))
    return root, d, ckpt


def test_mi_estimate_model_fits_on_a_pool_without_the_checkpoints_training_sentences(trained):
    """Before, `mi estimate --model` fitted on the seeded first --max-samples of train, training sentences
    included; now on the fit pool `mi dpi` draws (disjoint, drawn like the evaluation pool)."""
    root, d, ckpt = trained
    task = TASKS.get("sst2")
    used = {e.text for e in task.load("train", data_dir=str(d), max_samples=32, seed=0)}
    old_pool = task.load("train", data_dir=str(d), max_samples=24, seed=0)
    assert sum(e.text in used for e in old_pool) > 0    # what the command used to fit on
    out = root / "est.json"
    r = CliRunner().invoke(app, ["estimate", "--model", str(ckpt), "--dataset", "sst2", "--data-dir", str(d),
                                 "--max-samples", "24", "--representation", "pooled", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["pools"]["fit"]["disjoint"] and doc["pools"]["fit"]["excluded"] == len(used) == 32
    assert doc["pools"]["fit"]["n"] == 24 and doc["n_eval"] == 24 and doc["warnings"] == []
    assert doc["setting"]["fit_split"] == "train" and doc["setting"]["n_fit"] == 24
    fit, _, _ = Setting([ckpt], "sst2", n_fit=24, data_dir=str(d)).draw()   # the pool the command fitted on
    assert len(fit) == 24 and not ({e.text for e in fit} & used)


def test_mi_estimate_model_refuses_a_setting_that_cannot_hold_with_one_line(trained, monkeypatch):
    root, d, ckpt = trained
    monkeypatch.setattr(ck, "load_checkpoint", lambda *a, **k: pytest.fail("weights were loaded"))
    for extra, message in ((["--fit-split", "validation"], "--fit-split and --split are both 'validation'"),
                           (["--max-samples", "6"], "--max-samples 6 is smaller than the 10 examples")):
        r = CliRunner().invoke(app, ["estimate", "--model", str(ckpt), "--dataset", "sst2", "--data-dir", str(d),
                                     *extra])
        assert r.exit_code == 2, r.output
        assert message in " ".join(r.output.split()) and len(r.output.strip().splitlines()) == 1, r.output
