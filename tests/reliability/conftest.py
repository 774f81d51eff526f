"""The reliability matrix's fixtures: tiny checkpoints, data folders, broken copies, and an in-process runner.

``invoke`` runs a console script's own entry (``run_cli(app)``) in this process, so exit
codes and messages are the ones a user sees (typer's ``CliRunner`` formats usage errors
itself); ``no_model_loads`` makes any weight load raise, which is how a case proves it was
answered before loading.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from fixtures import write_jsonl, write_sst2

TIMES: dict[str, float] = {}


@dataclass
class Outcome:
    code: Any
    out: str
    err: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [ln for ln in (self.out + self.err).splitlines() if ln.strip()]


def invoke(app: Any, prog: str, args: list[Any]) -> Outcome:
    """``prog args...`` through ``run_cli`` in this process: (exit code, stdout, stderr, seconds)."""
    from predgen_common.errors import run_cli

    out, err = io.StringIO(), io.StringIO()
    argv, sys.argv = sys.argv, [prog, *map(str, args)]
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run_cli(app)
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


class ModelLoaded(BaseException):
    """Raised by the guard when a case reaches weight loading (BaseException: nothing swallows it)."""


@pytest.fixture
def no_model_loads(monkeypatch):
    import predgen_core.api as api
    import predgen_core.checkpoint as checkpoint
    import predgen_core.methods.runtime as runtime
    import predgen_core.models as models

    def refuse(*a: Any, **k: Any) -> None:
        raise ModelLoaded("a model was loaded before the bad input was found")

    for module, name in [(models, "load_base_model"), (runtime, "load_base_model"), (api, "load_base_model"),
                         (checkpoint, "load"), (api, "load")]:
        monkeypatch.setattr(module, name, refuse)


def write_stsb(root: Path, n: int = 24) -> Path:
    for split in ("train", "validation"):
        write_jsonl(root / "stsb" / f"{split}.jsonl",
                    [{"sentence1": "a cat sat", "sentence2": "a dog sat", "label": i % 5} for i in range(n)])
    return root


@pytest.fixture(scope="session")
def env(tmp_path_factory) -> dict[str, Path]:
    """Data (sst2, stsb) and three tiny checkpoints: predgen and predictor on sst2, a regression generator."""
    from predgen_core.api import TrainConfig, train

    root = tmp_path_factory.mktemp("reliability")
    data = write_stsb(write_sst2(root / "data", n=24, unique=True))
    out = {"root": root, "data": data}
    for key, method, dataset in [("pg", "predgen", "sst2"), ("pred", "predictor", "sst2"), ("reg", "generator", "stsb")]:
        out[key] = train(TrainConfig(method=method, dataset=dataset, model="tiny-llama", output_dir=str(root / key),
                                     data_dir=str(data), max_train_samples=8, max_steps=1, batch_size=4,
                                     eval_split="", progress=False, peft_option=["r=2"]))
    return out


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# how to break a copy of the predgen checkpoint: name -> (change, words the error must contain)
BREAKS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "folder-missing": (lambda p: shutil.rmtree(p), ("does not exist",)),
    "not-a-model": (lambda p: _only_notes(p), ("checkpoint",)),
    "manifest-missing": (lambda p: (p / "manifest.json").unlink(), ("manifest.json",)),
    "manifest-empty": (lambda p: (p / "manifest.json").write_text(""), ("manifest.json", "empty")),
    "manifest-truncated": (lambda p: _truncate(p / "manifest.json"), ("manifest.json", "not valid JSON")),
    "manifest-corrupt": (lambda p: (p / "manifest.json").write_bytes(b"\x00\xff" * 50), ("manifest.json",)),
    "weights-missing": (lambda p: (p / "adapter_model.safetensors").unlink(), ("adapter_model.safetensors",)),
    "weights-empty": (lambda p: (p / "adapter_model.safetensors").write_bytes(b""), ("adapter_model.safetensors",)),
    "weights-truncated": (lambda p: _truncate(p / "adapter_model.safetensors"), ("adapter_model.safetensors", "truncated")),
    "weights-corrupt": (lambda p: (p / "adapter_model.safetensors").write_bytes(b"garbage!" * 300),
                        ("adapter_model.safetensors", "not a safetensors file")),
    "head-truncated": (lambda p: _truncate(p / "head.safetensors", 0.9), ("head.safetensors", "truncated")),
    "adapter-config-missing": (lambda p: (p / "adapter_config.json").unlink(), ("adapter_config.json",)),
    "adapter-config-corrupt": (lambda p: _truncate(p / "adapter_config.json"), ("adapter_config.json",)),
    "adapter-config-empty": (lambda p: (p / "adapter_config.json").write_text(""), ("adapter_config.json", "empty")),
}


def _breaker(source: Path, folder: Path, table: dict) -> Callable[[str], Path]:
    """``make(name)``: a copy of ``source`` under ``folder`` broken as ``table[name]`` says (made once)."""
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            path = folder / name
            shutil.copytree(source, path)
            table[name][0](path)
            made[name] = path
        return made[name]

    return make


@pytest.fixture(scope="session")
def broken(env) -> Callable[[str], Path]:
    """``broken(name)``: a copy of the predgen checkpoint broken as ``BREAKS[name]`` says (made once)."""
    return _breaker(env["pg"], env["root"] / "broken", BREAKS)


def _only_notes(path: Path) -> None:
    shutil.rmtree(path)
    path.mkdir()
    (path / "notes.txt").write_text("not a model")


def _sst2_bytes(path: Path, data: bytes) -> None:
    for split in ("train", "validation"):
        (path / "sst2" / f"{split}.tsv").write_bytes(data)


def _sst2_rows(path: Path, text: str) -> None:
    for split in ("train", "validation"):
        (path / "sst2" / f"{split}.tsv").write_text(text)


# how to break a copy of the data folder: name -> (change, words the error must contain)
DATA_BREAKS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "data-dir-missing": (lambda p: shutil.rmtree(p), ("does not exist",)),
    "data-files-missing": (lambda p: shutil.rmtree(p / "sst2"), ("sst2",)),
    "data-empty": (lambda p: _sst2_rows(p, ""), ("empty",)),
    "data-header-only": (lambda p: _sst2_rows(p, "sentence\tlabel\n"), ("empty",)),
    "data-of-another-task": (lambda p: _sst2_rows(p, "sentence1\tsentence2\tlabel\na\tb\t3.5\n"), ("sentence",)),
    "data-bad-label": (lambda p: _sst2_rows(p, "sentence\tlabel\ngreat\t1\nbad\t7\n"), ("7",)),
    "data-corrupt": (lambda p: _sst2_bytes(p, b"\xff\xfe\x00garbage\x80\x81\n" * 20), ("sst2",)),
    "data-truncated": (lambda p: _sst2_rows(p, "sentence\tlabel\na funny film\t1\na dull fi"), ("label",)),
}


@pytest.fixture(scope="session")
def broken_data(env) -> Callable[[str], Path]:
    """``broken_data(name)``: a copy of the data folder broken as ``DATA_BREAKS[name]`` says (made once)."""
    return _breaker(env["data"], env["root"] / "broken-data", DATA_BREAKS)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """With ``$PREDGEN_RELIABILITY_TIMES`` set, write each pre-load case's seconds there (max first)."""
    import os

    target = os.environ.get("PREDGEN_RELIABILITY_TIMES")
    if target and TIMES:
        rows = sorted(TIMES.items(), key=lambda kv: -kv[1])
        Path(target).write_text(f"max {rows[0][1]:.3f} s ({rows[0][0]}); {len(rows)} cases\n"
                                + "".join(f"{s:.3f}  {k}\n" for k, s in rows))
