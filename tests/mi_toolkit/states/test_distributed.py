"""Scale-out: `mi extract` under `accelerate launch` with 2 CPU processes (gloo): each process writes its share
of the shards into one cache folder, the main process merges them, and the result equals one process's."""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from mi_toolkit.states import distributed
from mi_toolkit.states.extract import ExtractOptions, extract_layers

from fixtures import accelerate_launcher, write_sst2

# accelerate launch listens on one default port: under pytest-xdist these tests share one worker
pytestmark = pytest.mark.xdist_group("accelerate-launch")


def test_shards_go_round_robin_and_a_single_process_needs_no_accelerate(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single = distributed.current()
    assert single.world == 1 and single.main and single.device is None and single.mine(3) == [0, 1, 2]
    second = distributed.Ranks(rank=1, world=2)
    assert second.mine(5) == [1, 3] and not second.main


@pytest.mark.slow
def test_extract_under_accelerate_launch_with_two_cpu_processes(tmp_path, monkeypatch):
    accelerate = accelerate_launcher()
    data = str(write_sst2(tmp_path / "data", n=20))
    cache = tmp_path / "cache"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "PREDGEN_CACHE": str(cache)}
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "mi_toolkit.cli", "extract",
           "--model", "tiny-llama", "--dataset", "sst2", "--data-dir", data, "--splits", "train", "--layers", "0,-1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    monkeypatch.setenv("PREDGEN_CACHE", str(cache))
    merged = extract_layers("tiny-llama", "sst2", "train", [0, -1], keep_tokens=True, data_dir=data,
                            options=ExtractOptions(progress=False))
    assert merged.manifest["meta"]["processes"] == 2  # served from the launched run's cache, not recomputed
    assert [s["name"] for s in merged.manifest["shards"]] == ["shard-00000", "shard-00001"] and len(merged) == 20
    alone = extract_layers("tiny-llama", "sst2", "train", [0, -1], keep_tokens=True, data_dir=data,
                           options=ExtractOptions(progress=False, out_dir=tmp_path / "alone"))
    assert alone.manifest["meta"]["processes"] == 1
    np.testing.assert_array_equal(merged.labels, alone.labels)
    for layer in (0, -1):
        for a, b in zip(merged.at(layer).iter_full(), alone.at(layer).iter_full()):
            np.testing.assert_allclose(a, b, atol=1e-5)
