"""Do Figure 2's method verdicts survive a new set of seeds? Two Figure 2 reports over disjoint seed groups.

Reads two result files of ``analyses/fig2_mi_by_method.py`` (each over a different set of seeds per method,
e.g. seeds 0-2 and seeds 3-5) and, for every comparison over seeds that both report, says whether the two
halves' method verdicts agree (the same verdict; "no difference detected" against a directional verdict is
not a contradiction, opposite directions are). Writes the table as JSON.

    .venv/bin/python analyses/seed_halves.py analyses/results/fig2_mi_by_method_sst2-quick-seeds.json \\
        analyses/results/fig2_mi_by_method_sst2-quick-half-b.json --out analyses/results/fig2_seed_halves.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predgen_common.io import write_results_json  # noqa: E402  (after the path line above)

DIRECTIONAL = {"reads higher": 1, "reads lower": -1}


def seeds_of(result: dict[str, Any]) -> dict[str, list[str]]:
    """Method -> the seed folders its mean over seeds stands on."""
    out: dict[str, list[str]] = {}
    for member, group in result["report"]["over_seeds"]["groups"].items():
        out.setdefault(Path(group).name, []).append(member.split("/")[-1])
    return out


def agreement(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison both halves report: each half's mean, interval, Holm p and verdict, and whether
    the verdicts agree (same verdict), are compatible (one directional, the other no difference) or contradict."""
    rows = []
    by_pair = {(c["a"], c["b"]): c for c in second["report"]["over_seeds"]["comparisons"]}
    for c in first["report"]["over_seeds"]["comparisons"]:
        other = by_pair.get((c["a"], c["b"]))
        if other is None:
            continue
        da, db = DIRECTIONAL.get(c["verdict"], 0), DIRECTIONAL.get(other["verdict"], 0)
        status = ("agree" if c["verdict"] == other["verdict"] else "contradict" if da * db < 0 else
                  "one half detects, the other does not")
        rows.append({"a": c["a"], "b": c["b"], "status": status,
                     "halves": [{k: x[k] for k in ("mean", "ci_low", "ci_high", "p_holm", "verdict", "n_seeds")}
                                for x in (c, other)]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    first, second = (json.loads(p.read_text()) for p in (args.first, args.second))
    seeds = [seeds_of(first), seeds_of(second)]
    shared = {m: set(seeds[0][m]) & set(seeds[1].get(m, [])) for m in seeds[0]}
    if any(shared.values()):
        print(f"error: the halves share seeds ({shared}); pass two reports over disjoint seeds", file=sys.stderr)
        sys.exit(2)
    rows = agreement(first, second)
    summary = {s: sum(r["status"] == s for r in rows) for s in ("agree", "one half detects, the other does not",
                                                                  "contradict")}
    write_results_json(args.out, {"command": " ".join(sys.argv), "files": [str(args.first), str(args.second)],
                                  "seeds": seeds, "summary": summary, "rows": rows})
    for r in rows:
        print(f"{r['a']} - {r['b']}: {r['halves'][0]['verdict']} / {r['halves'][1]['verdict']} ({r['status']})")
    print(summary)


if __name__ == "__main__":
    main()
