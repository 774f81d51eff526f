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

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from predgen_core.api import TrainConfig, train
from predgen_core.data import DATA_ENV
from predgen_core.errors import UserError
from predgen_core.io import write_results_json
from predgen_core.tasks import TASKS

from mi_toolkit.measures.dpi import dpi_report
from mi_toolkit.measures.heatmap import heatmap
from mi_toolkit.measures.sweep import pca_sweep
from mi_toolkit.reports.dpi import write_dpi
from mi_toolkit.reports.heatmap import write_heatmap
from mi_toolkit.reports.sweep import write_sweep

METHODS = ("predictor", "generator", "predgen")
REPO = Path(__file__).resolve().parents[1]


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
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls, **kw: Any) -> "PipelineConfig":
        return cls(**kw)

    @classmethod
    def full(cls, **kw: Any) -> "PipelineConfig":
        base = dict(train_samples=4000, max_steps=400, mi_samples=3000, eval_samples=None, sweep_ks=(1, 2, 4, 8, 12, 16))
        return cls(**{**base, **kw})


def _data_candidates(data_dir: str | None) -> list[str]:
    shared = REPO.parent / "shared" / "data"
    return [r for r in (data_dir, os.environ.get(DATA_ENV), str(shared) if shared.is_dir() else None) if r]


def local_data_dir(data_dir: str | None = None) -> str | None:
    """``data_dir``, else ``$MI_TOOLKIT_DATA``, else ``../shared/data`` beside the repository when it exists."""
    return next(iter(_data_candidates(data_dir)), None)


def choose_dataset(data_dir: str | None) -> tuple[str, str | None, str]:
    """``(dataset, data_dir, why)``: sst2 from a local copy or the hub, else polarity."""
    for root in _data_candidates(data_dir):
        if (Path(root) / "sst2").is_dir():
            return "sst2", root, f"SST-2 from the local copy in {root}"
    try:
        TASKS.get("sst2").load("validation", max_samples=8)
        return "sst2", None, "SST-2 from the Hugging Face hub"
    except UserError as err:
        return "polarity", None, f"SST-2 not reachable ({str(err)[:120]}); using the offline polarity corpus"


def train_checkpoint(config: TrainConfig) -> Path:
    """Train ``config``, or reuse the finished checkpoint already in ``config.output_dir``."""
    target = Path(config.output_dir)
    if (target / "manifest.json").is_file():
        return target
    return train(config)


def _train_all(cfg: PipelineConfig, dataset: str, data_dir: str | None, out: Path, log: dict) -> dict[str, Path]:
    paths = {}
    for method in METHODS:
        start = time.perf_counter()
        paths[method] = train_checkpoint(TrainConfig(
            method=method, dataset=dataset, model=cfg.model, output_dir=str(out / "models" / method),
            data_dir=data_dir, max_train_samples=cfg.train_samples, max_steps=cfg.max_steps,
            batch_size=cfg.batch_size, seed=cfg.seed, eval_max_samples=cfg.eval_samples))
        log["seconds"][f"train_{method}"] = round(time.perf_counter() - start, 1)
    return paths


def _timed(log: dict, name: str, step: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = step()
    log["seconds"][name] = round(time.perf_counter() - start, 1)
    return out


def run_pipeline(cfg: PipelineConfig, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every step; returns (and writes to ``out_dir/summary.json``) what was measured."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dataset, data_dir, why = (cfg.dataset, cfg.data_dir, f"{cfg.dataset} as asked") if cfg.dataset \
        else choose_dataset(cfg.data_dir)
    say(f"data: {why}")
    log: dict[str, Any] = {"config": asdict(cfg), "dataset": dataset, "data_source": why, "seconds": {}}
    paths = _train_all(cfg, dataset, data_dir, out, log)
    common = dict(data_dir=data_dir, max_samples=cfg.mi_samples, seed=cfg.seed)
    rep = _timed(log, "dpi", lambda: dpi_report([paths[m] for m in METHODS], dataset, pca_k=cfg.pca_k, **common))
    write_dpi(rep, out / "dpi.html", f"DPI report: {dataset}")
    write_results_json(out / "dpi.json", rep.to_dict())
    sweep = _timed(log, "sweep", lambda: pca_sweep(paths["predgen"], dataset, cfg.sweep_ks, **common))
    write_sweep(sweep, out / "sweep.html")
    write_results_json(out / "sweep.json", sweep.to_dict())
    hm = _timed(log, "heatmap", lambda: heatmap(paths["predgen"], cfg.heatmap_text, dataset, **common))
    write_heatmap(hm, out / "heatmap.html")
    write_results_json(out / "heatmap.json", hm.to_dict())
    log["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    log["dpi"] = {"across_methods": rep.to_dict()["across_methods"], "flags": rep.flags, "verdicts": rep.verdicts}
    log["sweep"] = {"ks": sweep.ks, "mi": [r.mi for r in sweep.results], "flags": sweep.flags}
    log["outputs"] = [str(out / n) for n in ("dpi.html", "sweep.html", "heatmap.html", "summary.json")]
    write_results_json(out / "summary.json", log)
    return log
