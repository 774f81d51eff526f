"""Training runs as the unit of analysis: a method's reading over several trained seeds, with an interval that
covers both which seeds were trained and which evaluation examples were drawn.

Every checkpoint of a group is read on the **same** evaluation examples, so a method's per-example values form
an ``(S, n)`` array (seeds x examples) whose two factors are crossed, not nested: ``x_se = mu + a_s + b_e + c_se``
(a seed effect, an example's difficulty shared by every seed and method, and noise). The variance of a method's
mean is estimated from the two margins, as in a two-way random-effects design:

- the per-seed means ``m_s`` vary by ``tau^2 + sigma_c^2 / n``: their sample variance over ``S`` gives the seed
  term ``var_s(m) / S``;
- the per-example means over seeds vary by ``sigma_b^2 + sigma_c^2 / S``: their variance over ``n`` gives the
  example term ``var_e / n`` (for a paired difference of two methods, of the per-example differences, so the
  shared difficulty ``b_e`` cancels);

their sum counts ``sigma_c^2 / (S n)`` twice, a small conservative excess. The 95% interval is Student's t on
that standard error with Satterthwaite's degrees of freedom (dominated by the seeds when they vary). With 3
seeds a percentile bootstrap that resamples seeds and then examples covered a known difference in only 84.5% of
200 simulated replications (a bootstrap of 3 values underestimates their spread by a third); this interval's
coverage is measured in ``benchmarks/bench_seeds.py``. :func:`spreads` gives the two sources apart:

- ``between_seed_sd``: the standard deviation of the per-seed means (how much a retraining moves the reading);
- ``within_seed_se``: one seed's standard error over the examples (what a one-checkpoint interval covers);
- ``total_se``: the combined standard error of the method's mean (or of the difference).

A one-checkpoint interval covers only the second: the notes (lesson 9) measured a paired difference of one
training run each that moved from -0.063 [-0.092, -0.035] to +0.007 [-0.020, +0.032] on retraining.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError

MIN_SEEDS = 3  # below this, a group's between-seed spread is not estimable enough for a method verdict


@dataclass(frozen=True)
class SeedSummary:
    """A method's (or a difference's) mean over seeds, its two-level 95% interval and the spreads (nats)."""

    mean: float
    ci_low: float
    ci_high: float
    p_two_sided: float
    between_seed_sd: float
    within_seed_se: float
    total_se: float
    n_seeds: tuple[int, ...]
    n_examples: int
    df: float          # Satterthwaite's degrees of freedom of the interval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def per_seed_values(results: Sequence[Any]) -> np.ndarray:
    """``(S, n)``: the per-example values of each seed's result, which must all cover the same ``n`` examples."""
    rows = [np.asarray(getattr(r, "pointwise", r), np.float64).ravel() for r in results]
    if not rows:
        raise UserError("a seed group holds no results; pass at least one checkpoint per method")
    if len({len(r) for r in rows}) != 1:
        raise UserError("the seeds of a group were read on different numbers of examples; read every checkpoint "
                        "on the same evaluation pool")
    return np.vstack(rows)


def two_level(groups: Sequence[np.ndarray], weights: Sequence[float]) -> SeedSummary:
    """``sum_g weights[g] * mean(groups[g])`` with its two-level 95% interval. ``groups``: ``(S_g, n)`` arrays of
    per-example values on the same ``n`` examples (one group with weight 1 for a method's reading; two with
    weights 1, -1 for a paired method difference); the seeds of different groups are independent."""
    if len({g.shape[1] for g in groups}) != 1:
        raise UserError("the groups were read on different evaluation examples; read them on the same pool")
    n = groups[0].shape[1]
    seed_terms = [w * w * (g.mean(axis=1).var(ddof=1) / g.shape[0] if g.shape[0] > 1 else 0.0)
                  for g, w in zip(groups, weights)]
    per_example = sum(w * g.mean(axis=0) for g, w in zip(groups, weights))  # (n,): paired across groups
    example_term = float(per_example.var(ddof=1) / n)
    total = float(sum(seed_terms) + example_term)
    dfs = [g.shape[0] - 1 for g in groups]
    denom = sum(t * t / d for t, d in zip(seed_terms, dfs) if d > 0) + example_term ** 2 / (n - 1)
    df = total ** 2 / denom if denom > 0 else float(n - 1)
    from scipy.stats import t as student

    mean = float(sum(w * g.mean() for g, w in zip(groups, weights)))
    se = float(np.sqrt(total))
    half = float(student.ppf(0.975, df)) * se
    between, within = spreads(groups, weights)
    p = float(min(1.0, 2 * student.sf(abs(mean) / se, df))) if se > 0 else (0.0 if mean != 0 else 1.0)
    return SeedSummary(mean, mean - half, mean + half, p, between, within, se,
                       tuple(int(g.shape[0]) for g in groups), n, float(df))


def spreads(groups: Sequence[np.ndarray], weights: Sequence[float]) -> tuple[float, float]:
    """``(between_seed_sd, within_seed_se)`` of the weighted combination: the SD of per-seed means (pooled
    over groups, each group's own seeds), and the mean over seeds of one seed's standard error over examples
    (for a difference, of the paired per-example differences against the other group's seed mean)."""
    seed_means = [g.mean(axis=1) for g in groups]
    between = float(np.sqrt(sum(w * w * (m.var(ddof=1) if len(m) > 1 else 0.0)
                                for m, w in zip(seed_means, weights))))
    other = sum(w * g.mean(axis=0) for g, w in zip(groups[1:], weights[1:])) if len(groups) > 1 else 0.0
    d = weights[0] * groups[0] + other  # (S_0, n): each seed of the first group against the others' mean
    within = float(np.mean(d.std(axis=1, ddof=1)) / np.sqrt(d.shape[1]))
    return between, within


def one_level(groups: Sequence[np.ndarray], weights: Sequence[float]) -> tuple[float, float]:
    """The interval a one-checkpoint analysis gives: the first seed of each group, the examples' spread only."""
    s = two_level([g[:1] for g in groups], weights)
    return s.ci_low, s.ci_high


def method_verdict(summary: SeedSummary, alpha_p: float) -> str:
    """``reads higher`` / ``reads lower`` / ``no difference detected over seeds`` from a two-level difference
    and its (Holm-adjusted) p; groups under :data:`MIN_SEEDS` seeds give no method verdict."""
    if min(summary.n_seeds) < MIN_SEEDS:
        return f"no method verdict (fewer than {MIN_SEEDS} seeds in a group)"
    if alpha_p < 0.05 and summary.ci_low > 0:
        return "reads higher"
    if alpha_p < 0.05 and summary.ci_high < 0:
        return "reads lower"
    return "no difference detected over seeds"


def expand_groups(refs: Sequence[Any]) -> list[tuple[str, str | None]]:
    """``(checkpoint, group)`` for each reference: a checkpoint (or any other model reference) stands alone
    (group None); a folder without a manifest whose subfolders hold checkpoints (``runs/seeds/predgen/seed-0``,
    ...) is a group of seeds, named by the folder; a quoted glob (``'runs/pg-seed*'``) is a group of the
    checkpoints it matches (one line when it matches none). A folder that is neither is left to the model
    checks, which say what it holds."""
    import glob

    out: list[tuple[str, str | None]] = []
    for ref in refs:
        path = Path(str(ref))
        if path.is_dir() and not (path / "manifest.json").is_file():
            members = sorted(p.parent for p in path.glob("*/manifest.json"))
            out += [(str(m), path.name) for m in members] or [(str(ref), None)]
        elif not path.exists() and glob.has_magic(str(ref)):
            members = sorted(Path(m) for m in glob.glob(str(ref)) if (Path(m) / "manifest.json").is_file())
            if not members:
                raise UserError(f"the pattern {ref} matches no checkpoint folder; pass checkpoint folders, a "
                                "folder of one method's seeds, or a pattern that matches some")
            out += [(str(m), str(ref)) for m in members]
        else:
            out.append((str(ref), None))
    return out


@dataclass
class MethodComparison:
    """``a - b`` over seeds (two-level), its Holm-adjusted p over the report's method family, and the verdict."""

    a: str
    b: str
    summary: SeedSummary
    p_holm: float = 1.0
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **self.summary.to_dict(), "p_holm": self.p_holm, "verdict": self.verdict}

    def sentence(self) -> str:
        s = self.summary
        return (f"{self.a} - {self.b} over seeds ({'/'.join(map(str, s.n_seeds))} seeds, {s.n_examples} examples): "
                f"{s.mean:+.3f} nats [{s.ci_low:+.3f}, {s.ci_high:+.3f}] two-level (between-seed SD "
                f"{s.between_seed_sd:.3f}, within-seed SE {s.within_seed_se:.3f}), Holm p = {self.p_holm:.3g}: "
                f"{self.verdict}")


def method_table(values: dict[str, np.ndarray],
                 pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, SeedSummary], list[MethodComparison]]:
    """Each group's reading over its seeds, and each pair's two-level difference with a method verdict
    (Holm over ``pairs``). ``values``: ``{label: (S, n) per-example values}`` on the same ``n`` examples."""
    from mi_toolkit.estimators.paired import holm

    readings = {label: two_level([v], [1]) for label, v in values.items()}
    comps = [MethodComparison(a, b, two_level([values[a], values[b]], [1, -1])) for a, b in pairs]
    if comps:
        for c, p in zip(comps, holm([c.summary.p_two_sided for c in comps])):
            c.p_holm, c.verdict = float(p), method_verdict(c.summary, float(p))
    return readings, comps


def unfinished_seeds(folder: str | Path) -> list[str]:
    """The subfolders of a seed-group folder that hold no finished checkpoint (no ``manifest.json``): a seed
    whose training failed or has not finished (``seed-1.trainer`` without ``seed-1``), named for the report."""
    path = Path(str(folder))
    if not path.is_dir() or (path / "manifest.json").is_file():
        return []
    done = {p.name for p in path.iterdir() if (p / "manifest.json").is_file()}
    out = []
    for p in sorted(path.iterdir()):
        if p.is_dir() and p.name not in done:
            stem = p.name[: -len(".trainer")] if p.name.endswith(".trainer") else p.name
            if stem not in done:   # a finished seed's leftover work folder is not a missing seed
                out.append(p.name)
    return out


def check_group_folders(refs: Sequence[Any]) -> None:
    """One line, before any weights load, for a reference that is a folder holding neither a model (files of
    its own) nor any finished seed: an empty folder, or one whose seed subfolders never finished training."""
    for ref in refs:
        path = Path(str(ref))
        if not path.is_dir() or any(p.is_file() for p in path.iterdir()) or any(path.glob("*/manifest.json")):
            continue  # a checkpoint, a model folder or a group with seeds: the model checks take it from here
        left = unfinished_seeds(path)
        if left:
            raise UserError(f"the seed group {path} holds no finished checkpoint (no manifest.json in "
                            f"{', '.join(left)}: training failed or has not finished); wait for training, or pass "
                            "a folder whose seed subfolders hold manifest.json")
        raise UserError(f"the folder {path} is empty: it holds no checkpoint (manifest.json) and no seed folders "
                        f"({path}/seed-<s>/manifest.json); pass a checkpoint folder or a folder of one method's seeds")


def check_same_training_pool(infos: Sequence[Any], names: Sequence[str]) -> None:
    """Methods compared over seeds must be trained on one pool (the same dataset and number of training
    examples): otherwise a method difference is also a data difference. One line naming the two that differ."""
    seen: dict[tuple[Any, Any], str] = {}
    for info, name in zip(infos, names):
        training = (getattr(info, "manifest", {}) or {}).get("training", {}) or {}
        key = (training.get("dataset", info.manifest.get("task")), training.get("max_train_samples"))
        seen.setdefault(key, name)
    if len(seen) > 1:
        (a, na), (b, nb) = list(seen.items())[:2]
        raise UserError(f"these checkpoints were trained on different pools: {na} on {a[1] or 'all'} {a[0]} "
                        f"examples, {nb} on {b[1] or 'all'} {b[0]} examples; compare methods trained on one pool "
                        "(the same dataset and --max-train-samples), one report per pool")
