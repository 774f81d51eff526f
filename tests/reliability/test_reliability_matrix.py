"""The reliability matrix: every `mi` and `predgen` command against the bad inputs a user can give it.

Each case exits 2 with exactly one line (``error: <problem>; <way out>``), no traceback,
nothing written at the output paths, and (pre-load cases) without loading any model:
the ``no_model_loads`` guard turns a weight load into a failure. Commands are listed
from the typer apps, so a new command without cases fails ``test_every_command_has_cases``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import typer

from mi_toolkit.cli import app as mi_app
from predgen_core.cli import app as predgen_app

from conftest import BREAKS, DATA_BREAKS, TIMES, invoke

APPS = {"mi": mi_app, "predgen": predgen_app}
WAY_OUT = re.compile(r"\b(pass|use|choose|give|check|copy|retrain|rerun|run|fix|rename|point|save|pick|see|set|"
                     r"upgrade|delete|train|convert|write)\b|e\.g\.|such as|one of")
PROC = Path("/proc/predgen-reliability-out")  # cannot be written, not even by root


def commands(prog: str) -> list[str]:
    return sorted(typer.main.get_command(APPS[prog]).commands)


# -------- how each command is given a checkpoint (C), a data folder (D), output files (O: json, H: html)

def ckpt_args(env: dict, o: Path) -> dict[tuple[str, str], Callable[[Any, Any], list[Any]]]:
    d, j, h = env["data"], o / "out.json", o / "out.html"
    return {
        ("mi", "estimate"): lambda c, dd=d: ["estimate", "--model", c, "--dataset", "sst2", "--data-dir", dd, "--json", j],
        ("mi", "pca-sweep"): lambda c, dd=d: ["pca-sweep", "--model", c, "--dataset", "sst2", "--data-dir", dd,
                                              "--output", h, "--json", j],
        ("mi", "dpi"): lambda c, dd=d: ["dpi", "--models", c, "--dataset", "sst2", "--data-dir", dd, "--output", h,
                                        "--json", j],
        ("mi", "heatmap"): lambda c, dd=d: ["heatmap", "--model", c, "--text", "a funny film", "--dataset", "sst2",
                                            "--data-dir", dd, "--output", h, "--json", j, "--no-attributions"],
        ("mi", "layer-sweep"): lambda c, dd=d: ["layer-sweep", "--model", c, "--dataset", "sst2", "--data-dir", dd,
                                                "--output", h, "--json", j],
        ("mi", "extract"): lambda c, dd=d: ["extract", "--model", c, "--dataset", "sst2", "--data-dir", dd],
        ("mi", "curve"): lambda c, dd=d: ["curve", "--model", c, "--dataset", "sst2", "--data-dir", dd, "--output", h,
                                          "--json", j],
        ("predgen", "evaluate"): lambda c, dd=d: ["evaluate", c, "--dataset", "sst2", "--data-dir", dd, "--json", j],
        ("predgen", "predict"): lambda c, dd=d: ["predict", c, "--text", "a funny film"],
        ("predgen", "convert"): lambda c, dd=d: ["convert", c],
    }


DATA_COMMANDS = [("mi", "estimate"), ("mi", "pca-sweep"), ("mi", "dpi"), ("mi", "heatmap"), ("mi", "layer-sweep"),
                 ("mi", "extract"), ("mi", "curve"), ("predgen", "evaluate"), ("predgen", "zero-shot"), ("predgen", "train")]


def train_args(d: Any, out: Path, *extra: Any) -> list[Any]:
    return ["train", "--method", "predgen", "--dataset", "sst2", "--model", "tiny-llama", "--data-dir", d,
            "--output-dir", out, "--max-steps", 1, "--progress", "false", *extra]


def data_args(env: dict, o: Path, prog: str, cmd: str, d: Any) -> list[Any]:
    if cmd == "zero-shot":
        return ["zero-shot", "--dataset", "sst2", "--model", "tiny-llama", "--data-dir", d, "--json", o / "out.json"]
    if cmd == "train":
        return train_args(d, o / "run")
    return ckpt_args(env, o)[(prog, cmd)](env["pg"], d)


# -------- malformed options, wrong kinds and unwritable outputs: (prog, args(env, o), words)

def npy(o: Path, name: str, arr: Any = None, raw: bytes | None = None) -> Path:
    path = o / name
    if raw is not None:
        path.write_bytes(raw)
    elif arr is not None:
        np.save(path, arr)
    return path


def arrays(env: dict, o: Path, features: Path, labels: Path | None = None) -> list[Any]:
    y = labels or npy(o, "y.npy", np.arange(40) % 2)
    return ["estimate", "--features", features, "--labels", y, "--json", o / "out.json"]


def _npz(o: Path, name: str, **named: Any) -> Path:
    np.savez(o / name, **named)
    return o / name


def _cut(source: Path, path: Path) -> Path:
    path.write_bytes(source.read_bytes()[:-7] if source.is_file() else b"")  # (a stub run has no source)
    return path


def _safetensors(o: Path, arr: np.ndarray) -> Path:
    from safetensors.numpy import save_file

    save_file({"features": arr}, str(o / "z.safetensors"))
    return o / "z.safetensors"


def _torch_file(o: Path, obj: Any = None, cut: bool = False) -> Path:
    import torch

    path = o / "z.pt"

    torch.save(torch.zeros(40, 3) if obj is None else obj, path)
    if cut:
        path.write_bytes(path.read_bytes()[:-40])
    return path


def _truncated_npy(o: Path) -> Path:
    npy(o, "full.npy", np.random.default_rng(0).normal(size=(40, 8)))
    return npy(o, "z.npy", raw=(o / "full.npy").read_bytes()[:300])


OPTION_CASES: dict[str, tuple[str, Callable[[dict, Path], list[Any]], tuple[str, ...]]] = {
    # .npy inputs of `mi estimate` (array mode)
    "npy-missing": ("mi", lambda e, o: arrays(e, o, o / "nope.npy"), ("not found",)),
    "npy-empty": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npy", raw=b"")), ("z.npy",)),
    "npy-truncated": ("mi", lambda e, o: arrays(e, o, _truncated_npy(o)), ("z.npy",)),
    "npy-corrupt": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npy", raw=b"hello,world\n" * 9)), ("not a readable",)),
    "npy-object": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npy", np.array([{"a": 1}] * 40, dtype=object))),
                   ("non-numeric",)),
    "npy-length-mismatch": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npy", np.zeros((30, 4)))), ("30",)),
    "npy-a-folder": ("mi", lambda e, o: arrays(e, o, o), ("not found",)),
    "npy-safetensors-given": ("mi", lambda e, o: arrays(e, o, e["pg"] / "head.safetensors"),
                              ("several arrays", "--features-key")),
    # activations from other tools (.npz, .safetensors, torch.save): bad files
    "npz-corrupt": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npz", raw=b"PK\x03\x04" + b"x" * 200)), ("z.npz",)),
    "npz-empty-archive": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz")), ("no arrays",)),
    "npz-several-no-key": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", a=np.zeros((40, 3)), b=np.zeros((40, 3)))),
                           ("several arrays", "'a'")),
    "npz-key-unknown": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", x=np.zeros((40, 3))))
                        + ["--features-key", "nope"], ("nope", "'x'")),
    "npz-mask-shape": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", x=np.zeros((40, 5, 3)), mask=np.ones((40, 4)))),
                       ("mask", "(40, 5)")),
    "npz-mask-with-2d": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", x=np.zeros((40, 3)), mask=np.ones((40, 3)))),
                         ("mask", "(N, T, d)")),
    "npz-4d": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", x=np.zeros((40, 2, 2, 2)))), ("(40, 2, 2, 2)",)),
    "npz-strings": ("mi", lambda e, o: arrays(e, o, _npz(o, "z.npz", x=np.array(["a"] * 40))), ("non-numeric",)),
    "npy-features-key": ("mi", lambda e, o: arrays(e, o, npy(o, "z.npy", np.zeros((40, 3))))
                         + ["--features-key", "x"], ("--features-key",)),
    "safetensors-truncated": ("mi", lambda e, o: arrays(e, o, _cut(e["pg"] / "head.safetensors", o / "z.safetensors")),
                              ("truncated",)),
    "safetensors-rows-mismatch": ("mi", lambda e, o: arrays(e, o, _safetensors(o, np.zeros((30, 3), np.float32))),
                                  ("N=30", "N=40")),
    "pt-not-torch": ("mi", lambda e, o: arrays(e, o, npy(o, "z.pt", raw=b"hello,world\n" * 9)), ("not a torch.save",)),
    "pt-empty": ("mi", lambda e, o: arrays(e, o, npy(o, "z.pt", raw=b"")), ("empty",)),
    "pt-truncated": ("mi", lambda e, o: arrays(e, o, _torch_file(o, cut=True)), ("z.pt",)),
    "pt-not-tensors": ("mi", lambda e, o: arrays(e, o, _torch_file(o, obj=[1, 2, 3])), ("list", "dict of tensors")),
    # wrong kind of thing
    "regression-ckpt-for-classification": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["reg"]),
                                           ("regression",)),
    "classification-ckpt-for-regression": ("mi", lambda e, o: ["pca-sweep", "--model", e["pg"], "--dataset", "stsb",
                                                               "--data-dir", e["data"]], ("classification",)),
    "dpi-mixed-kinds": ("mi", lambda e, o: ["dpi", "--models", e["pg"], e["reg"], "--dataset", "sst2",
                                            "--data-dir", e["data"]], ("regression",)),
    "evaluate-regression-on-sst2": ("predgen", lambda e, o: ["evaluate", e["reg"], "--dataset", "sst2",
                                                             "--data-dir", e["data"]], ("regression",)),
    "heatmap-regression-on-sst2": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "heatmap")](e["reg"]), ("regression",)),
    # malformed options: wrong type or out of range
    "estimate-max-samples-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--max-samples", "x"],
                                  ("--max-samples",)),
    "estimate-max-samples-0": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--max-samples", 0],
                               ("--max-samples",)),
    "estimate-pca-k-0": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--pca-k", 0], ("--pca-k",)),
    "estimate-layer-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--layer", "last"],
                            ("--layer",)),
    "estimate-seed-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--seed", "1.5"],
                           ("--seed",)),
    "estimate-estimator-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"])
                                   + ["--estimator", "nope"], ("nope",)),
    "estimate-representation-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"])
                                        + ["--representation", "nope"], ("nope",)),
    "estimate-pooling-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"])
                                 + ["--pooling", "nope"], ("nope",)),
    "estimate-pca-axis-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"])
                                  + ["--pca-axis", "nope"], ("nope",)),
    "estimate-split-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "estimate")](e["pg"]) + ["--split", "nope"],
                               ("nope",)),
    "estimate-model-without-dataset": ("mi", lambda e, o: ["estimate", "--model", e["pg"]], ("--dataset",)),
    "sweep-k-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "pca-sweep")](e["pg"]) + ["--k", "2,x"], ("--k",)),
    "sweep-row-dim-0": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "pca-sweep")](e["pg"]) + ["--row-dim", 0],
                        ("--row-dim",)),
    "dpi-pca-k-negative": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "dpi")](e["pg"]) + ["--pca-k", -1], ("--pca-k",)),
    "heatmap-text-empty": ("mi", lambda e, o: ["heatmap", "--model", e["pg"], "--text", "", "--data-dir", e["data"]],
                           ("--text",)),
    "heatmap-label-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "heatmap")](e["pg"]) + ["--label", "high"],
                           ("--label",)),
    "layer-sweep-pooling-type": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "layer-sweep")](e["pg"])
                                 + ["--max-samples", "-3"], ("--max-samples",)),
    "extract-split-unknown": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "extract")](e["pg"]) + ["--splits", "nope"],
                              ("nope",)),
    "curve-folds-1": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "curve")](e["pg"]) + ["--folds", 1], ("--folds",)),
    "curve-sizes-type": ("mi", lambda e, o: ["curve", "--z", f"last={npy(o, 'z.npy', np.zeros((40, 3)))}", "--y",
                                             npy(o, "y.npy", np.arange(40) % 2), "--sizes", "10,x"], ("--sizes",)),
    "curve-model-and-arrays": ("mi", lambda e, o: ckpt_args(e, o)[("mi", "curve")](e["pg"]) + ["--y", o / "y.npy"],
                               ("--model",)),
    "bench-n-small": ("mi", lambda e, o: ["bench", "--n", 5], ("--n",)),
    "bench-n-type": ("mi", lambda e, o: ["bench", "--n", "many"], ("--n",)),
    "bench-estimators-empty": ("mi", lambda e, o: ["bench", "--estimators", ""], ("--estimators",)),
    "bench-estimators-unknown": ("mi", lambda e, o: ["bench", "--estimators", "nope"], ("nope",)),
    "pipeline-max-steps-0": ("mi", lambda e, o: ["pipeline", "--max-steps", 0, "--out-dir", o / "p"], ("--max-steps",)),
    "pipeline-max-samples-type": ("mi", lambda e, o: ["pipeline", "--max-samples", "x", "--out-dir", o / "p"],
                                  ("--max-samples",)),
    "train-peft-option-type": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--peft-option", "r=zero"),
                               ("r=", "integer", "lora_alpha")),
    "train-peft-option-unknown": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--peft-option", "rank=8"),
                                  ("rank", "settings", "lora_dropout")),
    "train-peft-option-range": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--peft-option",
                                                                   "lora_dropout=2"), ("lora_dropout", "between")),
    "train-peft-option-rank-0": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--peft-option", "r=0"),
                                 ("r=0",)),
    "train-peft-option-no-equals": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--peft-option", "r"),
                                    ("key=value",)),
    "train-max-steps-0": ("predgen", lambda e, o: train_args(e["data"], o / "run")[:-6] + [
        "--output-dir", o / "run", "--max-steps", 0], ("max_steps",)),
    "train-learning-rate-type": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--learning_rate", "fast"),
                                 ("learning_rate",)),
    "train-method-unknown": ("predgen", lambda e, o: train_args(e["data"], o / "run", "--method", "nope"), ("nope",)),
    "evaluate-batch-size-0": ("predgen", lambda e, o: ckpt_args(e, o)[("predgen", "evaluate")](e["pg"])
                              + ["--batch-size", 0], ("--batch-size",)),
    "evaluate-split-unknown": ("predgen", lambda e, o: ckpt_args(e, o)[("predgen", "evaluate")](e["pg"])
                               + ["--split", "nope"], ("nope",)),
    "zero-shot-dataset-unknown": ("predgen", lambda e, o: ["zero-shot", "--dataset", "nope"], ("nope",)),
    "zero-shot-max-samples-negative": ("predgen", lambda e, o: ["zero-shot", "--dataset", "sst2", "--max-samples", -1],
                                       ("--max-samples",)),
    "predict-text-empty": ("predgen", lambda e, o: ["predict", e["pg"], "--text", " "], ("--text",)),
    "predict-text-missing": ("predgen", lambda e, o: ["predict", e["pg"]], ("--text",)),
    "convert-extra-argument": ("predgen", lambda e, o: ["convert", e["pg"], "extra"], ("extra",)),
    "list-unknown-option": ("predgen", lambda e, o: ["list", "--verbose"], ("--verbose",)),
}

# outputs that cannot be written, checked before the work: (prog, args with OUT, flag)
OUTPUT_CASES: dict[str, tuple[str, Callable[[dict, Path, Path], list[Any]]]] = {
    "estimate-arrays-json": ("mi", lambda e, o, out: arrays(e, o, npy(o, "z.npy", np.zeros((40, 3))))[:-1] + [out]),
    "estimate-model-json": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "estimate")](e["pg"])[:-1] + [out]),
    "pca-sweep-output": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "pca-sweep")](e["pg"]) + ["--output", out]),
    "dpi-json": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "dpi")](e["pg"]) + ["--json", out]),
    "heatmap-output": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "heatmap")](e["pg"]) + ["--output", out]),
    "layer-sweep-json": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "layer-sweep")](e["pg"]) + ["--json", out]),
    "bench-json": ("mi", lambda e, o, out: ["bench", "--quick", "--json", out]),
    "curve-json": ("mi", lambda e, o, out: ckpt_args(e, o)[("mi", "curve")](e["pg"])[:-1] + [out]),
    "pipeline-out-dir": ("mi", lambda e, o, out: ["pipeline", "--quick", "--model", "tiny-llama", "--out-dir", out]),
    "train-output-dir": ("predgen", lambda e, o, out: train_args(e["data"], out)),
    "evaluate-json": ("predgen", lambda e, o, out: ckpt_args(e, o)[("predgen", "evaluate")](e["pg"])[:-1] + [out]),
    "zero-shot-json": ("predgen", lambda e, o, out: ["zero-shot", "--dataset", "sst2", "--data-dir", e["data"],
                                                     "--json", out]),
}
UNWRITABLE = {"read-only-fs": lambda o: PROC / "out.json", "under-a-file": lambda o: o / "a-file" / "out.json"}

CKPT_CASES = [(p, c, b) for (p, c) in ckpt_args({"data": None}, Path(".")) for b in BREAKS]
DATA_CASES = [(p, c, b) for (p, c) in DATA_COMMANDS for b in DATA_BREAKS]
OUT_CASES = [(k, u) for k in OUTPUT_CASES for u in UNWRITABLE]


def check_one_line(r: Any, words: tuple[str, ...], o: Path, case: str) -> None:
    """The contract: exit 2, one line, 'error: ', the words, a way out, no traceback, nothing written."""
    text = r.out + r.err
    assert r.code == 2, f"exit {r.code}:\n{text[-3000:]}"
    assert len(r.lines) == 1 and r.lines[0].startswith("error: "), text[-3000:]
    assert "Traceback" not in text and "━" not in text  # no traceback, no progress bar
    line = r.lines[0]
    for w in words:
        assert w in line, f"{w!r} not in {line!r}"
    assert WAY_OUT.search(line.split(";", 1)[-1] if ";" in line else line), f"no way out named: {line!r}"
    written = [p.name for p in o.rglob("*") if p.name.startswith(("out.", ".out.")) or p.name == "run"]
    assert not written, f"half-written outputs: {written}"
    TIMES[case] = r.seconds


def test_every_command_has_cases(tmp_path):
    """Besides the unknown-option case every command gets, each has cases of its own in the matrix."""
    stub = {"data": tmp_path, "pg": tmp_path, "reg": tmp_path, "pred": tmp_path}
    covered = {(p, c) for p, c, _ in CKPT_CASES} | set(DATA_COMMANDS)
    covered |= {(p, str(args(stub, tmp_path)[0])) for p, args, _ in OPTION_CASES.values()}
    covered |= {(p, str(args(stub, tmp_path, tmp_path / "x")[0])) for p, args in OUTPUT_CASES.values()}
    missing = [f"{p} {c}" for p in APPS for c in commands(p) if (p, c) not in covered]
    assert not missing, f"commands with no bad-input case in the matrix: {missing}"


@pytest.mark.parametrize("prog, command, brk", CKPT_CASES, ids=[f"{p}-{c}-{b}" for p, c, b in CKPT_CASES])
def test_broken_checkpoint(env, broken, no_model_loads, tmp_path, prog, command, brk):
    path = broken(brk)
    before = sorted(p.name for p in path.iterdir()) if path.is_dir() else None
    r = invoke(APPS[prog], prog, ckpt_args(env, tmp_path)[(prog, command)](path))
    check_one_line(r, BREAKS[brk][1], tmp_path, f"{prog} {command} {brk}")
    assert (sorted(p.name for p in path.iterdir()) if path.is_dir() else None) == before  # left as it was


@pytest.mark.parametrize("prog, command, brk", DATA_CASES, ids=[f"{p}-{c}-{b}" for p, c, b in DATA_CASES])
def test_broken_data(env, broken_data, no_model_loads, tmp_path, prog, command, brk):
    r = invoke(APPS[prog], prog, data_args(env, tmp_path, prog, command, broken_data(brk)))
    check_one_line(r, DATA_BREAKS[brk][1], tmp_path, f"{prog} {command} {brk}")


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_bad_option_or_kind(env, no_model_loads, tmp_path, case):
    prog, args, words = OPTION_CASES[case]
    r = invoke(APPS[prog], prog, args(env, tmp_path))
    check_one_line(r, words, tmp_path, case)


@pytest.mark.parametrize("case, where", OUT_CASES, ids=[f"{k}-{u}" for k, u in OUT_CASES])
def test_unwritable_output(env, no_model_loads, tmp_path, case, where):
    (tmp_path / "a-file").write_text("a file, not a folder")
    prog, args = OUTPUT_CASES[case]
    out = UNWRITABLE[where](tmp_path)
    r = invoke(APPS[prog], prog, args(env, tmp_path, out))
    check_one_line(r, ("cannot be", str(out.parent.name)), tmp_path, f"{case} {where}")
    assert not out.exists()


@pytest.mark.parametrize("prog, command", [(p, c) for p in APPS for c in commands(p)])
def test_unknown_option(prog, command, no_model_loads, tmp_path):
    """Every command, listed from its app: an unknown option is one line naming --help."""
    r = invoke(APPS[prog], prog, [command, "--no-such-option"])
    if command == "train":  # HfArgumentParser reads train's options (the required ones first)
        r = invoke(APPS[prog], prog, train_args(tmp_path, tmp_path / "run", "--no-such-option"))
        check_one_line(r, ("--no-such-option", "predgen train --help"), tmp_path, f"{prog} {command} unknown-option")
    else:
        check_one_line(r, ("--no-such-option", f"{prog} {command} --help"), tmp_path, f"{prog} {command} unknown-option")


def test_layer_out_of_range_after_loading(env, tmp_path):
    """The one check that needs the model (its depth): still one line, exit 2, nothing written."""
    r = invoke(mi_app, "mi", ckpt_args(env, tmp_path)[("mi", "estimate")](env["pg"]) + ["--layer", 9])
    check_one_line(r, ("layer 9",), tmp_path, "estimate layer out of range (after loading)")
    TIMES.pop("estimate layer out of range (after loading)")
