"""docs/extending.md runs (issue 21, item 4): its example estimator, training method and task are executed here,
so the guide cannot drift from the code.

The guide's fenced blocks are read in order: a ``python`` block whose first line is ``# name.py`` is a file of
the newcomer's (written into a temporary folder); any other ``python`` block is a script run there; each line of
a ``bash`` block is a command (``python`` the interpreter running the tests). The scripts carry the guide's own
claims as ``assert`` lines. Everything runs in child processes, so the registrations the guide makes never
reach this process's registries (``ESTIMATORS``, ``METHODS``, ``TASKS``) and cannot change other tests.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "extending.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
FILE_LINE = re.compile(r"#\s*(\w+\.py)\s*$")


@dataclass
class Block:
    section: str   # the "## " heading it stands under
    lang: str
    code: str

    @property
    def file(self) -> str | None:
        """The file name a ``# name.py`` first line gives the block, else None (a script)."""
        match = FILE_LINE.fullmatch(self.code.splitlines()[0]) if self.code.strip() else None
        return match.group(1) if match and self.lang == "python" else None


def blocks(text: str) -> list[Block]:
    """The fenced ``python`` and ``bash`` blocks of ``text`` with the section each stands in."""
    heads = [(m.start(), m.group(1).strip()) for m in re.finditer(r"^## (.+)$", text, re.M)]
    out = []
    for m in FENCE.finditer(text):
        section = next((h for pos, h in reversed(heads) if pos < m.start()), "")
        if m.group(1) in ("python", "bash"):
            out.append(Block(section, m.group(1), m.group(2)))
    return out


def test_blocks_are_read_as_files_scripts_and_commands():
    text = "## A\n```python\n# a.py\nx = 1\n```\n```python\nimport a\n```\n## B\n```bash\npython a.py\n```\n"
    got = blocks(text)
    assert [(b.section, b.lang, b.file) for b in got] == [("A", "python", "a.py"), ("A", "python", None),
                                                          ("B", "bash", None)]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(tmp), str(REPO)]), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PREDGEN_CACHE=str(tmp / "cache"), MI_TOOLKIT_DATA="")
    return env


def run_sections(tmp: Path, sections: tuple[str, ...]) -> list[str]:
    """Write every file block of the guide into ``tmp``, then run the scripts and commands of ``sections`` in
    the guide's order; returns what each printed. A failing block fails the test with its output."""
    all_blocks = blocks(GUIDE.read_text())
    for b in all_blocks:
        if b.file:
            (tmp / b.file).write_text(b.code)
    outputs = []
    for i, b in enumerate(x for x in all_blocks if x.section in sections and not x.file):
        commands = ([[sys.executable, f"block{i}.py"]] if b.lang == "python" else
                    [[sys.executable if w == "python" else w for w in shlex.split(line)]
                     for line in b.code.splitlines() if line.strip() and not line.lstrip().startswith("#")])
        if b.lang == "python":
            (tmp / f"block{i}.py").write_text(b.code)
        for cmd in commands:
            proc = subprocess.run(cmd, cwd=tmp, env=_env(tmp), capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{b.section}: {' '.join(cmd[1:])} failed:\n{proc.stdout}\n{proc.stderr}"
            outputs.append(proc.stdout)
    return outputs


def test_the_guide_names_each_file_it_imports():
    files = {b.file for b in blocks(GUIDE.read_text()) if b.file}
    assert {"my_estimator.py", "my_method.py", "my_task.py", "my_mi.py"} <= files


def test_the_example_estimator_registers_reads_and_takes_its_knob(tmp_path):
    out = run_sections(tmp_path, ("An MI estimator",))
    assert any("my-estimator" in o for o in out)          # the CLI printed a result of the new estimator
    assert (tmp_path / "mi.json").is_file()


def test_the_example_method_and_task_train_and_are_read_by_the_estimator(tmp_path):
    run_sections(tmp_path, ("A training method", "A task"))
    assert (tmp_path / "runs" / "my-predictor" / "manifest.json").is_file()
    assert (tmp_path / "model-mi.json").is_file()


@pytest.mark.parametrize("registry", ["mi_toolkit.estimators:ESTIMATORS", "predgen_core.methods:METHODS",
                                      "predgen_core.tasks:TASKS"])
def test_the_guide_leaves_this_process_registries_alone(registry):
    import importlib

    module, _, name = registry.partition(":")
    names = getattr(importlib.import_module(module), name).list()
    assert not {"my-estimator", "my-predictor", "product-reviews"} & set(names)
