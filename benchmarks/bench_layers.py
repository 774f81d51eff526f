"""Layer sweeps: reading every layer in one pass costs about one forward pass (issue 10 target: <= 1.2).

Side by side in one run (the same model, texts and length-sorted batches; interleaved repeats,
best of each; wall and process CPU time, since on a shared machine wall time mostly measures
the neighbours):
  - ``forward_causal_lm``: the causal LM's own forward, ``model(input_ids, attention_mask,
    position_ids)``, on pre-built tensors: the "one forward pass" the target counts in;
  - ``forward_base``: the base transformer alone (``model.model``: no vocabulary projection);
  - ``extract_all_layers``: ``extract_texts`` with every layer (embeddings .. last, 31 outputs for
    SmolLM2-135M) from ``output_hidden_states``, pooled states only, as ``mi layer-sweep`` stores
    them: tokenising, forward, pooling, writing shards to disk;
  - ``extract_one_layer``: the same for the last layer alone (one sweep point the old way; a
    sweep without the single pass costs this times the number of layers).

    nice .venv/bin/python benchmarks/bench_layers.py --model smollm2-135m --n 64 --repeats 2 \\
        --json benchmarks/results/bench_layers.json
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_extract import texts  # noqa: E402  (the same SST-2 prompts as the extraction benchmark)


def run(model_name: str, n: int, batch_size: int, repeats: int) -> dict:
    import torch

    from mi_toolkit.states.extract import ExtractConfig, extract_texts
    from predgen_core.methods.collate import pad_rows, position_ids
    from predgen_core.methods.reading import prompt_ids
    from predgen_core.models import load_base_model

    model, tok = load_base_model(model_name)
    items = texts(n)
    ids = prompt_ids(tok, items)
    order = sorted(range(n), key=lambda i: len(ids[i]))  # the buckets extract_texts builds
    padded = [pad_rows([ids[i] for i in order[b:b + batch_size]], tok.pad_token_id) for b in range(0, n, batch_size)]
    batches = [(i, m, position_ids(m)) for i, m in padded]
    all_layers = tuple(range(model.config.num_hidden_layers + 1))

    def forward(full_lm: bool) -> None:
        with torch.inference_mode():
            for i, m, p in batches:
                (model if full_lm else model.model)(input_ids=i, attention_mask=m, position_ids=p)

    def extract(layers: tuple[int, ...] | None) -> None:
        cfg = ExtractConfig(batch_size=batch_size, layers=layers, keep_tokens=layers is None)
        with tempfile.TemporaryDirectory() as d:
            hs = extract_texts(model, tok, items, Path(d) / "s", config=cfg, progress=False)
            assert len(hs.layers) == (len(layers) if layers else 1)

    runs = {"forward_causal_lm": lambda: forward(True), "forward_base": lambda: forward(False),
            "extract_all_layers": lambda: extract(all_layers), "extract_one_layer": lambda: extract(None)}
    forward(False)  # warm-up
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    load_before = os.getloadavg()
    for _ in range(repeats):  # interleaved, so a busy spell hits every variant
        for name, fn in runs.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    bw, bc = ({k: min(v) for k, v in d.items()} for d in (wall, cpu))
    return {
        "model": model_name, "n": n, "batch_size": batch_size, "repeats": repeats, "layers": len(all_layers),
        "threads": torch.get_num_threads(), "tokens": int(sum(len(x) for x in ids)),
        "wall_best_s": bw, "cpu_best_s": bc, "wall_all_s": wall, "cpu_all_s": cpu,
        "passes_all_layers_wall": bw["extract_all_layers"] / bw["forward_causal_lm"],
        "passes_all_layers_cpu": bc["extract_all_layers"] / bc["forward_causal_lm"],
        "passes_all_layers_vs_base_cpu": bc["extract_all_layers"] / bc["forward_base"],
        "separate_passes_estimate_cpu": bc["extract_one_layer"] * len(all_layers) / bc["forward_causal_lm"],
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "target_passes": 1.2,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    r = run(args.model, args.n, args.batch_size, args.repeats)
    print(f"{r['model']}: {r['n']} texts, {r['tokens']} tokens, {r['layers']} layer outputs, batch {r['batch_size']}, "
          f"best of {r['repeats']} interleaved; load average {r['loadavg_before'][0]:.1f} -> {r['loadavg_after'][0]:.1f}")
    for k in r["wall_best_s"]:
        print(f"  {k:<20} wall {r['wall_best_s'][k]:7.2f} s   cpu {r['cpu_best_s'][k]:7.2f} s")
    print(f"  all {r['layers']} layers read in {r['passes_all_layers_cpu']:.2f} forward passes (CPU time; "
          f"wall {r['passes_all_layers_wall']:.2f}; target <= 1.2); one pass per layer would take "
          f"~{r['separate_passes_estimate_cpu']:.1f}")
    if args.json:
        from predgen_common.io import write_results_json

        write_results_json(args.json, {**r, "command": " ".join(sys.argv)})


if __name__ == "__main__":
    main()
