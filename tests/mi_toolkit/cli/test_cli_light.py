"""Bad input is answered before torch, transformers or scikit-learn load (issue 20, item 3).

Each case runs a console script's entry in a fresh interpreter (``python -c``), with bad
arguments, and then reads ``sys.modules``: none of the heavy packages may be there. Also
``mi --help`` and ``mi <cmd> --help``. The light copies of the library's names that the checks
use are kept equal to the library's here.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HEAVY = ("torch", "transformers", "sklearn")
RUNNER = """
import json, sys
sys.argv = {argv!r}
from {module} import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}), file=sys.__stdout__)
"""


def run_entry(prog: str, args: list, cwd: Path, **env: str) -> tuple[int, list[str], str]:
    """(exit code, heavy modules loaded, stderr) of ``prog args`` run through its console entry."""
    module = {"mi": "mi_toolkit.cli", "predgen": "predgen_core.cli"}[prog]
    code = RUNNER.format(argv=[prog, *map(str, args)], module=module, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env})
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report["code"], report["heavy"], proc.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("light")
    np.save(root / "z.npy", np.zeros((40, 3)))
    np.save(root / "y.npy", np.arange(40) % 2)
    big = np.lib.format.open_memmap(root / "big.npy", mode="w+", dtype=np.float32, shape=(100_001, 2))
    del big
    np.save(root / "ybig.npy", np.zeros(100_001, np.int64))
    (root / "cut").mkdir()
    (root / "cut" / "manifest.json").write_text('{"method": "predgen", ')  # a checkpoint copied short
    (root / "nodata" / "sst2").mkdir(parents=True)
    return root


M = "/nonexistent/runs/ckpt"  # a model folder that is not there
BAD = {
    "estimate-features-missing": ("mi", ["estimate", "--features", "nope.npy", "--labels", "y.npy"], "not found"),
    "estimate-estimator-unknown": ("mi", ["estimate", "--features", "z.npy", "--labels", "y.npy", "--estimator", "nope"],
                                   "unknown estimator 'nope'"),
    "estimate-max-samples-0": ("mi", ["estimate", "--features", "z.npy", "--labels", "y.npy", "--max-samples", "0"],
                               "--max-samples"),
    "estimate-over-100k-rows": ("mi", ["estimate", "--features", "big.npy", "--labels", "ybig.npy"],
                                "pass --max-samples"),
    "estimate-rows-mismatch": ("mi", ["estimate", "--features", "big.npy", "--labels", "y.npy"], "N=100001"),
    "estimate-device-unknown": ("mi", ["estimate", "--features", "z.npy", "--labels", "y.npy", "--device", "tpu"],
                                "unknown device"),
    "estimate-model-missing": ("mi", ["estimate", "--model", M, "--dataset", "sst2"], "does not exist"),
    "estimate-representation": ("mi", ["estimate", "--model", M, "--dataset", "sst2", "--representation", "x"],
                                "unknown representation"),
    "estimate-option-syntax": ("mi", ["estimate", "--features", "z.npy", "--labels", "y.npy", "--estimator", "probe",
                                      "--estimator-option", "folds"], "write KEY=VALUE"),
    "dpi-option-unnamed": ("mi", ["dpi", "--models", M, "--dataset", "sst2", "--estimator-option", "folds=3"],
                           "name it with --estimator"),
    "pca-sweep-k": ("mi", ["pca-sweep", "--model", M, "--dataset", "sst2", "--k", "2,x"], "--k"),
    "dpi-model-missing": ("mi", ["dpi", "--models", M, "--dataset", "sst2"], "does not exist"),
    "layer-sweep-layers": ("mi", ["layer-sweep", "--model", M, "--dataset", "sst2", "--layers", "a,b"], "--layers"),
    "extract-model-missing": ("mi", ["extract", "--model", "runs-nope/a/ckpt", "--dataset", "sst2"], "does not exist"),
    "heatmap-text-empty": ("mi", ["heatmap", "--model", M, "--text", " "], "--text"),
    "curve-z-missing": ("mi", ["curve", "--z", "last=nope.npy", "--y", "y.npy"], "not found"),
    "bench-estimator-unknown": ("mi", ["bench", "--estimators", "nope"], "unknown estimator"),
    "pipeline-max-steps-0": ("mi", ["pipeline", "--max-steps", "0"], "--max-steps"),
    "estimate-manifest-cut": ("mi", ["estimate", "--model", "cut", "--dataset", "sst2"], "not valid JSON"),
    "dpi-data-missing": ("mi", ["dpi", "--models", "tiny-llama", "--dataset", "sst2", "--data-dir", "nodata"],
                         "no data"),
    "evaluate-missing": ("predgen", ["evaluate", M], "does not exist"),
    "evaluate-manifest-cut": ("predgen", ["evaluate", "cut"], "not valid JSON"),
    "predict-missing": ("predgen", ["predict", M, "--text", "a fine film"], "does not exist"),
    "convert-missing": ("predgen", ["convert", M], "does not exist"),
    "zero-shot-dataset": ("predgen", ["zero-shot", "--dataset", "nope"], "nope"),
    "train-dataset": ("predgen", ["train", "--method", "predgen", "--dataset", "nope"], "nope"),
    "train-max-steps-0": ("predgen", ["train", "--method", "predgen", "--dataset", "sst2", "--max-steps", "0"],
                          "max_steps"),
    "train-model-missing": ("predgen", ["train", "--method", "predgen", "--dataset", "sst2", "--model", M],
                            "does not exist"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_leaves_heavy_packages_unloaded(files, case):
    prog, args, words = BAD[case]
    code, heavy, err = run_entry(prog, args, files)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert words in lines[0], lines[0]
    assert heavy == [], f"{prog} {' '.join(args)} imported {heavy} before answering"


@pytest.mark.parametrize("prog, args", [("mi", ["--help"]), ("mi", ["estimate", "--help"]), ("mi", ["dpi", "--help"]),
                                        ("mi", ["curve", "--help"]), ("predgen", ["--help"]),
                                        ("predgen", ["evaluate", "--help"])])
def test_help_leaves_heavy_packages_unloaded(tmp_path, prog, args):
    code, heavy, _ = run_entry(prog, args, tmp_path)
    assert code == 0 and heavy == []


@pytest.mark.parametrize("args, words", [(["--no-such-option", "1"], "unknown option --no-such-option"),
                                         (["--learning_rate", "fast"], "invalid float value: 'fast'"),
                                         (["--per_device_train_batch_size=x"], "invalid int value: 'x'")])
def test_train_options_are_checked_from_the_remembered_table(tmp_path, monkeypatch, args, words):
    """TrainingArguments' options: after one run has written the table, a bad one needs no transformers."""
    from predgen_core import cli

    monkeypatch.setenv("PREDGEN_CACHE", str(tmp_path / "cache"))
    cli.remember_train_options()
    assert json.loads(cli._options_file().read_text())["--per_device_train_batch_size"] == "int"
    argv = ["train", "--method", "predgen", "--dataset", "sst2", "--max_st", "2", *args]  # a prefix is fine
    code, heavy, err = run_entry("predgen", argv, tmp_path, PREDGEN_CACHE=str(tmp_path / "cache"))
    assert code == 2 and words in err and "predgen train --help" in err and heavy == [], err


def test_import_mi_toolkit_is_light_and_names_load_on_use():
    code = ("import sys, mi_toolkit; light = [m for m in ('torch', 'sklearn') if m in sys.modules]; "
            "f = mi_toolkit.estimate; print(light, 'torch' in sys.modules, f.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == "[] True mi_toolkit.api"


def test_light_name_lists_match_the_library():
    from mi_toolkit.cli import preflight
    from mi_toolkit.estimators import ESTIMATORS
    from mi_toolkit.states.pca import AXES
    from mi_toolkit.states.representations import KINDS
    from predgen_core.methods.heads import POOLINGS

    assert preflight.ESTIMATOR_NAMES == tuple(ESTIMATORS.list())
    assert preflight.REPRESENTATIONS == tuple(KINDS)
    assert preflight.POOLINGS == tuple(POOLINGS)
    assert preflight.PCA_AXES == tuple(AXES)
