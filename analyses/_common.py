"""Shared plumbing for the figure scripts: arguments, budgets, reusable checkpoints, results.

Every script runs on the public API only (``predgen_mi`` to train, ``mi_toolkit`` to measure), has a
``--quick`` mode (<= 15 min on a 2-core CPU with SmolLM2-135M) and a full mode, and
writes JSON (and HTML) under ``analyses/results/`` together with the exact command.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO))

from predgen_core.api import TrainConfig  # noqa: E402  (after the path line above)
from predgen_common.io import write_results_json  # noqa: E402
from mi_toolkit.reports.html import write_page  # noqa: E402
from predgen_mi.pipeline import local_data_dir, train_checkpoint  # noqa: E402


@dataclass
class Budget:
    """Training and measuring sizes for one mode."""

    train_samples: int
    max_steps: int
    batch_size: int
    mi_samples: int
    eval_samples: int | None


QUICK = Budget(train_samples=256, max_steps=16, batch_size=8, mi_samples=300, eval_samples=200)
FULL = Budget(train_samples=4000, max_steps=400, batch_size=8, mi_samples=2000, eval_samples=None)


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="small budget (<= 15 min on 2 CPU cores)")
    ap.add_argument("--model", default="smollm2-135m", help="base model (tiny-llama for a smoke test)")
    ap.add_argument("--data-dir", default=None, help="folder of <task>/ folders (default: $MI_TOOLKIT_DATA, "
                                                      "then ../shared/data beside the repo)")
    ap.add_argument("--runs", type=Path, default=REPO / "runs" / "analyses", help="where checkpoints go")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models-from", type=Path, default=None,
                    help="reuse finished checkpoints DIR/<method>/ (e.g. runs/pipeline/models) instead of training; "
                         "used only where their task matches")
    ap.add_argument("--suffix", default="", help="appended to the result file names (e.g. -n2000)")
    return ap


def data_dir(arg: str | None) -> str | None:
    """``--data-dir``, else ``$MI_TOOLKIT_DATA``, else ``../shared/data`` when it exists."""
    return local_data_dir(arg)


def budget(args: argparse.Namespace) -> Budget:
    return QUICK if args.quick else FULL


def checkpoint(args: argparse.Namespace, method: str, dataset: str, tag: str = "", evaluate: bool = True,
               **train_kw: Any) -> Path:
    """Train ``method`` on ``dataset`` with the mode's budget, or reuse a finished run with the same name
    (from ``--models-from``: ``<dir>/<method>``, a checkpoint or a folder of its seeds).

    ``evaluate=False`` skips the validation pass after training (the MI figures never read it)."""
    reuse = getattr(args, "models_from", None)
    if reuse is not None and not tag:
        import json

        manifests = sorted((reuse / method).glob("*/manifest.json")) or [reuse / method / "manifest.json"]
        if manifests[0].is_file() and json.loads(manifests[0].read_text()).get("task") == dataset:
            # one checkpoint, or a folder of the method's seeds (mi pipeline --seeds K): a seed group
            return reuse / method
    b = budget(args)
    mode = "quick" if args.quick else "full"
    out = args.runs / f"{dataset}-{args.model}-{mode}-{method}{tag}"
    cfg = TrainConfig(method=method, dataset=dataset, model=args.model, output_dir=str(out), data_dir=data_dir(args.data_dir),
                      max_train_samples=b.train_samples, max_steps=b.max_steps, batch_size=b.batch_size,
                      seed=args.seed, eval_max_samples=b.eval_samples,
                      **({} if evaluate else {"eval_split": None}), **train_kw)
    return train_checkpoint(cfg)


def save(args: argparse.Namespace, name: str, payload: dict[str, Any], html: str | None = None) -> Path:
    """Write ``<out>/<name>.json`` (with the command and timing) and optionally ``<name>.html``."""
    mode = "quick" if args.quick else "full"
    payload = {"figure": name, "mode": mode, "command": command(), **_budget_record(args),
               "model": args.model, "seconds": round(time.perf_counter() - START, 1), **payload}
    stem = f"{name}-{mode}{getattr(args, 'suffix', '')}"
    path = write_results_json(args.out / f"{stem}.json", payload)
    if html is not None:
        # committed figures share one plotly.min.js beside them (mi_toolkit.reports.html.write_page)
        write_page(args.out / f"{stem}.html", html, plotlyjs="beside")
    print(f"wrote {path}")
    return path


def _budget_record(args: argparse.Namespace) -> dict[str, Any]:
    """The mode's training budget, unless the checkpoints were read from ``--models-from``: then what they were
    trained with is each checkpoint's own (its manifest, recorded per model in the pools' ``lm`` entries)."""
    if getattr(args, "models_from", None) is not None:
        return {"budget": None, "budget_reason": f"checkpoints read from {args.models_from}: each one's training "
                "budget, seed and content hash are in the report's pools (lm_train), read from its manifest"}
    return {"budget": budget(args).__dict__}


def command() -> str:
    return ".venv/bin/python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])


START = time.perf_counter()
