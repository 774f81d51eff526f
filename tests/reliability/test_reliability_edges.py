"""Edges of issue 22: strict JSON, float labels, extreme features, full disks, broken caches, Ctrl-C,
custom code in a checkpoint, outputs that would overwrite an input, modes and symlinks, large arrays.

Every refusal is the matrix's contract (``check_one_line``): exit 2, one ``error:`` line with a way
out, no traceback, nothing half-written.
"""
from __future__ import annotations

import builtins
import errno
import importlib
import json
import os
import pathlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mi_toolkit.cli import app as mi_app
from predgen_core.cli import app as predgen_app

from conftest import Outcome, invoke
from fixtures import write_jsonl
from test_reliability_matrix import check_one_line

REPO = Path(__file__).resolve().parents[2]


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (what a strict parser, e.g. JavaScript's, does)."""
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def arrays(o: Path, z: np.ndarray, y: np.ndarray) -> tuple[Path, Path]:
    np.save(o / "z.npy", z)
    np.save(o / "y.npy", y)
    return o / "z.npy", o / "y.npy"


def signal_task(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two features, the first shifted by the binary label: a clear reading at small n."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    z = rng.normal(size=(n, 2))
    z[:, 0] += 2.0 * y
    return z, y


def estimate_args(z: Path, y: Path, out: Path, *extra: Any) -> list[Any]:
    return ["estimate", "--features", z, "--labels", y, "--json", out, *extra]


# -------- 1. strict JSON everywhere

def test_json_writer_nulls_with_reasons(tmp_path):
    from predgen_common.io import write_json_atomic

    path = write_json_atomic(tmp_path / "r.json", {"a": float("nan"), "b": [1.0, float("-inf")], "c": np.float32(2),
                                                   "d": {"p": float("inf"), "p_reason": "kept"}})
    data = strict_loads(path.read_text())
    assert data["a"] is None and data["a_reason"] == "not a number (NaN)"
    assert data["b"] == [1.0, None] and data["b_reason"].startswith("1 value(s)")
    assert data["c"] == 2.0 and data["d"] == {"p": None, "p_reason": "kept"}  # the producer's reason is kept


def test_cli_json_outputs_parse_strictly(env, tmp_path):
    """estimate (arrays and model), heatmap and zero-shot on STS-B (constant predictions: no pearson)."""
    z, y = arrays(tmp_path, *signal_task())
    d = env["data"]
    runs = {
        "estimate-arrays": (mi_app, "mi", estimate_args(z, y, tmp_path / "a.json")),
        "estimate-model": (mi_app, "mi", ["estimate", "--model", env["pg"], "--dataset", "sst2", "--data-dir", d,
                                          "--representation", "pooled", "--json", tmp_path / "m.json"]),
        "heatmap": (mi_app, "mi", ["heatmap", "--model", env["pg"], "--text", "a funny film", "--dataset", "sst2",
                                   "--data-dir", d, "--no-attributions", "--output", tmp_path / "h.html",
                                   "--json", tmp_path / "h.json"]),
        "zero-shot-stsb": (predgen_app, "predgen", ["zero-shot", "--dataset", "stsb", "--model", "tiny-llama",
                                                    "--data-dir", d, "--max-samples", 8, "--json", tmp_path / "z.json"]),
    }
    for name, (app, prog, args) in runs.items():
        r = invoke(app, prog, args)
        assert r.code == 0, f"{name}: exit {r.code}\n{(r.out + r.err)[-3000:]}"
    written = sorted(tmp_path.glob("*.json"))
    assert [p.name for p in written] == ["a.json", "h.json", "m.json", "z.json"]
    parsed = {p.name: strict_loads(p.read_text()) for p in written}
    probe = parsed["h.json"]["probes"][0]  # the grouped token probe runs no null test: no p-value, and why
    assert probe["p_value"] is None and "bootstrap" in probe["p_value_reason"]
    zs = parsed["z.json"]
    assert zs["pearson"] is None or np.isfinite(zs["pearson"])
    if zs["pearson"] is None:
        assert "constant" in zs["pearson_reason"]


def test_committed_results_parse_strictly():
    files = subprocess.run(["git", "ls-files", "-z", "--", "*.json"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    files = [f for f in files if f]
    assert files
    for name in files:
        strict_loads((REPO / name).read_text(encoding="utf-8"))


# -------- 2. float labels: few whole-number values are classes; a coarse float target is refused

def test_float_binary_labels_read_as_classes(tmp_path):
    z, y = signal_task()
    zf, yi = arrays(tmp_path, z, y)
    as_int = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "int.json"))
    np.save(tmp_path / "yf.npy", y.astype(np.float64))
    as_float = invoke(mi_app, "mi", estimate_args(zf, tmp_path / "yf.npy", tmp_path / "float.json"))
    assert as_int.code == 0 and as_float.code == 0, as_float.err[-2000:]
    a, b = (strict_loads((tmp_path / f).read_text()) for f in ("int.json", "float.json"))
    assert b["discrete"] and b["estimator"] == "probe" and b["mi"] == a["mi"] and b["ci_low"] > 0.1
    assert "read as class labels" in b["config"]["input_notes"][0]
    notes = [ln for ln in as_float.err.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1 and "{0, 1}" in notes[0]


def test_float_target_with_few_fractional_values_is_refused(tmp_path):
    z, y = signal_task()
    zf, yf = arrays(tmp_path, z, y * 0.5 + 0.25)  # {0.25, 0.75}: not whole numbers, two values
    r = invoke(mi_app, "mi", estimate_args(zf, yf, tmp_path / "out.json"))
    check_one_line(r, ("2 distinct values", "integer labels"), tmp_path, "float-target-coarse")


# -------- 3. extreme finite features: scaled when the whole column is extreme, refused for one outlier

def test_features_scaled_by_1e307_read_as_the_originals(tmp_path):
    z, y = signal_task()
    zf, yi = arrays(tmp_path, z, y)
    base = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "base.json"))
    np.save(tmp_path / "big.npy", z * 1e307)
    big = invoke(mi_app, "mi", estimate_args(tmp_path / "big.npy", yi, tmp_path / "big.json"))
    assert base.code == 0 and big.code == 0, big.err[-2000:]
    a, b = (strict_loads((tmp_path / f).read_text()) for f in ("base.json", "big.json"))
    assert b["mi"] == pytest.approx(a["mi"], abs=1e-6) and "divided per column" in b["config"]["input_notes"][0]


def test_one_feature_value_of_1e39_is_refused(tmp_path):
    z, y = signal_task()
    z[3, 0] = 1e39
    zf, yi = arrays(tmp_path, z, y)
    r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "out.json"))
    check_one_line(r, ("column 0", "1e+39", "row 3"), tmp_path, "feature-1e39")


# -------- 4. full disk, unusable caches, a JSONL line that is not an object

def test_disk_full_at_the_json_write(tmp_path, monkeypatch):
    zf, yi = arrays(tmp_path, *signal_task())
    real = pathlib.Path.write_text

    def half_then_full(self: Path, data: str, *a: Any, **k: Any) -> int:
        real(self, data[: len(data) // 2], *a, **k)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_full)
    r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "out.json"))
    assert "I(Y; Z)" in r.out  # the estimate is printed before the write; the failure is one line on stderr
    check_one_line(Outcome(r.code, "", r.err, r.seconds), ("no space left", "out.json"), tmp_path, "disk-full-json")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json")]  # no temporary left


def test_disk_full_at_the_cache_write(env, tmp_path, monkeypatch):
    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path / "cache"))

    def full(*a: Any, **k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    r = invoke(mi_app, "mi", ["extract", "--model", env["pg"], "--dataset", "sst2", "--data-dir", env["data"],
                              "--splits", "train"])
    check_one_line(r, ("no space left",), tmp_path, "disk-full-cache")
    shards = [p for p in (tmp_path / "cache").rglob("*") if p.is_dir() and p.name.endswith(".tmp")]
    assert not shards  # no half-written shard folder


@pytest.mark.parametrize("how", ["read-only", "dangling-symlink"])
def test_unusable_cache_folder(env, tmp_path, monkeypatch, how):
    if how == "read-only":  # /proc takes no new folders, not even from root
        monkeypatch.setenv("PREDGEN_CACHE", "/proc/predgen-reliability-cache")
    else:
        (tmp_path / "cache").mkdir()
        os.symlink(tmp_path / "gone", tmp_path / "cache" / "states")
        monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path / "cache"))
    r = invoke(mi_app, "mi", ["extract", "--model", env["pg"], "--dataset", "sst2", "--data-dir", env["data"],
                              "--splits", "train"])
    check_one_line(r, ("cache folder", "PREDGEN_CACHE"), tmp_path, f"cache-{how}")


def test_jsonl_line_that_is_not_an_object(env, tmp_path):
    data = tmp_path / "data"
    for split in ("train", "validation"):
        write_jsonl(data / "sst2" / f"{split}.jsonl", [{"sentence": "a funny film", "label": 1}])
        with (data / "sst2" / f"{split}.jsonl").open("a") as fh:
            fh.write("[1, 2]\n")
    r = invoke(predgen_app, "predgen", ["zero-shot", "--dataset", "sst2", "--model", "tiny-llama", "--data-dir", data,
                                        "--json", tmp_path / "out.json"])
    check_one_line(r, (".jsonl:2", "not an object"), tmp_path, "jsonl-not-object")


# -------- 5. Ctrl-C

def test_ctrl_c_is_one_line_and_exit_130(tmp_path, monkeypatch):
    cli_estimate = importlib.import_module("mi_toolkit.cli.estimate")  # the package exports a function of that name

    def interrupted(*a: Any, **k: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_estimate, "estimate_mi", interrupted)
    zf, yi = arrays(tmp_path, *signal_task())
    r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "out.json"))
    assert r.code == 130 and len(r.lines) == 1 and r.lines[0].startswith("error: interrupted"), r.err
    assert "Traceback" not in r.err and not (tmp_path / "out.json").exists()


# -------- 6. a checkpoint whose tokenizer names custom code: refused, never a prompt

def test_custom_code_in_a_checkpoint_is_not_run_or_prompted(env, tmp_path, monkeypatch):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(env["pg"], ckpt)
    config = json.loads((ckpt / "tokenizer_config.json").read_text())
    config.update(tokenizer_class="CustomTokenizer", auto_map={"AutoTokenizer": ["custom.CustomTokenizer", None]})
    (ckpt / "tokenizer_config.json").write_text(json.dumps(config))
    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "y")
    r = invoke(predgen_app, "predgen", ["predict", ckpt, "--text", "a funny film"])
    assert not asked, f"prompted: {asked[0][:200]}"
    check_one_line(r, ("custom code",), tmp_path, "custom-code")


# -------- 7. outputs that would overwrite an input; modes; symlinks

def test_output_that_is_an_input_is_refused(env, tmp_path):
    zf, yi = arrays(tmp_path, *signal_task())
    before = zf.read_bytes()
    r = invoke(mi_app, "mi", estimate_args(zf, yi, zf))
    check_one_line(r, ("would overwrite an input",), tmp_path, "json-is-features")
    assert zf.read_bytes() == before
    data = tmp_path / "data"
    shutil.copytree(env["data"], data)
    r = invoke(mi_app, "mi", ["estimate", "--model", env["pg"], "--dataset", "sst2", "--data-dir", data,
                              "--json", data / "sst2" / "train.tsv"])
    check_one_line(r, ("would overwrite an input",), tmp_path, "json-is-data-file")
    r = invoke(predgen_app, "predgen", ["evaluate", env["pg"], "--dataset", "sst2", "--data-dir", env["data"],
                                        "--json", env["pg"] / "manifest.json"])
    check_one_line(r, ("would overwrite an input", "manifest.json"), tmp_path, "json-is-manifest")
    r = invoke(mi_app, "mi", ["heatmap", "--model", env["pg"], "--text", "a funny film", "--data-dir", env["data"],
                              "--output", env["pg"] / "head.safetensors"])
    check_one_line(r, ("would overwrite an input",), tmp_path, "output-is-weights")


def test_outputs_follow_the_umask_and_symlinks_are_written_through(tmp_path):
    from predgen_common.io import atomic_dir

    zf, yi = arrays(tmp_path, *signal_task())
    real = tmp_path / "real.json"
    real.write_text("{}")
    os.symlink(real, tmp_path / "link.json")
    old = os.umask(0o022)
    try:
        r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "link.json"))
        folder_real = tmp_path / "real-dir"
        folder_real.mkdir()
        os.symlink(folder_real, tmp_path / "link-dir")
        with atomic_dir(tmp_path / "link-dir") as tmp:
            (tmp / "x.txt").write_text("x")
    finally:
        os.umask(old)
    assert r.code == 0, r.err[-2000:]
    assert (tmp_path / "link.json").is_symlink() and "mi" in strict_loads(real.read_text())
    assert real.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "link-dir").is_symlink() and (folder_real / "x.txt").read_text() == "x"
    assert folder_real.stat().st_mode & 0o777 == 0o755


def test_device_file_output_is_refused(tmp_path):
    zf, yi = arrays(tmp_path, *signal_task())
    r = invoke(mi_app, "mi", estimate_args(zf, yi, "/dev/full"))
    check_one_line(r, ("not a regular file",), tmp_path, "json-is-device")
    assert Path("/dev/full").is_char_device()


# -------- 8. large arrays: refused above the stated size, or read as a seeded subset

def test_large_arrays_are_refused_or_subsampled(tmp_path, monkeypatch):
    cli_estimate = importlib.import_module("mi_toolkit.cli.estimate")  # the package exports a function of that name

    monkeypatch.setattr(cli_estimate, "MAX_ARRAY_ROWS", 100)
    zf, yi = arrays(tmp_path, *signal_task(n=240))
    r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "out.json"))
    check_one_line(r, ("240 rows", "--max-samples 100"), tmp_path, "array-too-large")
    r = invoke(mi_app, "mi", estimate_args(zf, yi, tmp_path / "out.json", "--max-samples", 100))
    assert r.code == 0, r.err[-2000:]
    result = strict_loads((tmp_path / "out.json").read_text())
    assert result["n_eval"] == 100 and result["max_samples"] == 100
    _, y_sub = cli_estimate.subsample_rows(np.zeros((240, 2)), np.arange(240) % 2, 100, seed=0)
    assert np.bincount(y_sub).tolist() == [50, 50]  # stratified
