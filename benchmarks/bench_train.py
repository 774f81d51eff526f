"""Training benchmarks for predgen_core (measured targets of issue 3).

Two modes, both writing JSON to benchmarks/results/:

* ``steps``: train-step time of every method relative to the generator, on the
  real SmolLM2-135M with LoRA, measured side by side in one run (round-robin
  over the methods, the same batches for all). PredGen is measured at p=0 (no
  sampling: WDAL + task adapter only) and at p=1 (every row conditioned on its
  own KV-cached greedy tokens), sequence- and token-level.
* ``accuracy``: train each method on the same subset and step budget, then score
  it on the validation split (SST-2: accuracy on all 872; STS-B: MSE/MAE), beside
  the zero-shot floor of the base model.

    nice .venv/bin/python benchmarks/bench_train.py steps --steps 3 --rounds 2
    nice .venv/bin/python benchmarks/bench_train.py accuracy --dataset sst2 --max-train-samples 960 --max-steps 60
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_DATA = ROOT.parent / "shared" / "data"

# Step-time variants: (label, method, max_steps_for_sampling, sampling level).
VARIANTS = [
    ("generator", "generator", None, "sequence"),
    ("predictor", "predictor", None, "sequence"),
    ("predgen p=0", "predgen", 10**9, "sequence"),
    ("predgen p=1 sequence", "predgen", 0, "sequence"),
    ("predgen p=1 token", "predgen", 0, "token"),
]


def _machine() -> dict:
    import os
    import platform

    import torch

    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "torch": torch.__version__, "loadavg_at_end": os.getloadavg()}


def step_times(args: argparse.Namespace) -> dict:
    """Median seconds per optimiser step of each variant, measured round-robin."""
    import torch
    from transformers import TrainerCallback

    from predgen_core.api import TrainConfig, _spec, _training_args
    from predgen_core.methods import METHODS
    from predgen_core.methods.runtime import build_module, encode, max_target_tokens
    from predgen_core.models import load_base_model
    from predgen_core.tasks import TASKS

    task = TASKS.get(args.dataset)
    n = args.batch_size * (args.steps + 1)
    examples = task.load("train", data_dir=args.data_dir, max_samples=n, seed=0)

    class Clock(TrainerCallback):
        """Wall and process-CPU seconds per optimiser step. On a shared machine the CPU
        time (with --threads 1) is the steadier measure of the work a step does."""

        def __init__(self):
            self.times, self.cpu, self._t, self._c = [], [], 0.0, 0.0

        def on_step_begin(self, a, state, control, **kw):
            self._t, self._c = time.perf_counter(), time.process_time()

        def on_step_end(self, a, state, control, **kw):
            self.times.append(time.perf_counter() - self._t)
            self.cpu.append(time.process_time() - self._c)
            print(f"  step {state.global_step}: {self.times[-1]:.2f} s wall, {self.cpu[-1]:.2f} s cpu", flush=True)

    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="bench-train-"))  # Trainer output_dir; nothing is saved there
    samples: dict[str, list[float]] = {v[0]: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v[0]: [] for v in VARIANTS}
    for r in range(args.rounds):
        for label, method_name, sampling, level in VARIANTS:
            torch.manual_seed(0)
            method = METHODS.get(method_name)
            config = TrainConfig(method=method_name, dataset=args.dataset, model=args.model, batch_size=args.batch_size,
                                 max_steps=args.steps + 1, max_length=args.max_length, sampling_level=level,
                                 output_dir=str(scratch / "unused"), save_steps=10**6, logging_steps=10**6,
                                 lr=args.lr, progress=False, peft_options={"r": args.lora_r})
            lm, tok = load_base_model(args.model)
            labels = range(task.num_labels) if task.kind == "classification" else [task.low, task.high]
            spec = _spec(config, max_target_tokens(task, tok, labels) + 2, sampling, config.max_steps)
            module, tok, task = build_module(spec, base=(lm, tok))
            items = encode(task, tok, examples, args.max_length, with_target=method.generative)
            clock = Clock()
            extra = {"max_steps_for_sampling": sampling, "combiner": "wdal"} if method_name == "predgen" else {}
            trainer = method.trainer(model=module, args=_training_args(config, scratch),
                                     train_dataset=items, data_collator=method.collator(tok.pad_token_id, task.kind),
                                     callbacks=[clock], **extra)
            trainer.train()
            samples[label] += clock.times[1:]  # the first step warms up
            cpu[label] += clock.cpu[1:]
            print(f"round {r + 1} {label:22s} " + " ".join(f"{t:.2f}" for t in clock.times[1:]), flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    median = {k: statistics.median(v) for k, v in samples.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    rows = [{"variant": k, "median_step_s": round(v, 3), "ratio_to_generator": round(v / median["generator"], 3),
             "median_step_cpu_s": round(median_cpu[k], 3),
             "cpu_ratio_to_generator": round(median_cpu[k] / median_cpu["generator"], 3),
             "samples_s": [round(x, 3) for x in samples[k]], "samples_cpu_s": [round(x, 3) for x in cpu[k]]}
            for k, v in median.items()]
    return {"benchmark": "train_step_time", "model": args.model, "peft": f"lora r={args.lora_r}",
            "dataset": args.dataset, "batch_size": args.batch_size, "max_length": args.max_length,
            "timed_steps_per_round": args.steps, "rounds": args.rounds, "rows": rows}


def accuracy(args: argparse.Namespace) -> dict:
    """Train every method on the same budget, evaluate on the validation split, plus the zero-shot floor."""
    from predgen_core.api import RunOptions, TrainConfig, evaluate, train, zero_shot

    rows = []
    if not args.no_zero_shot:
        z = zero_shot(args.model, args.dataset, split=args.split, max_samples=args.eval_max_samples,
                      data_dir=args.data_dir, max_length=args.max_length, options=RunOptions(progress=False))
        rows.append({"method": "zero-shot", **z})
        print(json.dumps(rows[-1]), flush=True)
    for method in args.methods:
        out = Path(args.workdir) / f"{args.dataset}-{method}"
        config = TrainConfig(method=method, dataset=args.dataset, model=args.model, peft="lora",
                             peft_options={"r": args.lora_r}, output_dir=str(out), data_dir=args.data_dir,
                             max_train_samples=args.max_train_samples, max_steps=args.max_steps,
                             batch_size=args.batch_size, lr=args.lr, head_lr_scale=args.head_lr_scale, warmup_steps=args.warmup_steps,
                             max_length=args.max_length, seed=args.seed, eval_split=None, progress=False,
                             save_steps=max(args.max_steps // 2, 1))
        started = time.perf_counter()
        path = train(config)
        train_s = time.perf_counter() - started
        scores = evaluate(path, args.dataset, split=args.split, max_samples=args.eval_max_samples,
                          data_dir=args.data_dir)
        rows.append({**scores, "method": method, "train_seconds": round(train_s, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return {"benchmark": "accuracy", "dataset": args.dataset, "model": args.model, "split": args.split,
            "budget": {"max_train_samples": args.max_train_samples, "max_steps": args.max_steps,
                       "batch_size": args.batch_size, "lr": args.lr, "head_lr_scale": args.head_lr_scale, "lora_r": args.lora_r,
                       "max_length": args.max_length, "warmup_steps": args.warmup_steps, "seed": args.seed,
                       "eval_max_samples": args.eval_max_samples}, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["steps", "accuracy"])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--head-lr-scale", type=float, default=10.0, help="LR multiplier of heads / task adapter")
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--steps", type=int, default=3, help="steps: timed steps per round (after one warm-up)")
    p.add_argument("--rounds", type=int, default=2, help="steps: round-robin passes over the variants")
    p.add_argument("--methods", nargs="+", default=["predictor", "generator", "predgen"])
    p.add_argument("--max-train-samples", type=int, default=960)
    p.add_argument("--max-steps", type=int, default=60)
    p.add_argument("--warmup-steps", type=int, default=5)
    p.add_argument("--split", default="validation")
    p.add_argument("--eval-max-samples", type=int, default=None, help="None: the whole split (SST-2: 872)")
    p.add_argument("--no-zero-shot", action="store_true")
    p.add_argument("--workdir", default=str(RESULTS / "runs"))
    p.add_argument("--out", default=None, help="JSON file (default benchmarks/results/train_<mode>_<dataset>.json)")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    started = time.time()
    result = step_times(args) if args.mode == "steps" else accuracy(args)
    result.update(machine=_machine(), wall_seconds=round(time.time() - started, 1),
                  finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  command="python benchmarks/bench_train.py " + " ".join(sys.argv[1:] if argv is None else argv))
    from predgen_common.io import write_results_json

    out = Path(args.out) if args.out else RESULTS / f"train_{args.mode}_{args.dataset}.json"
    write_results_json(out, result)
    if args.mode == "steps":
        for row in result["rows"]:
            print(f"{row['variant']:22s} wall {row['median_step_s']:7.2f} s/step x{row['ratio_to_generator']:.2f}   "
                  f"cpu {row['median_step_cpu_s']:7.2f} s/step x{row['cpu_ratio_to_generator']:.2f}  (vs generator)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
