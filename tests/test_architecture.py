"""The floor plan's targets (docs/ARCHITECTURE.md): the layer contract (.importlinter, checked by
import-linter), no import cycle, small modules and functions, a light estimator package and ground
floor, no repeated blocks in the packages."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("predgen_common", "predgen_core", "mi_toolkit", "predgen_mi")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 8
# Deliberate exceptions, each with its reason. Empty: nothing is exempt.
EXEMPT: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports anywhere in its file (inside functions too)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & set(known)
            out |= subs
            if len(subs) < len(node.names):  # a name defined in ``base`` itself, not a submodule
                out.add(base)
    return {m for m in out if m in known and m != name}


def test_the_import_graph_of_the_packages_has_no_cycle():
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert len(graph) > 40  # the walk saw the packages


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` (import-linter, part of the test extra) on ``config``, run from the repository root."""
    script = Path(sys.executable).with_name("lint-imports")
    if not script.exists():
        pytest.fail("import-linter is not installed; pip install -e '.[test]' (it checks the layer contract)")
    return subprocess.run([str(script), "--no-cache", "--no-logo", str(config)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)


def test_every_import_keeps_the_layer_contract():
    """.importlinter: mi_toolkit's floors import only downwards (every top-level module on a floor), the
    training package imports neither the toolkit nor the workflow, no measuring floor trains, and the
    common floor (predgen_common) imports none of the three."""
    out = _lint_imports(REPO / ".importlinter")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout and "4 kept" in out.stdout, out.stdout


def test_the_contract_check_fails_on_a_broken_contract(tmp_path):
    """The same run reports a contract the code breaks (the ground floor placed above the states)."""
    text = (REPO / ".importlinter").read_text()
    floors = "    states | estimators\n    validate\n    ground\n"
    assert floors in text
    broken = tmp_path / "broken.ini"
    broken.write_text(text.replace(floors, "    ground\n    states | estimators\n    validate\n"))
    out = _lint_imports(broken)
    assert out.returncode != 0 and "BROKEN" in out.stdout
    assert "mi_toolkit.states.representations -> mi_toolkit.ground" in out.stdout, out.stdout


def test_the_ground_floor_is_light_and_names_the_training_poolings():
    """mi_toolkit.ground imports no torch or scikit-learn, and its pooling names are the training heads'."""
    out = _fresh_python("import sys, mi_toolkit.ground as g; "
                        "print(sorted(m for m in ('torch', 'sklearn', 'transformers') if m in sys.modules), g.POOLINGS)")
    from predgen_core.methods.heads import POOLINGS

    assert out.stdout.strip() == f"[] {POOLINGS}", out.stdout


def test_no_module_or_function_is_too_long():
    too_long = []
    for name, path in _modules().items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES and name not in EXEMPT:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and f"{name}.{node.name}" not in EXEMPT:
                    too_long.append(f"{name}.{node.name}: {lines} lines")
    assert not too_long, f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function: {too_long}"


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Positional and keyword-only parameters, ``self``/``cls`` not counted (``*args``/``**kwargs`` neither)."""
    names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    return len(names) - (names[:1] in (["self"], ["cls"]))


def _is_command(module: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A command of the ``mi`` command line: its parameters are the command's option declarations (typer)."""
    return module.startswith("mi_toolkit.cli") and any(
        isinstance(d, ast.Name) and d.id == "user_errors" for d in node.decorator_list)


def test_no_function_outside_the_command_line_options_takes_more_than_eight_parameters():
    """What travels together is an object (a Setting, a config, a Run); only the typer commands, whose
    parameters are the command's options, list more."""
    wide = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameters(node) > MAX_PARAMETERS
                    and not _is_command(name, node)):
                wide.append(f"{name}.{node.name}: {_parameters(node)}")
    assert not wide, f"over {MAX_PARAMETERS} parameters: {wide}"


def test_the_parameter_check_counts_what_it_should():
    """The check above fails on a wide function and passes a command or a method's ``self``."""
    tree = ast.parse("def f(a, b, c, d, e, f, g, h, *, i): pass\n"
                     "class C:\n    def m(self, a, b, c, d, e, f, g, h): pass\n"
                     "@user_errors\ndef cmd(a, b, c, d, e, f, g, h, i, j): pass\n")
    fns = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert _parameters(fns["f"]) == 9 and _parameters(fns["m"]) == 8
    assert _is_command("mi_toolkit.cli.measures", fns["cmd"]) and not _is_command("mi_toolkit.measures.dpi", fns["cmd"])


SETUP_CALLS = {"draw_pools", "fit_pool", "extract", "extract_layers"}


def test_the_setup_sequence_is_written_once():
    """Among the measures only the Setting draws pools and extracts states (``measures/setting.py``; the pool
    functions live in ``pools.py``): every other measure reads them through a Setting."""
    found = []
    for name, path in _modules().items():
        if not name.startswith("mi_toolkit.measures.") or name in ("mi_toolkit.measures.setting",
                                                                   "mi_toolkit.measures.pools"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if called in SETUP_CALLS:
                    found.append(f"{name}:{node.lineno} {called}")
    assert not found, f"a measure draws pools or extracts states itself: {found}"


def _fresh_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the repository importable; it must exit 0."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_importing_the_estimators_loads_neither_transformers_nor_peft():
    out = _fresh_python("import sys, mi_toolkit.estimators; "
                        "print(sorted(m for m in ('transformers', 'peft') if m in sys.modules))")
    assert out.stdout.strip() == "[]", f"import mi_toolkit.estimators loaded {out.stdout.strip()}"


@pytest.mark.skipif(shutil.which("duplicates") is None, reason="the `duplicates` tool is not on this machine's PATH")
def test_no_repeated_block_of_six_lines_in_the_packages():
    out = subprocess.run(["duplicates", "--most", "200", "--seconds", "120"], capture_output=True, text=True,
                         cwd=REPO, timeout=300).stdout
    assert "incomplete" not in out, out
    rows = [line for line in out.splitlines() if line.startswith("D")]
    inside = [r for r in rows if all(side.strip().split(":")[0].split(" ")[-1].startswith(PACKAGES)
                                     for side in r.split("~"))]
    assert not inside, "repeated blocks in the packages:\n" + "\n".join(inside)
