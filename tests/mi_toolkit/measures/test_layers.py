"""Layer sweeps: parsing --layers, one batched estimate per layer on fixed splits, the report, the command."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.measures.estimate import Estimation
from mi_toolkit.measures.layers import LayerSweepResult, layer_sweep_for, parse_layers
from mi_toolkit.measures.setting import Setting
from mi_toolkit.reports.layers import layers_html
from mi_toolkit.states import extract as ex
from predgen_common.errors import UserError

from fixtures import write_sst2


def test_parse_layers():
    assert parse_layers("all", 2) == [0, 1, 2]
    assert parse_layers("0, 2,-1", 30) == [0, 2, 30]
    assert parse_layers("-1", 30, normalise=False) == [-1]
    assert parse_layers([2, -1], 2) == [2]  # the same layer once
    for bad, message in (("0,31", "layer 31 is out of range for a model with 30 layers"), ("-32", "out of range"),
                         ("x", "not 'all'"), ("", "empty")):
        with pytest.raises(UserError, match=message):
            parse_layers(bad, 30)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sst2(tmp_path_factory.mktemp("layers"), n=40)


def test_layer_sweep_reads_every_layer_once_and_estimates_each(data, monkeypatch):
    passes = []
    real = ex.forward_layers
    monkeypatch.setattr(ex, "forward_layers", lambda lm, rows, layers, *a: passes.append(list(layers)) or real(lm, rows, layers, *a))
    setting = Setting.from_options(["tiny-llama"], "sst2", data_dir=str(data), max_samples=40, progress=False)
    res = layer_sweep_for(setting, "all", estimator="probe")
    assert isinstance(res, LayerSweepResult) and res.layers == [0, 1, 2]
    assert passes and all(p == [0, 1, 2] for p in passes)  # every batch read all layers in one pass
    assert len(passes) == 2 * 3  # fit + eval split, 40 examples in batches of 16
    for r in res.results:
        assert r.n_fit == 40 and r.n_eval == 40 and r.ci_low <= r.mi <= r.ci_high
    assert res.ceiling == pytest.approx(np.log(2), abs=1e-6)
    # "funny" / "dull" decide the label: the last layer's last-token state reads most of it
    assert res.results[-1].mi > 0.3
    assert res.results[0].mi < res.results[-1].mi  # layer 0: the template's last token, the same for all
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["best"] == res.best and len(doc["results"]) == 3 and doc["meta"]["model_kind"] == "registered"
    # the pools of every measure: fit pool disjoint from training (none for a base model), drawn like eval
    assert doc["meta"]["pools"]["fit"]["disjoint"] and doc["meta"]["pools"]["fit"]["n"] == 40
    # (40 of 40 train rows: the whole split, so there is nothing to draw to the evaluation lengths)
    assert doc["meta"]["pools"]["fit"]["length_matched"] is False and doc["meta"]["pools"]["eval"]["n"] == 40
    # the setting it was read in, as provenance: the layers read, the pools' sizes and splits
    assert doc["meta"]["setting"]["layer"] == [0, 1, 2] and doc["meta"]["setting"]["n_fit"] == 40
    assert doc["meta"]["setting"]["models"] == ["tiny-llama"] and doc["meta"]["setting"]["fit_split"] == "train"
    assert {c["b"] for c in doc["comparisons"]} == {f"layer {x}" for x in res.layers if x != res.best}
    page = layers_html(res)
    assert "Layer sweep" in page and "plotly" in page and "Holm" in page
    passes.clear()
    again = layer_sweep_for(setting, [0, 2], estimator="probe")
    assert again.layers == [0, 2] and passes  # another layer set: its own cache entry


def test_the_command_writes_html_and_json(data, tmp_path):
    out = CliRunner().invoke(app, ["layer-sweep", "--model", "tiny-llama", "--dataset", "sst2", "--data-dir", str(data),
                                   "--max-samples", "40", "--layers", "1,2", "--estimator", "probe",
                                   "--output", str(tmp_path / "l.html"), "--json", str(tmp_path / "l.json")])
    assert out.exit_code == 0, out.output
    assert "layer   1" in out.output and "best layer" in out.output
    doc = json.loads((tmp_path / "l.json").read_text())
    assert [r["layer"] for r in doc["results"]] == [1, 2]
    assert (tmp_path / "l.html").read_text().startswith("<!DOCTYPE html>")


def test_heads_batched_across_layers_read_what_each_layer_reads_alone():
    """layer_estimates fits each probe family on every layer at once; each layer's reading matches the
    engine run on that layer alone (estimate_split), including a layer with heavy tails (its own gauss
    candidates) and a constant one."""
    from mi_toolkit.estimators import ProbeConfig
    from mi_toolkit.measures.estimate import estimate_split
    from mi_toolkit.measures.layers import layer_estimates, sweep_layer_arrays

    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, 2 * n)
    z = rng.standard_normal((4, 2 * n, 24))
    z[1, :, 0] += 1.5 * y                       # informative
    z[2, :, :3] = rng.standard_t(1.5, (2 * n, 3)) + 2.0 * y[:, None]   # heavy tails: gauss candidates
    z[3] = 1.0                                  # constant: nothing to read
    fits, evs = list(z[:, :n]), list(z[:, n:])
    cfg = ProbeConfig(n_bootstrap=200)
    batched = layer_estimates(fits, evs, y[:n], y[n:], config=cfg, device="cpu")
    alone = estimate_split([(f, y[:n], e, y[n:]) for f, e in zip(fits, evs)], config=cfg, device="cpu")
    assert any(r["name"].startswith("gauss") for r in batched[2].candidates)
    assert not any(r["name"].startswith("gauss") for r in batched[1].candidates)
    for b, a in zip(batched, alone):
        assert [r["name"] for r in b.candidates] == [r["name"] for r in a.candidates]
        assert b.mi == pytest.approx(a.mi, abs=2e-3) and b.ci_low == pytest.approx(a.ci_low, abs=2e-3)
        assert b.detected == a.detected and b.n_eval == a.n_eval == n
    assert batched[1].detected and batched[2].detected and not batched[3].detected
    sweep = sweep_layer_arrays(fits, evs, y[:n], y[n:], [0, 1, 2, 3], Estimation(config=cfg, device="cpu"))
    assert sweep.best in (1, 2) and len(sweep.comparisons) == 3
