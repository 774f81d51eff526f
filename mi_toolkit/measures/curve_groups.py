"""Curves of groups of checkpoints (one group per method: a folder of seeds, a quoted glob, or one checkpoint).

Every checkpoint of every group is read on **one** pool, drawn disjoint from all of their training
examples (:func:`~mi_toolkit.measures.pools.fit_pool` over all of them), with one measurement seed, so
every curve has the same folds and fit-set orders and the seeds are crossed with the examples
(:mod:`mi_toolkit.measures.curve_seeds`). Everything that can be wrong with the groups is said in one
line before any weights load: a folder with no finished checkpoint, checkpoints of different tasks, base
models or training pools, a group mixing methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Sequence

from mi_toolkit.measures import controls as ctl
from mi_toolkit.measures.curve import CurveConfig
from mi_toolkit.measures.curve_model import FULL, R, curve_pool, measure_model
from mi_toolkit.measures.curve_seeds import SeedCurves, seed_curves
from mi_toolkit.measures.dpi import check_groups
from mi_toolkit.measures.pools import check_same_setting, run_provenance
from mi_toolkit.measures.seeds import (check_group_folders, check_same_training_pool, expand_groups,
                                       unfinished_seeds)
from mi_toolkit.states import checkpoints as ck


@dataclass
class Member:
    """One checkpoint of a group: its path, group, name in the report and description (no weights)."""

    path: str
    group: str
    name: str
    info: Any

    @property
    def method(self) -> str:
        return ck.method_name(self.info)


def is_single(refs: Sequence[Any]) -> bool:
    """One reference that is one checkpoint (not a folder of seeds nor a glob): the one-model curve."""
    return len(refs) == 1 and expand_groups(refs)[0][1] is None


def curve_members(refs: Sequence[Any], dataset: str) -> tuple[list[Member], dict[str, list[str]]]:
    """``(members, unfinished)``: each reference expanded into its group's checkpoints, checked before any
    weights load; ``unfinished``: ``{group: [seed folders without a finished checkpoint]}``."""
    check_group_folders(refs)
    members: list[Member] = []
    unfinished: dict[str, list[str]] = {}
    labels: set[str] = set()
    for ref in refs:
        expanded = expand_groups([ref])
        infos = [ck.describe(p) for p, _ in expanded]
        group = expanded[0][1]
        label = group if group is not None else ck.method_name(infos[0])
        if label in labels:  # two folders of one name, or two single checkpoints of one method
            label = f"{Path(str(ref)).parent.name}/{Path(str(ref)).name}" if group else Path(expanded[0][0]).name
        labels.add(label)
        if group is not None and Path(str(ref)).is_dir():
            unfinished[label] = unfinished_seeds(ref)
        for (path, _), info in zip(expanded, infos):
            name = f"{label}/{Path(path).name}" if group is not None else label
            members.append(Member(path, label, name, info))
    infos = [m.info for m in members]
    check_same_setting(infos, dataset)
    check_groups(infos, [m.group for m in members])
    check_same_training_pool(infos, [m.name for m in members])
    return members, {g: v for g, v in unfinished.items() if v}


def model_curves(refs: Sequence[Any], dataset: str, *, representations: Sequence[str] = ("pooled:last", FULL, R),
                 split: str = "train", max_samples: int | None = None, layer: int = -1, pca_k: int = 2,
                 data_dir: str | None = None, config: CurveConfig | None = None, seed: int = 0,
                 device: str = "auto", controls: bool | Collection[str] = False, given: str | None = None,
                 progress: bool = True, like_split: str | None = None,
                 like_samples: int | None = None) -> tuple[SeedCurves, list[Any]]:
    """The curves of every checkpoint of every group on one pool, and their means over seeds.

    ``refs``: checkpoints, folders of one method's seeds, or quoted globs (each one group); ``controls``:
    True for every group, or the methods whose groups get them, read on each such group's first seed
    (the controls ask whether the probe reads anything where there is nothing to read, not how methods
    differ). Other arguments as :func:`~mi_toolkit.measures.curve_model.model_curve`. Returns
    ``(SeedCurves, examples)``.
    """
    members, unfinished = curve_members(refs, dataset)
    task = ck.task_for(members[0].info, dataset)
    firsts = {m.group: m.name for m in reversed(members)}
    checked = [m for m in members if firsts[m.group] == m.name
               and (controls is True or (not isinstance(controls, bool) and m.method in controls))]
    for m in checked:
        ctl.architecture_config(m.path)  # one line now, before the work, if there is no config to read
    examples, pool, _, warnings = curve_pool([m.path for m in members], task, split, max_samples, seed, data_dir,
                                             like_split, like_samples)
    runs = {m.name: {"checkpoint": ck.identity(m.info)[0], **run_provenance(m.info)} for m in members}
    common = {"dataset": dataset, "split": split, "layer": layer, "pca_k": pca_k, "pool": pool,
              "warnings": warnings}
    with_controls, curves = {m.name for m in checked}, {}
    for m in members:
        own = {"model": runs[m.name]["checkpoint"], "group": m.group, **common, "lm_train": {m.name: runs[m.name]}}
        curves[m.name] = measure_model(m.path, dataset, examples, representations=representations, split=split,
                                       layer=layer, pca_k=pca_k, data_dir=data_dir, config=config, seed=seed,
                                       device=device, controls=m.name in with_controls, given=given,
                                       progress=progress, meta=own)
    groups: dict[str, list[str]] = {}
    for m in members:
        groups.setdefault(m.group, []).append(m.name)
    meta = {**common, "seed": seed, "lm_train": runs, "controls_on": [m.name for m in checked]}
    return seed_curves(curves, groups, unfinished, meta), examples
