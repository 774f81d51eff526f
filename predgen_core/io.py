"""Atomic file writes and the user cache folder.

Nothing the project writes is ever left half-written: every file goes to a
temporary sibling first and is then renamed into place (``os.replace`` is atomic
on POSIX within one filesystem).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def cache_dir(*parts: str) -> Path:
    """The project's cache folder (``$PREDGEN_CACHE`` or ``$XDG_CACHE_HOME/predgen``), created."""
    root = os.environ.get("PREDGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "predgen"
    )
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json_atomic(target: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; swap it in place of ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def repo_root() -> Path:
    """The repository (or installed package) root: the folder above ``predgen_core``."""
    return Path(__file__).resolve().parents[1]


def portable_path(path: str | os.PathLike | None, roots: dict[str, str | os.PathLike] | None = None) -> str | None:
    """``path`` as results files record it: never an absolute machine path.

    Inside the repository (or a sibling of it, such as ``../shared/data``): relative to the
    repository. Inside one of ``roots`` (``{"$MI_TOOLKIT_DATA": folder}``; the data folder
    from the environment is always one): ``<name>/<relative>``. Anywhere else (a scratch
    folder under /tmp, another clone): from its last ``runs`` component on, else its name. Non-paths (hub ids,
    registered model names) are returned unchanged.
    """
    if path is None:
        return None
    text = os.fspath(path)
    if not os.path.isabs(os.path.expanduser(text)):
        return text
    p = Path(os.path.expanduser(text)).resolve()
    all_roots = dict(roots or {})
    if os.environ.get("MI_TOOLKIT_DATA"):
        all_roots.setdefault("$MI_TOOLKIT_DATA", os.environ["MI_TOOLKIT_DATA"])
    repo = repo_root()
    for base in (repo, repo.parent):
        if p.is_relative_to(base) and (base == repo or p.relative_to(base).parts[:1] == ("shared",)):
            return os.path.relpath(p, repo)
    for name, root in all_roots.items():
        r = Path(root).expanduser().resolve()
        if p.is_relative_to(r):
            return str(Path(name) / p.relative_to(r))
    parts = p.parts
    tail = len(parts) - 1 - parts[::-1].index("runs") if "runs" in parts else len(parts) - 1
    return str(Path(*parts[tail:]))  # a scratch folder: from its runs/ component on, else its name


# an absolute path inside text: "/" + at least two components, not part of a URL, a word or a fraction
_SYSTEM = ("/usr/", "/bin/", "/etc/", "/dev/", "/proc/", "/sys/", "/opt/")
_ABS_PATH = re.compile(r"(?<![\w:/.~])(/[\w.+@-]+(?:/[\w.+@-]+)+/?)")


def portable_text(text: str) -> str:
    """``text`` with every absolute path in it replaced by :func:`portable_path`'s form."""
    def swap(m: re.Match) -> str:
        found = m.group(1)
        if found.startswith(_SYSTEM):  # the same on every machine (/usr/bin/time)
            return found
        return portable_path(found.rstrip("/")) or ""

    return _ABS_PATH.sub(swap, text)


def portable_paths(obj: Any) -> Any:
    """A JSON-ready ``obj`` with :func:`portable_text` applied to every string (keys included)."""
    if isinstance(obj, str):
        return portable_text(obj)
    if isinstance(obj, Path):
        return portable_text(str(obj))
    if isinstance(obj, dict):
        return {portable_paths(k) if isinstance(k, str) else k: portable_paths(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [portable_paths(v) for v in obj]
    return obj


def write_results_json(target: str | os.PathLike, obj: Any) -> Path:
    """:func:`write_json_atomic` for results files: no absolute machine path is written (:func:`portable_paths`)."""
    return write_json_atomic(target, portable_paths(obj))


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
