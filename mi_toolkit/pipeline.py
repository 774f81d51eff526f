"""The README's main job: train the three methods on a small budget, then measure.

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
from typing import Any, Optional

import typer

from predgen_core.errors import UserError, user_errors
from predgen_core.io import write_json_atomic

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


def choose_dataset(data_dir: str | None) -> tuple[str, str | None, str]:
    """``(dataset, data_dir, why)``: sst2 from a local copy or the hub, else polarity."""
    from predgen_core.tasks import TASKS

    candidates = [data_dir, os.environ.get("MI_TOOLKIT_DATA"), str(REPO.parent / "shared" / "data")]
    for root in candidates:
        if root and (Path(root) / "sst2").is_dir():
            return "sst2", root, f"SST-2 from the local copy in {root}"
    try:
        TASKS.get("sst2").load("validation", max_samples=8)
        return "sst2", None, "SST-2 from the Hugging Face hub"
    except UserError as err:
        return "polarity", None, f"SST-2 not reachable ({str(err)[:120]}); using the offline polarity corpus"


def _train_all(cfg: PipelineConfig, dataset: str, data_dir: str | None, out: Path, log: dict) -> dict[str, Path]:
    from predgen_core.api import TrainConfig, train

    paths = {}
    for method in METHODS:
        target = out / "models" / method
        start = time.perf_counter()
        if not (target / "manifest.json").is_file():
            train(TrainConfig(method=method, dataset=dataset, model=cfg.model, output_dir=str(target),
                              data_dir=data_dir, max_train_samples=cfg.train_samples, max_steps=cfg.max_steps,
                              batch_size=cfg.batch_size, seed=cfg.seed, eval_max_samples=cfg.eval_samples))
        log["seconds"][f"train_{method}"] = round(time.perf_counter() - start, 1)
        paths[method] = target
    return paths


def run_pipeline(cfg: PipelineConfig) -> dict[str, Any]:
    """Run every step; returns (and writes to ``out_dir/summary.json``) what was measured."""
    from mi_toolkit.dpi import dpi_html, dpi_report
    from mi_toolkit.heatmap import heatmap, write_heatmap
    from mi_toolkit.report import write_page
    from mi_toolkit.sweep import pca_sweep, write_sweep

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dataset, data_dir, why = (cfg.dataset, cfg.data_dir, f"{cfg.dataset} as asked") if cfg.dataset \
        else choose_dataset(cfg.data_dir)
    typer.echo(f"data: {why}")
    log: dict[str, Any] = {"config": asdict(cfg), "dataset": dataset, "data_source": why, "seconds": {}}
    paths = _train_all(cfg, dataset, data_dir, out, log)
    common = dict(data_dir=data_dir, max_samples=cfg.mi_samples, seed=cfg.seed)
    start = time.perf_counter()
    rep = dpi_report([paths[m] for m in METHODS], dataset, pca_k=cfg.pca_k, **common)
    write_page(out / "dpi.html", dpi_html(rep, f"DPI report: {dataset}"))
    write_json_atomic(out / "dpi.json", rep.to_dict())
    log["seconds"]["dpi"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    sweep = pca_sweep(paths["predgen"], dataset, cfg.sweep_ks, **common)
    write_sweep(sweep, out / "sweep.html")
    write_json_atomic(out / "sweep.json", sweep.to_dict())
    log["seconds"]["sweep"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    hm = heatmap(paths["predgen"], cfg.heatmap_text, dataset, **common)
    write_heatmap(hm, out / "heatmap.html")
    write_json_atomic(out / "heatmap.json", hm.to_dict())
    log["seconds"]["heatmap"] = round(time.perf_counter() - start, 1)
    log["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    log["dpi"] = {"across_methods": rep.to_dict()["across_methods"], "flags": rep.flags, "verdicts": rep.verdicts}
    log["sweep"] = {"ks": sweep.ks, "mi": [r.mi for r in sweep.results], "flags": sweep.flags}
    log["outputs"] = [str(out / n) for n in ("dpi.html", "sweep.html", "heatmap.html", "summary.json")]
    write_json_atomic(out / "summary.json", log)
    return log


@user_errors
def pipeline_cmd(
    quick: bool = typer.Option(False, "--quick", help="the small budget (<= 30 min on 2 CPU cores)"),
    out_dir: Path = typer.Option(Path("runs/pipeline"), "--out-dir"),
    model: str = typer.Option("smollm2-135m", "--model", help="base model (tiny-llama for a smoke test)"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="default: sst2 if reachable, else polarity"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="folder of <task>/ data folders (or $MI_TOOLKIT_DATA)"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="override the training steps per method"),
    mi_samples: Optional[int] = typer.Option(None, "--max-samples", help="override the examples per split for MI"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train predictor, generator and predgen, then write the DPI report, a PCA sweep and a heatmap."""
    overrides = {k: v for k, v in dict(max_steps=max_steps, mi_samples=mi_samples).items() if v is not None}
    make = PipelineConfig.quick if quick else PipelineConfig.full
    cfg = make(out_dir=str(out_dir), model=model, dataset=dataset, data_dir=data_dir, seed=seed, **overrides)
    log = run_pipeline(cfg)
    for row in log["dpi"]["across_methods"]:
        typer.echo(f"{row['model']:<10} {row['representation']:<13} I = {row['mi']:.3f} "
                   f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] nats")
    typer.echo(f"total {log['seconds']['total']:.0f} s; wrote " + ", ".join(log["outputs"]))
