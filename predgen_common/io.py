"""Atomic file writes and the user cache folder.

Nothing the project writes is ever left half-written: every file goes to a
temporary sibling first and is then renamed into place (``os.replace`` is atomic
on POSIX within one filesystem).
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator

from predgen_common.errors import UserError

# a value that does not exist is written as null, with a sibling "<key>_reason" saying why
REASON_SUFFIX = "_reason"


def cache_dir(*parts: str) -> Path:
    """The project's cache folder (``$PREDGEN_CACHE`` or ``$XDG_CACHE_HOME/predgen``), created."""
    root = os.environ.get("PREDGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "predgen"
    )
    path = Path(root, *parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as err:
        raise UserError(f"the cache folder {path} cannot be used ({_why(err)}); set PREDGEN_CACHE to a "
                        "writable folder, or fix or delete the one named") from None
    return path


def _why(err: OSError) -> str:
    """A short reason for an OS error (the dangling link, the full disk, the permission)."""
    if err.errno == errno.ENOSPC:
        return "no space left on the device"
    if err.errno == errno.EEXIST or isinstance(err, FileExistsError):
        return "a file or a dangling symlink is in the way"
    return err.strerror or type(err).__name__


def write_error(target: Path, err: OSError) -> UserError:
    """The one line for an output that could not be written (nothing is left at ``target``)."""
    way = ("free some space or choose another path" if err.errno in (errno.ENOSPC, errno.EDQUOT)
           else "choose a writable path")
    return UserError(f"{target} cannot be written ({_why(err)}); nothing was written; {way}")


def resolve_output(target: str | os.PathLike) -> Path:
    """The file or folder an output path names: a symlink is written through (its target is replaced)."""
    path = Path(target).expanduser()
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _final_mode(path: Path, folder: bool = False) -> None:
    """Temporary files and folders are private (0600/0700); give the output the umask's usual mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if folder else 0o666) & ~umask)


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched.
    A symlink at ``target`` is written through; the file gets the umask's mode. An ``OSError``
    (a full disk, a read-only folder) becomes a one-line :class:`UserError`.
    """
    target = resolve_output(target)
    if target.exists() and not target.is_file():
        raise UserError(f"{target} is not a regular file (a folder, device or pipe); nothing was written; "
                        "choose a file path")
    held: list[Path] = []
    with _whole_or_absent(target, held):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        held.append(Path(tmp))
        yield held[0]
        _final_mode(held[0])
        os.replace(held[0], target)


@contextmanager
def _whole_or_absent(target: Path, held: list[Path]) -> Iterator[None]:
    """On any error remove the temporary file or folder in ``held``; an ``OSError`` becomes one line."""
    try:
        yield
    except BaseException as err:
        for tmp in held:
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                with suppress(OSError):
                    tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise write_error(target, err) from None
        raise


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json_atomic(target: str | os.PathLike, obj: Any) -> Path:
    """Strict JSON (no NaN/Infinity): see :func:`dumps_strict`."""
    return write_text_atomic(target, dumps_strict(obj) + "\n")


def dumps_strict(obj: Any, indent: int | None = 2, default: Any = None) -> str:
    """``json.dumps`` that any JSON parser reads: a value that does not exist (NaN, inf) is ``null``
    with a sibling ``"<key>_reason"`` (kept when the producer wrote one, else the value's kind)."""
    return json.dumps(finite_json(obj), indent=indent, allow_nan=False, default=default or _json_default)


def finite_json(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` and its reason recorded beside it."""
    return _clean(obj)[0]


def _clean(obj: Any) -> tuple[Any, str | None, int]:
    """``(clean value, reason or None, how many values were nulled)``; a list's reason counts its
    nested nulls (e.g. the -inf cells of a heatmap's PVI matrix)."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None, "not a number (NaN)" if math.isnan(obj) else f"{'' if obj > 0 else '-'}infinite", 1
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            out[key], why, _ = _clean(value)
            reason_key = f"{key}{REASON_SUFFIX}"
            if why and reason_key not in obj:
                out[reason_key] = why
        return out, None, 0
    if isinstance(obj, (list, tuple)):
        parts = [_clean(v) for v in obj]
        nulled = sum(n for _, _, n in parts)
        why = f"{nulled} value(s) do not exist (NaN/inf) and are written as null" if nulled else None
        return [v for v, _, _ in parts], why, nulled
    return obj, None, 0


@contextmanager
def atomic_dir(target: str | os.PathLike, keep_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; swap it in place of ``target`` on success.

    ``keep_existing``: a folder already at ``target`` is complete by the caller's contract (a shard of
    states whose content the cache key fixes), so this writer's copy is dropped, not swapped in. Two
    writers finishing at once never fail: without ``keep_existing`` the last one's folder stays.
    """
    target = resolve_output(target)  # a symlinked folder is written through, the link kept
    held: list[Path] = []
    with _whole_or_absent(target, held):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        held.append(tmp)
        yield tmp
        _final_mode(tmp, folder=True)
        _swap_in(tmp, target, keep_existing)


def _swap_in(tmp: Path, target: Path, keep_existing: bool, tries: int = 20) -> None:
    """Rename folder ``tmp`` onto ``target``; a folder there is moved aside first (under a name of its own,
    so that two writers never share it) and removed once ``tmp`` is in place. Another writer may put its
    folder at ``target`` between the two renames (``ENOTEMPTY``): try again, or with ``keep_existing``
    let that one stand."""
    aside: list[Path] = []
    try:
        for _ in range(tries):
            try:
                os.replace(tmp, target)
                return
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            if keep_existing:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            aside.append(Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)))
            with suppress(FileNotFoundError):  # the other writer moved it aside already
                os.replace(target, aside[-1])  # a folder may replace an empty one
        raise OSError(errno.EBUSY, f"other writers kept replacing {target}")
    finally:
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)


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
