"""What every model-based ``mi`` command checks before a model loads (``predgen_core.preflight`` does the files).

Order: the output paths (can they be written?), the options that need no model, then
each model (its files, what it is, whether it fits the dataset: manifest only), then the
data of each split. A bad input is one ``UserError`` line within about a second, with
no progress bar and nothing written.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

from predgen_core.data import remembered_data_dir
from predgen_core.errors import UserError
from predgen_core.preflight import check_model_folder, check_output, check_positive, check_split

from mi_toolkit.states import checkpoints as ck


def check_inputs(models: Sequence[Any], dataset: Optional[str], splits: Sequence[str] = (), *,
                 data_dir: Optional[str] = None, max_samples: Optional[int] = None, seed: int = 0,
                 outputs: Optional[dict[str, Optional[Path]]] = None) -> Optional[str]:
    """Check a command's inputs before any weights load; returns the data folder the command reads.

    That folder is ``data_dir`` when given, else the one the first checkpoint was trained from (its
    manifest remembers it) when it still exists, else None: the one lookup of
    :func:`predgen_core.data.data_roots`. ``outputs``: ``{flag: path}`` of the files the command will
    write (None entries are skipped).
    """
    given = [*models, data_dir or os.environ.get("MI_TOOLKIT_DATA")]
    for flag, path in (outputs or {}).items():
        check_output(path, flag, inputs=given)  # writable, and not one of the inputs
    check_positive("--max-samples", max_samples)
    task, remembered = None, []
    for model in models:
        check_model_folder(model)  # the files of a folder, checkpoint or transformers model, without loading
        info = ck.describe(model)
        task = ck.task_for(info, dataset)
        remembered.append(remembered_data_dir(getattr(info, "manifest", None) or {}))
    data_dir = data_dir or next((r for r in remembered if r), None)
    for split in dict.fromkeys(splits):
        check_split(task, split, data_dir, max_samples, seed)
    return data_dir


def check_text(text: str, flag: str = "--text") -> None:
    if not text.strip():
        raise UserError(f"{flag} is empty; pass the text to read, e.g. {flag} \"a funny film\"")
