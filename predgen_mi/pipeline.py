"""The README's main job: train the three methods on a small budget, then measure.

This is the only place that trains (``predgen_core``) and then measures
(``mi_toolkit``); the figure scripts in ``analyses/`` train through
:func:`train_checkpoint` and find data through :func:`local_data_dir` too.

``mi pipeline [--quick]`` (or :func:`run_pipeline`) on a fresh machine:

1. picks the data: SST-2 where a local copy (``--data-dir``, ``$MI_TOOLKIT_DATA`` or
   ``../shared/data`` beside the repository) or the hub is reachable, else the
   offline ``polarity`` corpus, and says which;
2. trains ``predictor``, ``generator`` and ``predgen`` (predgen_core, LoRA) on the
   same small budget (a finished checkpoint is reused);
3. writes the DPI report, a PCA sweep and a token-label heatmap as self-contained
   HTML, plus ``summary.json`` with every number, the budget and the timings.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from predgen_core.api import TrainConfig, train
from predgen_core.data import data_roots
from predgen_common.errors import UserError
from predgen_common.io import portable_path, write_results_json
from predgen_core.tasks import TASKS

from mi_toolkit.measures.dpi import dpi_for
from mi_toolkit.measures.heatmap import heatmap
from mi_toolkit.measures.setting import Setting
from mi_toolkit.measures.sweep import pca_sweep_for
from mi_toolkit.reports.dpi import write_dpi
from mi_toolkit.reports.heatmap import write_heatmap
from mi_toolkit.reports.sweep import write_sweep

METHODS = ("predictor", "generator", "predgen")


@dataclass
class PipelineConfig:
    """Budget and outputs. ``quick`` sizes suit <= 30 minutes on 2 CPU cores with SmolLM2-135M."""

    out_dir: str = "runs/pipeline"
    model: str = "smollm2-135m"
    dataset: Optional[str] = None        # None: sst2 if reachable, else polarity
    data_dir: Optional[str] = None
    train_samples: int = 512
    max_steps: int = 48
    batch_size: int = 8
    mi_samples: int = 600                # examples per split for the MI estimates
    eval_samples: Optional[int] = 300    # validation examples for the accuracy printed after training
    pca_k: int = 2
    sweep_ks: tuple[int, ...] = (1, 2, 4, 8)
    heatmap_text: str = "a funny and pretty moving film"
    seed: int = 0
    seeds: int = 1                       # training runs per method (seeds seed .. seed + seeds - 1)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls, **kw: Any) -> "PipelineConfig":
        return cls(**kw)

    @classmethod
    def full(cls, **kw: Any) -> "PipelineConfig":
        base = dict(train_samples=4000, max_steps=400, mi_samples=3000, eval_samples=None, sweep_ks=(1, 2, 4, 8, 12, 16))
        return cls(**{**base, **kw})


def local_data_dir(data_dir: str | None = None) -> str | None:
    """The first local data root of :func:`predgen_core.data.data_roots` (``data_dir``, else
    ``$MI_TOOLKIT_DATA``, else ``../shared/data`` beside the repository), or None."""
    return next((str(root) for root in data_roots(data_dir)), None)


def choose_dataset(data_dir: str | None) -> tuple[str, str | None, str]:
    """``(dataset, data_dir, why)``: sst2 from a local copy or the hub, else polarity."""
    for root in data_roots(data_dir):
        if (root / "sst2").is_dir():
            return "sst2", str(root), f"SST-2 from the local copy in {portable_path(root)}"
    try:
        TASKS.get("sst2").fallback_records("validation", [])  # the hub alone: the local roots had no sst2/
        return "sst2", None, "SST-2 from the Hugging Face hub"
    except UserError as err:
        return "polarity", None, f"SST-2 not reachable ({str(err)[:120]}); using the offline polarity corpus"


def train_checkpoint(config: TrainConfig) -> Path:
    """Train ``config``, or reuse the finished checkpoint already in ``config.output_dir``."""
    target = Path(config.output_dir)
    if (target / "manifest.json").is_file():
        return target
    return train(config)


def _timed(log: dict, name: str, step: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = step()
    log["seconds"][name] = round(time.perf_counter() - start, 1)
    return out


STAGES = (*(f"training {m}" for m in METHODS), "DPI report", "PCA sweep", "token-label heatmap")


class Stages:
    """One line as each stage starts (``[k/6] training generator: ...``) and one as it ends, with its time;
    the stage's own progress bar (training steps, state extraction) runs between them."""

    def __init__(self, log: dict, say: Callable[[str], None]) -> None:
        self.log, self.say, self.k = log, say, 0

    def run(self, key: str, detail: str, step: Callable[[], Any]) -> Any:
        self.k += 1
        self.say(f"[{self.k}/{len(STAGES)}] {STAGES[self.k - 1]}: {detail}")
        out = _timed(self.log, key, step)
        self.say(f"[{self.k}/{len(STAGES)}] {STAGES[self.k - 1]} done in {self.log['seconds'][key]:.0f} s")
        return out


def accuracy_line(method: str, path: Path) -> tuple[str, dict[str, Any]]:
    """``(line, metrics)``: the checkpoint's validation score as its manifest recorded it after training."""
    metrics = json.loads((Path(path) / "manifest.json").read_text()).get("metrics", {})
    split = next((k for k, v in metrics.items() if isinstance(v, dict)), None)
    if split is None:
        return f"{method}: no validation score (trained with --eval-split none)", {}
    scores = {k: v for k, v in metrics[split].items() if isinstance(v, (int, float))}
    shown = ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k not in COUNTS)
    return (f"{method}: {split} {shown} on {scores.get('n', '?')} examples "
            f"({scores.get('n_unparsed', 0)} unparsed, counted wrong)"), scores


COUNTS = ("n", "n_unparsed", "parse_failures")


def _train_all(cfg: PipelineConfig, dataset: str, data_dir: str | None, out: Path,
               stages: Stages) -> dict[str, list[Path]]:
    """Each method's checkpoints: one at ``models/<method>``, or with ``cfg.seeds`` = K > 1, K seeds at
    ``models/<method>/seed-<s>`` (a seed group: data order, adapter and head initialisation follow the seed)."""
    paths: dict[str, list[Path]] = {}
    budget = f"LoRA on {cfg.train_samples} {dataset} examples, {cfg.max_steps} steps of {cfg.batch_size}"
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    for method in METHODS:
        folder = out / "models" / method
        outs = [folder] if cfg.seeds == 1 else [folder / f"seed-{s}" for s in seeds]
        configs = [TrainConfig(method=method, dataset=dataset, model=cfg.model, output_dir=str(o), data_dir=data_dir,
                               max_train_samples=cfg.train_samples, max_steps=cfg.max_steps,
                               batch_size=cfg.batch_size, seed=s, eval_max_samples=cfg.eval_samples,
                               subset_seed=cfg.seed if cfg.seeds > 1 else None)
                   for o, s in zip(outs, seeds)]
        reused = sum((o / "manifest.json").is_file() for o in outs)
        runs = f"{budget} ({cfg.model})" + (f", seeds {seeds[0]}-{seeds[-1]}" if cfg.seeds > 1 else "") + (
            f", reusing {reused} finished checkpoint(s)" if reused else "")
        paths[method] = stages.run(f"train_{method}", runs, lambda cs=configs: [train_checkpoint(c) for c in cs])
        for path in paths[method]:
            label = method if cfg.seeds == 1 else f"{method}/{path.name}"
            line, stages.log.setdefault("accuracy", {})[label] = accuracy_line(label, path)
            stages.say(line)
    stages.log["checkpoints"] = {m: [str(p) for p in ps] for m, ps in paths.items()}
    return paths


def run_pipeline(cfg: PipelineConfig, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every step; returns (and writes to ``out_dir/summary.json``) what was measured."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dataset, data_dir, why = (cfg.dataset, cfg.data_dir, f"{cfg.dataset} as asked") if cfg.dataset \
        else choose_dataset(cfg.data_dir)
    say(f"data: {why}")
    log: dict[str, Any] = {"config": asdict(cfg), "dataset": dataset, "data_source": why, "seconds": {}}
    stages = Stages(log, say)
    paths = _train_all(cfg, dataset, data_dir, out, stages)
    common = dict(data_dir=data_dir, max_samples=cfg.mi_samples, seed=cfg.seed)
    pools = f"{cfg.mi_samples} fit + {cfg.mi_samples} evaluation examples"
    groups = [paths[m][0] if cfg.seeds == 1 else paths[m][0].parent for m in METHODS]  # a folder of seeds
    rep = stages.run("dpi", f"{3 * cfg.seeds} checkpoints, {pools}",
                     lambda: dpi_for(Setting.from_references(groups, dataset, **common), pca_k=cfg.pca_k))
    write_dpi(rep, out / "dpi.html", f"DPI report: {dataset}")
    write_results_json(out / "dpi.json", rep.to_dict())
    sweep = stages.run("sweep", f"predgen, k = {', '.join(map(str, cfg.sweep_ks))}, {pools}",
                       lambda: pca_sweep_for(Setting.from_options([paths["predgen"][0]], dataset, **common),
                                             cfg.sweep_ks))
    write_sweep(sweep, out / "sweep.html")
    write_results_json(out / "sweep.json", sweep.to_dict())
    # the heatmap's probes: one pool of train sentences (--max-samples), and no evaluation pool
    probes = Setting.from_options([paths["predgen"][0]], dataset, split=None, **common)
    hm = stages.run("heatmap", f"predgen, {cfg.heatmap_text!r}", lambda: heatmap(probes, cfg.heatmap_text))
    write_heatmap(hm, out / "heatmap.html")
    write_results_json(out / "heatmap.json", hm.to_dict())
    log["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    log["dpi"] = {"across_methods": rep.to_dict()["across_methods"], "flags": rep.flags, "verdicts": rep.verdicts,
                  "over_seeds": rep.to_dict()["over_seeds"]}
    log["sweep"] = {"ks": sweep.ks, "mi": [r.mi for r in sweep.results], "flags": sweep.flags, "dips": sweep.dips}
    log["outputs"] = [str(out / n) for n in ("dpi.html", "sweep.html", "heatmap.html", "summary.json")]
    write_results_json(out / "summary.json", log)
    return log
