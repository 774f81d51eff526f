"""What every model-based ``mi`` command checks before a model loads (``predgen_core.preflight`` does the files).

Order: the output paths (can they be written?), the options that need no model, then
each model (its files, what it is, whether it fits the dataset: manifest only), then the
data of each split. A bad input is one ``UserError`` line within about a second, with
no progress bar and nothing written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from predgen_core.errors import UserError
from predgen_core.preflight import check_model_folder, check_output, check_positive, check_split

from mi_toolkit.states import checkpoints as ck


def check_inputs(models: Sequence[Any], dataset: Optional[str], splits: Sequence[str] = (), *,
                 data_dir: Optional[str] = None, max_samples: Optional[int] = None, seed: int = 0,
                 outputs: Optional[dict[str, Optional[Path]]] = None) -> Any:
    """Check a command's inputs before any weights load; returns the dataset's task (None without models).

    ``outputs``: ``{flag: path}`` of the files the command will write (None entries are skipped).
    """
    for flag, path in (outputs or {}).items():
        check_output(path, flag)
    check_positive("--max-samples", max_samples)
    task = None
    for model in models:
        check_model_folder(model)  # the files of a folder, checkpoint or transformers model, without loading
        task = ck.task_for(ck.describe(model), dataset)
    for split in dict.fromkeys(splits):
        check_split(task, split, data_dir, max_samples, seed)
    return task


def check_text(text: str, flag: str = "--text") -> None:
    if not text.strip():
        raise UserError(f"{flag} is empty; pass the text to read, e.g. {flag} \"a funny film\"")
