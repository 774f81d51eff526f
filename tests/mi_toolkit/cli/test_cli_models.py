"""The model-based mi commands on tiny trained checkpoints: one success path and bad inputs (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.cli.measures import _print_result
from mi_toolkit.estimators.result import MIResult

from fixtures import write_sst2

ARRAY_MODE_KEYS = {"mi", "ci_low", "ci_high", "estimator", "ceiling", "n_train", "n_test", "p_value", "seconds"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from predgen_core.api import TrainConfig, train

    root = tmp_path_factory.mktemp("cli")
    data = write_sst2(root / "data", n=60)
    # distinct sentences the LMs never saw: a fit pool for the commands that leave out training sentences
    write_sst2(root / "unseen", n=60, unique=True)
    ckpts = {}
    for method in ("predictor", "predgen"):
        ckpts[method] = train(TrainConfig(method=method, dataset="sst2", model="tiny-llama", output_dir=str(root / method),
                                          data_dir=str(data), max_train_samples=32, max_steps=2, batch_size=8,
                                          eval_max_samples=8, progress=False))
    return root, data, ckpts


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_estimate_model_writes_the_array_mode_keys(setup):
    root, data, ckpts = setup
    out = root / "est.json"
    r = run("estimate", "--model", ckpts["predgen"], "--dataset", "sst2", "--data-dir", root / "unseen", "--json", out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert ARRAY_MODE_KEYS <= set(d) and d["n_test"] == 60 and d["tokens_used"] == "prompt+generated"
    assert d["representation"] == "full (token states)"
    # the full states (prompt + generated tokens) contain every pooled state: its candidates join (as in mi dpi)
    assert sorted(d["config"]["parts"]) == ["pooled_first", "pooled_last", "pooled_mean"]
    r = run("estimate", "--model", ckpts["predgen"], "--dataset", "sst2", "--data-dir", root / "unseen",
            "--representation", "pooled", "--json", out)
    assert r.exit_code == 0 and json.loads(out.read_text())["config"]["parts"] == []


@pytest.mark.parametrize("extra, message", [
    (("estimate", "--dataset", "stsb"), "trained on 'sst2' (classification) but dataset 'stsb' is regression"),
    (("estimate", "--dataset", "sst2", "--layer", "9"), "layer 9 is out of range"),
    (("estimate", "--dataset", "sst2", "--representation", "token-pca", "--pca-k", "500"), "k=500 PCA components is larger than the number of tokens"),
    (("pca-sweep", "--dataset", "sst2", "--k", "2,x"), "--k must be comma-separated integers"),
    (("heatmap", "--text", " "), "--text is empty"),
    (("heatmap", "--text", "fine", "--png"), "--png needs a static image renderer"),
])
def test_bad_inputs_exit_2_with_one_line(setup, extra, message):
    root, data, ckpts = setup
    cmd, *rest = extra
    r = run(cmd, "--model", ckpts["predgen"], *rest, "--data-dir", root / "unseen")
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split()) and "Traceback" not in r.output


def test_missing_checkpoint_and_dpi_success(setup):
    root, data, ckpts = setup
    r = run("estimate", "--model", ckpts["predgen"], "--features", root / "z.npy", "--dataset", "sst2")
    assert r.exit_code == 2 and "not both" in r.output
    r = run("estimate", "--model", ckpts["predgen"])
    assert r.exit_code == 2 and "needs both --model CKPT and --dataset NAME" in r.output
    r = run("estimate", "--model", root / "nope", "--dataset", "sst2", "--data-dir", data)
    assert r.exit_code == 2 and "does not exist" in r.output
    out = root / "dpi.html"
    r = run("dpi", "--models", ckpts["predictor"], ckpts["predgen"], "--dataset", "sst2", "--data-dir", data,
            "--output", out, "--json", root / "dpi.json", "--row-dim", 8)
    # the fixture's 60 sentences repeat, so all of them were among the 32 the LMs trained on
    assert r.exit_code == 2 and "every 'train' example was used to train" in r.output
    assert "--max-train-samples" in r.output and "--fit-split" in r.output  # ways out this command has
    r = run("heatmap", "--model", ckpts["predgen"], "--text", "a film", "--data-dir", data, "--no-attributions",
            "--output", root / "h.html")
    assert r.exit_code == 2 and "pick another --split" in r.output and "--fit-split" not in r.output
    r = run("dpi", "--models", ckpts["predictor"], ckpts["predgen"], "--dataset", "sst2", "--data-dir", data,
            "--output", out, "--json", root / "dpi.json", "--row-dim", 8, "--overlapping-fit-pool")
    assert r.exit_code == 0, r.output
    d = json.loads((root / "dpi.json").read_text())
    assert any("overlaps the LMs' training examples" in f for f in d["flags"])
    assert d["pools"]["fit"]["overlap"] > 0 and not d["pools"]["fit"]["disjoint"]
    for name, lm in d["pools"]["lm_train"].items():  # which training run each model is, read from its manifest
        manifest = json.loads((Path(ckpts[lm["method"]]) / "manifest.json").read_text())
        assert lm["budget"]["max_steps"] == manifest["training"]["max_steps"] and lm["training_seed"] == 0
        assert len(lm["content_sha256"]) == 64, name
    assert [row["method"] for row in d["across_methods"]] == ["predictor", "predgen"]
    assert d["meta"]["row_dim"] == 8
    assert "<script src=" not in out.read_text()


def test_above_ceiling_gets_a_clear_message(capsys):
    res = MIResult(mi=0.9, ci_low=0.8, ci_high=1.0, estimator="x", ceiling=0.69, above_ceiling=True, n_train=10,
                   n_test=10, p_value=0.1, seconds=0.0, seed=0)
    _print_result(res, {"representation": "full"})
    assert "above the ceiling H(Y) = 0.690 nats: that is estimator error" in capsys.readouterr().err


def test_below_zero_gets_a_clear_message(capsys):
    res = MIResult(mi=-0.29, ci_low=-0.40, ci_high=-0.18, estimator="x", ceiling=None, above_ceiling=False,
                   n_train=10, n_test=10, p_value=1.0, seconds=0.0, seed=0, discrete=False)
    assert res.below_zero and not MIResult.from_dict({**res.to_dict(), "ci_high": 0.01}).below_zero
    _print_result(res, {"representation": "full"})
    assert "below 0 beyond its interval; MI cannot be negative" in capsys.readouterr().err
