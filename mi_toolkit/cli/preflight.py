"""What every ``mi`` command checks before a model loads (``predgen_core.preflight`` does the files).

Order: the options that need nothing (names, values, ranges), the output paths (can they be
written?), then each model (a missing folder first, then its files, what it is, whether it fits
the dataset: manifest only), then the data of each split. A bad input is one ``UserError`` line
within about a second, with no progress bar and nothing written.

Import-light on purpose: this module and the option checks below import neither torch, nor
transformers, nor scikit-learn, so a bad option or a missing file is answered in the time Python
starts (the registry of estimators imports torch, so its names are listed here too; a test keeps
the lists equal: ``tests/mi_toolkit/cli/test_cli_light.py``).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from predgen_core.data import remembered_data_dir
from predgen_common.errors import UserError
from predgen_core.preflight import (check_folder_files, check_model_folder, check_model_ref, check_output,
                                    check_positive, check_split)
from predgen_core.tasks import TASKS, compatible_task

# copies of the library's names (mi_toolkit.estimators.ESTIMATORS, states.representations.KINDS,
# predgen_core.methods.heads.POOLINGS, states.pca.AXES), which import torch; the library checks again
ESTIMATOR_NAMES = ("classifier", "infonce", "smile", "mine", "nwj", "ksg", "binned", "gaussian", "probe")
REPRESENTATIONS = ("full", "token-pca", "pooled", "full+pooled")
POOLINGS = ("first", "mean", "last")
PCA_AXES = ("token", "feature")
DEVICES = ("auto", "cpu", "cuda")


def check_estimator(name: Optional[str]) -> Optional[str]:
    """The estimator to use (None = the default for the labels), or one line listing the valid names."""
    if name is None or name == "default":
        return None
    names = registered_estimators()
    if name not in names:
        raise UserError(f"unknown estimator {name!r}; choose one of: {', '.join(names)}")
    return name


def registered_estimators() -> tuple[str, ...]:
    """The estimator names: the registry's when it is imported already (it then holds any estimator a program
    registered before calling the CLI, docs/extending.md), else the light copy (importing it loads torch)."""
    registry = getattr(sys.modules.get("mi_toolkit.estimators"), "ESTIMATORS", None)
    return tuple(registry.list()) if registry is not None else ESTIMATOR_NAMES


def check_choice(what: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise UserError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_device(device: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether CUDA is there is asked later, of torch)."""
    base, _, index = device.partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise UserError(f"unknown device {device!r}; choose one of: auto, cpu, cuda (or cuda:N)")
    return device


def check_representation(representation: str, pooling: str, pca_axis: str) -> None:
    check_choice("representation", representation, REPRESENTATIONS)
    check_choice("pooling", pooling, POOLINGS)
    check_choice("PCA axis", pca_axis, PCA_AXES)


def check_ks(text: str) -> None:
    """``--k``: comma-separated positive integers (the same words as ``measures.sweep.parse_ks``)."""
    try:
        ks = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise UserError(f"--k must be comma-separated integers such as 1,2,4,8, not {text!r}") from None
    if not ks or min(ks) < 1:
        raise UserError(f"--k needs positive integers such as 1,2,4,8, not {text!r}")


_LAYERS = re.compile(r"\s*-?\d+\s*(,\s*-?\d+\s*)*,?\s*")


def check_layers_syntax(spec: str) -> None:
    """``--layers``: 'all' or comma-separated integers (their range needs the model: checked after loading)."""
    if spec.strip().lower() == "all" or _LAYERS.fullmatch(spec):
        return
    if not spec.replace(",", "").strip():
        raise UserError("--layers is empty; pass 'all' or indices such as 0,4,8")
    raise UserError(f"--layers {spec!r} is not 'all' or a comma-separated list of integers such as 0,4,8")


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
    manifests = [_light_model_check(model) for model in models]
    data_dir = data_dir or next((r for r in map(remembered_data_dir, manifests) if r), None)
    light_task = _light_task(dataset)
    for model, manifest in zip(models, manifests):  # a checkpoint of another kind of task: from its manifest
        trained = _light_task(manifest.get("task"))
        if trained is not None:
            light_task = compatible_task(trained, dataset, Path(str(model)))
    for split in dict.fromkeys(splits if light_task is not None else ()):
        check_split(light_task, split, data_dir, max_samples, seed)  # the data, before torch
    # Heavy and deliberate: what a model is (checkpoint, folder, name, hub id) is decided by the
    # states package, which imports torch; everything cheap was checked above.
    from mi_toolkit.states import checkpoints as ck

    task = None
    for model in models:
        check_model_folder(model)  # the manifest's keys and the weight files its layout needs
        task = ck.task_for(ck.describe(model), dataset)
    if light_task is None or task is None or task.name != light_task.name:
        for split in dict.fromkeys(splits):
            check_split(task, split, data_dir, max_samples, seed)
    return data_dir


def _light_model_check(model: Any) -> dict[str, Any]:
    """A missing folder, JSON that does not parse, weights cut short: one line before torch loads.
    Returns the manifest's JSON of a checkpoint folder (else ``{}``)."""
    check_model_ref(model)
    if not Path(str(model)).is_dir():
        return {}  # a registered name or a hub id
    return check_folder_files(model) or {}


def _light_task(name: Optional[str]) -> Any:
    """The task of that name, or None when there is none (the heavy checks name the problem)."""
    return TASKS.get(name) if isinstance(name, str) and name in TASKS.list() else None


def check_text(text: str, flag: str = "--text") -> None:
    if not text.strip():
        raise UserError(f"{flag} is empty; pass the text to read, e.g. {flag} \"a funny film\"")
