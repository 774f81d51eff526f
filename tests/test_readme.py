"""The README's command block, run verbatim in a fresh virtual environment, so the README cannot drift.

The block starts with ``source .venv/bin/activate``: the test makes a new ``.venv`` in an empty folder, installs this
checkout into it the way ``scripts/install.sh`` does (editable, its console scripts on the venv's PATH), and borrows the
already installed dependencies through a ``.pth`` line rather than downloading torch again. The shell starts with a
bare PATH, so a README that forgot the activation (``mi: command not found``) fails here. ``PREDGEN_MODEL=tiny-llama``
makes the random 2-layer model the default base, which is the only difference from what a user runs. The data come
from the one lookup of every command (``../shared/data`` beside the repository), as they do for a user.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from predgen_core.data import data_roots

REPO = Path(__file__).resolve().parents[1]
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def readme_block() -> str:
    """The one bash block under the README's ``## Commands`` heading, as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the README's Commands section holds exactly one bash block"
    return blocks[0]


def fresh_venv(folder: Path) -> Path:
    """``folder/.venv`` with this checkout installed editable (no dependencies fetched: they are borrowed)."""
    venv = folder / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    borrowed = sysconfig.get_paths()["purelib"]  # this interpreter's site-packages (torch, transformers, ...)
    Path(purelib, "borrowed_site.pth").write_text(f"import site; site.addsitedir({borrowed!r})\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-build-isolation", "-e", str(REPO)], check=True, capture_output=True, text=True)
    return venv


@pytest.mark.slow(seconds=180)
def test_readme_commands_run_as_written(tmp_path):
    if not any((root / "sst2").is_dir() for root in data_roots(None)):
        pytest.skip("no local SST-2 (../shared/data) for the README's commands")
    fresh_venv(tmp_path)
    env = {"PATH": BARE_PATH, "HOME": str(tmp_path), "PREDGEN_MODEL": "tiny-llama",
           "PREDGEN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TERM": "dumb"}
    env["PREDGEN_MODEL_CACHE"] = os.environ["PREDGEN_MODEL_CACHE"]  # the tokenizer, built once per machine
    before = subprocess.run(["bash", "-c", "command -v mi"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert before.returncode != 0, "mi must not be on the bare PATH: the README's activation is what puts it there"
    proc = subprocess.run(["bash", "-c", "set -euo pipefail\n" + readme_block()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Traceback" not in out
    strict = {"parse_constant": lambda c: pytest.fail(f"non-strict JSON constant {c}")}
    est = json.loads((tmp_path / "est.json").read_text(), **strict)
    assert est["ci_low"] <= 0.193 + 0.05 and est["mi"] > 0.1   # the block's comment gives the truth, 0.193 nats
    assert json.loads((tmp_path / "eval.json").read_text(), **strict)["n"] == 300
    for m in ("predictor", "generator", "predgen"):
        assert (tmp_path / "runs" / m / "manifest.json").is_file(), m
    for page in ("sweep.html", "report.html", "heatmap.html"):
        assert (tmp_path / page).stat().st_size > 10_000, page
