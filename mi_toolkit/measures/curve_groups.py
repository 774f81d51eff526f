"""Curves of groups of checkpoints (one group per method: a folder of seeds, a quoted glob, or one checkpoint).

Every checkpoint of every group is read on **one** pool, drawn disjoint from all of their training
examples (:meth:`~mi_toolkit.measures.setting.Setting.draw_pool` of the members' setting), with one
measurement seed, so every curve has the same folds and fit-set orders and the seeds are crossed with the
examples (:mod:`mi_toolkit.measures.curve_seeds`). Everything that can be wrong with the groups is said in one
line before any weights load: a folder with no finished checkpoint, checkpoints of different tasks, base
models or training pools, a group mixing methods.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from predgen_common.errors import UserError

from mi_toolkit.measures import controls as ctl
from mi_toolkit.measures.curve_model import CurveOptions, measure_model
from mi_toolkit.measures.curve_seeds import SeedCurves, seed_curves
from mi_toolkit.measures.pools import run_provenance
from mi_toolkit.measures.seeds import (check_group_folders, check_same_training_pool, expand_groups,
                                       unfinished_seeds)
from mi_toolkit.measures.setting import Setting
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


def curve_members(setting: Setting) -> tuple[list[Member], dict[str, list[str]], Setting]:
    """``setting``'s references (checkpoints, folders of one method's seeds, quoted globs) expanded into their
    groups' checkpoints: ``(members, unfinished, the setting of the members)``, checked before any weights load
    (:meth:`Setting.check`: one task and base model, no group mixing methods; and one training pool).
    ``unfinished``: ``{group: [seed folders without a finished checkpoint]}``. The groups are named here (two
    folders of one name by their parents too), so ``setting`` names none (not ``Setting.from_references``)."""
    if any(setting.groups):
        raise UserError("a curve over seeds expands its folders of seeds and globs itself: give them as the "
                        "Setting's models, without seed groups (Setting(refs, ...), not Setting.from_references)")
    check_group_folders(setting.models)
    named: list[tuple[str, str, str]] = []   # (path, group, name) of each checkpoint
    unfinished: dict[str, list[str]] = {}
    labels: set[str] = set()
    for ref in setting.models:
        expanded = expand_groups([ref])
        group = expanded[0][1]
        label = group if group is not None else ck.method_name(ck.describe(expanded[0][0]))
        if label in labels:  # two folders of one name, or two single checkpoints of one method
            label = f"{Path(str(ref)).parent.name}/{Path(str(ref)).name}" if group else Path(expanded[0][0]).name
        labels.add(label)
        if group is not None and Path(str(ref)).is_dir():
            unfinished[label] = unfinished_seeds(ref)
        named += [(path, label, f"{label}/{Path(path).name}" if group is not None else label) for path, _ in expanded]
    at = replace(setting, models=[p for p, _, _ in named], groups=[g for _, g, _ in named]).check()
    members = [Member(*row, info) for row, info in zip(named, at.infos_)]
    check_same_training_pool(at.infos_, [m.name for m in members])
    return members, {g: v for g, v in unfinished.items() if v}, at


def model_curves(setting: Setting, options: CurveOptions = CurveOptions()) -> tuple[SeedCurves, list[Any]]:
    """The curves of every checkpoint of every group on one pool, and their means over seeds.

    ``setting.models``: checkpoints, folders of one method's seeds, or quoted globs (each one group), read as
    their checkpoints (:func:`curve_members`) on the one pool of :meth:`Setting.draw_pool`; ``options``: as
    :func:`~mi_toolkit.measures.curve_model.model_curve`'s, where ``controls`` is True for every group or the
    methods whose groups get them, read on each such group's first seed (the controls ask whether the probe
    reads anything where there is nothing to read, not how methods differ). Returns ``(SeedCurves, examples)``.
    """
    members, unfinished, at = curve_members(setting)
    firsts = {m.group: m.name for m in reversed(members)}
    checked = [m for m in members if firsts[m.group] == m.name and options.controls_for(m.method)]
    for m in checked:
        ctl.architecture_config(m.path)  # one line now, before the work, if there is no config to read
    examples, pool, _, warnings = at.draw_pool()
    runs = {m.name: {"checkpoint": ck.identity(m.info)[0], **run_provenance(m.info)} for m in members}
    common = {"dataset": at.dataset, "split": at.fit_split, "layer": at.layer, "pca_k": options.pca_k, "pool": pool,
              "warnings": warnings}
    with_controls, curves = {m.name for m in checked}, {}
    for m in members:
        own = {"model": runs[m.name]["checkpoint"], "group": m.group, **common, "lm_train": {m.name: runs[m.name]}}
        curves[m.name] = measure_model(at, m.path, examples, replace(options, controls=m.name in with_controls), own)
    groups: dict[str, list[str]] = {}
    for m in members:
        groups.setdefault(m.group, []).append(m.name)
    meta = {**common, "seed": at.seed, "lm_train": runs, "controls_on": [m.name for m in checked],
            "setting": at.to_dict()}
    return seed_curves(curves, groups, unfinished, meta), examples
