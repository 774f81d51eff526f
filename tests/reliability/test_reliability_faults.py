"""Faults: kill -9 during state extraction and at the output write of a sweep, and two processes
extracting the same states at once. Afterwards every cache entry and output is readable or absent,
and the same command finishes. The faults are injected at fixed points by fault_runner.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from mi_toolkit.states.store import HiddenStates

RUNNER = Path(__file__).with_name("fault_runner.py")


def run(args: list, cache: Path, fault: str = "") -> subprocess.Popen:
    env = {**os.environ, "PREDGEN_CACHE": str(cache), "FAULT": fault, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(RUNNER), *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: int = 300) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def state_entries(cache: Path) -> list[Path]:
    root = cache / "states"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def assert_readable_or_incomplete(cache: Path) -> list[HiddenStates]:
    """Each cache entry is complete and reads whole, or says it is incomplete (to be resumed)."""
    complete = []
    for entry in state_entries(cache):
        manifest = entry / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text()).get("complete"):
            hs = HiddenStates(entry)
            assert len(hs.labels) == hs.n and all(np.isfinite(z).all() for z in hs.iter_full())
            complete.append(hs)
    return complete


def test_kill_during_extraction_then_at_output_write_then_finish(env, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = ["mi", "pca-sweep", "--model", env["pg"], "--dataset", "sst2", "--data-dir", env["data"], "--k", "1,2",
            "--output", out / "sweep.html", "--json", out / "sweep.json"]
    code, text = finish(run(args, cache, "kill-after-dir:1"))  # killed after the first shard is in place
    assert code == -9, text[-2000:]
    assert len(assert_readable_or_incomplete(cache)) == 0 and state_entries(cache)
    assert not (out / "sweep.json").exists() and not (out / "sweep.html").exists()
    code, text = finish(run(args, cache, "kill-before-file:sweep.json"))  # resumes, estimates, dies writing
    assert code == -9, text[-2000:]
    assert len(assert_readable_or_incomplete(cache)) == 2  # both splits extracted, whole
    assert not (out / "sweep.json").exists()  # never half a file: absent
    code, text = finish(run(args, cache))
    assert code == 0, text[-3000:]
    result = json.loads((out / "sweep.json").read_text())
    assert result["ks"] == [1, 2] and len(result["results"]) == 2 and (out / "sweep.html").stat().st_size > 0
    assert len(assert_readable_or_incomplete(cache)) == 2


def test_two_processes_extract_the_same_states(env, tmp_path):
    cache = tmp_path / "cache"
    args = ["mi", "extract", "--model", env["pg"], "--dataset", "sst2", "--data-dir", env["data"], "--splits", "train"]
    fault = f"barrier-before-dir:{tmp_path / 'barrier'}:2"  # both have written the shard; both rename it now
    procs = [run(args, cache, fault) for _ in range(2)]
    results = [finish(p) for p in procs]
    assert [c for c, _ in results] == [0, 0], "\n".join(t[-2000:] for _, t in results)
    entries = state_entries(cache)
    complete = assert_readable_or_incomplete(cache)
    assert len(entries) == 1 and len(complete) == 1 and complete[0].n == 24
    assert len(list((tmp_path / "barrier").iterdir())) == 2  # both processes reached the rename together
