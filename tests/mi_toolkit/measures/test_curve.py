"""mi curve: size grid, pairing across representations, nesting, crossings, HTML, CLI bad input."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.estimators import ProbeConfig
from mi_toolkit.estimators.result import MIResult
from mi_toolkit.measures.curve import CurveConfig, curve_comparisons, learning_curve, prefix_order
from mi_toolkit.reports.curve import curve_html
from predgen_common.errors import UserError

FAST = ProbeConfig(penalties=(1e-3, 1e-1), pca_ks=(), nonlinear_ks=(), mlp_max_dim=0, n_bootstrap=200)


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    y = (X[:, 0] + 0.7 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def test_grid_is_geometric_up_to_all_data_and_bad_sizes_are_one_line():
    cfg = CurveConfig(n_sizes=4)
    grid = cfg.grid(1000, 2)
    assert grid[-1] == 800 and len(grid) == 4 and all(b / a > 1.5 for a, b in zip(grid, grid[1:]))
    with pytest.raises(UserError, match="larger than the data allows"):
        CurveConfig(sizes=(100, 900)).grid(1000, 2)
    with pytest.raises(UserError, match="smaller than folds x classes"):
        CurveConfig(sizes=(8, 100)).grid(1000, 2)


def test_prefix_order_keeps_class_shares_in_every_prefix():
    y = np.array([0] * 300 + [1] * 100)
    order = prefix_order(y, np.arange(400), 0)
    assert sorted(order) == list(range(400))
    for n in (20, 40, 100):
        assert abs(y[order[:n]].mean() - 0.25) <= 1.5 / n + 0.02


def test_curve_rises_is_paired_and_the_container_holds_its_parts():
    X, y = data()
    res = learning_curve({"x": X[:, :1], "noise": X[:, 3:], "all": X}, y, contains={"all": ["x", "noise"]},
                         config=CurveConfig(sizes=(40, 120, 320), probe=FAST))
    x = res.results["x"]
    assert x[-1].mi > 0.15 and x[-1].detected and x[-1].n_fit == 320 and x[-1].n_eval == 400
    assert not res.results["noise"][-1].detected
    # every representation scored on the same examples with the same folds: comparisons are paired
    assert np.array_equal(res.results["x"][0].fold_ids, res.results["all"][0].fold_ids)
    within = [c for c in res.comparisons if c.kind == "within"]
    assert within and all(c.verdict != "reads lower" for c in within)
    assert {c.a.split(" @")[0] for c in within} == {"all"}
    assert res.codes["x"].compression_prior > 1.1 and res.codes["x"].schedule == [40, 120, 320]
    page = curve_html(res)
    assert "Online code length" in page and "Readings against n" in page and "0.000 [0.000, 0.000]" not in page


def _res(mi, seed):
    v = mi + np.random.default_rng(seed).normal(0, 0.05, 300)
    v += mi - v.mean()
    return MIResult(mi=mi, ci_low=mi - 0.02, ci_high=mi + 0.02, estimator="probe", ceiling=0.69, above_ceiling=False,
                    n_train=100, n_test=300, p_value=0.01, seconds=0.0, seed=0, pointwise=v)


def test_crossing_curves_are_flagged_with_whether_the_reversal_is_beyond_the_intervals():
    results = {"a": [_res(0.10, 1), _res(0.30, 2)], "b": [_res(0.20, 3), _res(0.20, 4)], "c": [_res(0.0, 5)] * 2}
    comps, crossings = curve_comparisons([100, 1000], results, {})
    pairs = {(c["a"], c["b"]) for c in crossings}
    assert pairs == {("a", "b")}
    assert crossings[0]["between"] == [100, 1000] and crossings[0]["beyond_intervals"]
    assert len(comps) == 6


def test_curve_bad_input_is_one_line():
    X, y = data(100)
    with pytest.raises(UserError, match="has 99 examples"):
        learning_curve({"x": X[:99]}, y, config=CurveConfig(probe=FAST))
    with pytest.raises(UserError, match="not one of the representations"):
        learning_curve({"x": X}, y, contains={"x": ["z"]}, config=CurveConfig(probe=FAST))
    with pytest.raises(UserError, match="discrete labels"):
        learning_curve({"x": X}, y.astype(float), config=CurveConfig(probe=FAST))


def test_cli_curve_writes_page_and_table_and_rejects_bad_input_before_work(tmp_path):
    X, y = data(200)
    np.save(tmp_path / "x.npy", X[:, :2])
    np.save(tmp_path / "y.npy", y)
    run = CliRunner().invoke
    base = ["curve", "--z", f"x={tmp_path / 'x.npy'}", "--y", str(tmp_path / "y.npy")]
    bad = run(app, base + ["--sizes", "50,500"])
    assert bad.exit_code == 2 and "larger than the data allows" in bad.output and "Traceback" not in bad.output
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")   # root can write anywhere: a file in the way is what stops it
    out = run(app, base + ["--per-example", str(blocker / "pe.csv"), "--output", str(tmp_path / "c.html")])
    assert out.exit_code == 2 and "--per-example" in out.output and not (tmp_path / "c.html").exists()
    ok = run(app, base + ["--sizes", "40,160", "--per-example", str(tmp_path / "pe.csv"),
                          "--output", str(tmp_path / "c.html")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "c.html").is_file() and (tmp_path / "pe.csv").read_text().startswith("id,text,label,fold,pvi_x")


def test_model_mode_draws_its_pool_like_another_split(tmp_path):
    from fixtures import write_sst2

    from mi_toolkit.measures.curve_model import CurveOptions, model_curve
    from mi_toolkit.measures.setting import Setting

    root = write_sst2(tmp_path / "data", n=120, unique=True)
    cfg = CurveConfig(sizes=(40, 80), probe=FAST)
    # the pool: 100 train examples drawn to the lengths of 60 validation examples (mi curve --like-split)
    like = Setting(["tiny-llama"], "sst2", fit_split="train", eval_split="validation", n_fit=100, n_eval=60,
                   data_dir=str(root), progress=False)
    res, examples = model_curve(like, CurveOptions(("pooled:last", "pooled:mean"), config=cfg))
    pool = res.meta["pool"]
    assert len(examples) == 100 and pool["n"] == 100 and pool["length_matched"] and pool["disjoint"]
    assert res.sizes == [40, 80] and set(res.results) == {"pooled:last", "pooled:mean"}
    assert res.meta["setting"]["eval_split"] == "validation" and res.meta["setting"]["n_fit"] == 100
    plain, _ = model_curve(Setting(["tiny-llama"], "sst2", fit_split="train", eval_split=None, n_fit=100,
                                   data_dir=str(root), progress=False), CurveOptions(("pooled:last",), config=cfg))
    assert not plain.meta["pool"]["length_matched"]
    with pytest.raises(UserError, match="reads one model, but the setting holds 2"):
        model_curve(Setting(["tiny-llama", "tiny-llama"], "sst2", eval_split=None), CurveOptions(config=cfg))


def test_one_pca_per_split_and_order_and_one_fit_per_identical_view(monkeypatch):
    """Every family of a view shares its top-k PCA per split (pca8, pca64 and the MLP on pca8: one solve;
    spca8, spca64: one), and the full states' last pooling, identical to the pooled:last input, is fitted once."""
    from mi_toolkit.estimators import probe_family, probe_prep
    from mi_toolkit.estimators.probe import candidates_for
    from mi_toolkit.estimators.views import TokenStates
    from mi_toolkit.measures.curve import score_candidates

    rng = np.random.default_rng(1)
    z = rng.standard_normal((200, 3, 256)).astype(np.float32)
    y = (z[:, -1, 0] > 0).astype(np.int64)
    last, full = np.ascontiguousarray(z[:, -1]), TokenStates(z, np.ones((200, 3), bool))
    splits = [(np.arange(0, 150), np.arange(150, 200)), (np.arange(50, 200), np.arange(0, 50))]
    pcas, fits = [], []
    real_whiten, real_fit = probe_prep.whiten, probe_family.fit_heads
    monkeypatch.setattr(probe_prep, "whiten", lambda *a, **k: pcas.append(a[0].shape) or real_whiten(*a, **k))
    monkeypatch.setattr(probe_family, "fit_heads", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    cfg = ProbeConfig(n_bootstrap=200, max_iter_linear=5, max_iter_mlp=5)
    shared: dict = {}
    a = score_candidates(last, candidates_for(last, 2, cfg, "cpu"), y, splits, 2, 0, "cpu", shared)
    n_pca, n_fit = len(pcas), len(fits)
    assert n_pca == 2 * len(splits)                        # pca and spca, once per split, for 5 PCA families
    cands = [c for c in candidates_for(full, 2, cfg, "cpu") if c.name.startswith("last:")]
    b = score_candidates(full, cands, y, splits, 2, 0, "cpu", shared)
    assert len(pcas) == n_pca and len(fits) == n_fit      # nothing refitted: the same view by content
    for name, v in a.items():
        np.testing.assert_array_equal(np.concatenate(b[f"last:{name}"]), np.concatenate(v))
