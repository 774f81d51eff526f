"""Token-label MI heatmaps (the paper's Figure 3 and Figures 8-13).

Rows are the label candidates (``positive``/``negative``, ``Solution 1``/``Solution 2``)
or, for regression, the digits of the value; columns are the tokens of the input text.
A cell is the pointwise MI in nats, PMI(z_i; y) = T(z_i, y) - log E_{p(z)p(y)} e^T,
from one critic trained on (token state, label) pairs over a dataset split. Beside it
go captum LayerIntegratedGradients attributions of each row's label-token log-probability.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from predgen_core.errors import UserError
from predgen_core.methods.reading import forward_states, prompt_ids
from predgen_core.tasks import Example

from mi_toolkit.api import fit_critic
from mi_toolkit.measures.attribution import integrated_gradients
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates, extract, load_split


@dataclass
class HeatmapResult:
    """``pmi`` ``(R, T)`` nats; ``attributions`` ``(R, T)`` or None; ``rows`` R labels;
    ``tokens`` T strings; ``critic`` the critics' held-out results; ``meta`` provenance."""

    text: str
    tokens: list[str]
    rows: list[str]
    pmi: np.ndarray
    attributions: np.ndarray | None
    critic: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    attribution_info: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pmi"] = self.pmi.tolist()
        d["attributions"] = None if self.attributions is None else self.attributions.tolist()
        return d


def make_example(task: Any, text: str) -> Any:
    """An Example of ``task`` holding ``text`` (fields separated by ``|||`` for multi-field tasks)."""
    if not text or not text.strip():
        raise UserError("--text is empty; give a sentence to analyse")
    keys = _input_fields(task)
    if not keys:
        return Example(text.strip(), 0)
    parts = [p.strip() for p in text.split("|||")] if len(keys) > 1 else [text.strip()]
    if len(parts) != len(keys) or not all(parts):
        raise UserError(f"task {task.name!r} takes {len(keys)} texts ({', '.join(keys)}); separate them with '|||'")
    dummy = task.labels[0] if task.kind == "classification" else task.low
    return task.from_record({**dict(zip(keys, parts)), task.label_field: dummy}, "--text")


def _input_fields(task: Any) -> list[str]:
    """Raw record fields holding the input text (multiple-choice: question, then options)."""
    options = list(getattr(task, "option_fields", ()) or ())
    if options:
        return [task.question_field, *options]
    return list(getattr(task, "text_fields", {}) or {})


def _field_values(task: Any, example: Any) -> list[str]:
    f = example.fields
    if getattr(task, "option_fields", ()) and "options" in f:
        return [str(f["question"]), *map(str, f["options"])]
    return [str(f[k]) for k in getattr(task, "text_fields", {}) if k in f]


def text_spans(task: Any, example: Any, prompt: str) -> list[tuple[int, int]]:
    """Character spans of the example's own text fields inside ``prompt``."""
    values = _field_values(task, example) or [example.text]
    spans, start = [], 0
    for v in values:
        at = prompt.find(v, start)
        if at < 0:
            raise UserError(f"cannot locate the text {v[:30]!r} in the task's prompt; the task's template hides it")
        spans.append((at, at + len(v)))
        start = at + len(v)
    return spans


def span_mask(tokenizer: Any, prompt: str, spans: Sequence[tuple[int, int]], max_length: int | None) -> np.ndarray:
    """Bool ``(n,)`` over the prompt tokens as extraction keeps them: True inside ``spans``."""
    enc = tokenizer(prompt, add_special_tokens=True, return_offsets_mapping=True)
    offsets = enc["offset_mapping"][-max_length:] if max_length else enc["offset_mapping"]
    return np.array([any(a < e and b > s and b > a for s, e in spans) for a, b in offsets], dtype=bool)


def token_label_pairs(states: HiddenStates, masks: Sequence[np.ndarray], labels: np.ndarray):
    """``(Z (P, d), y (P,))``: every text-token state of every example with its example's label."""
    zs, ys = [], []
    for z, m, y in zip(states.iter_full(), masks, labels):
        sel = np.asarray(z[: len(m)])[m[: len(z)]]
        zs.append(sel)
        ys.append(np.full(len(sel), y))
    return np.concatenate(zs).astype(np.float32), np.concatenate(ys)


def digit_rows(task: Any, value: float) -> list[tuple[int, str]]:
    """(character index, digit) of the rendered regression value, e.g. 3.80 -> [(0,'3'), (2,'8'), (3,'0')]."""
    return [(i, ch) for i, ch in enumerate(task.target_text(value)) if ch.isdigit()]


def _critics(task: Any, z: np.ndarray, y: np.ndarray, rows_spec: Any, estimator: str | None, seed: int):
    """Fit the critic(s) and return a function ``pmi(Z_text) -> (R, T)`` plus their results."""
    if task.kind == "classification":
        critic = fit_critic(z, y.astype(np.int64), estimator, seed=seed)
        classes = list(range(len(task.labels)))
        return (lambda zt: critic.pmi(zt, classes).T), [critic.result.to_dict()]
    fitted = []
    rendered = [task.target_text(v) for v in y]
    for pos, _ in rows_spec:
        digits = np.array([int(r[pos]) if len(r) > pos and r[pos].isdigit() else -1 for r in rendered])
        keep = digits >= 0
        fitted.append(fit_critic(z[keep], digits[keep], estimator, seed=seed))

    def pmi(zt):
        out = np.full((len(rows_spec), len(zt)), np.nan)
        for r, ((_, ch), c) in enumerate(zip(rows_spec, fitted)):
            if int(ch) in c.classes:
                out[r] = c.pmi(zt, [int(ch)])[:, 0]
        return out

    return pmi, [c.result.to_dict() for c in fitted]


def _rows(task: Any, loaded: Any, prompt: str, label: float | None) -> tuple[Any, list[str], float | None]:
    """``(rows_spec, row names, value)``: the classes, or the digits of the (given or predicted) value."""
    if task.kind == "classification":
        return list(range(len(task.labels))), list(task.labels), None
    value = label if label is not None else _predicted_value(loaded, task, prompt)
    spec = digit_rows(task, value)
    return spec, [f"'{ch}' (char {i + 1} of {task.target_text(value)})" for i, ch in spec], value


def heatmap(checkpoint: Any, text: str, dataset: str | None = None, *, split: str = "train",
            data_dir: str | None = None, max_samples: int | None = 1000, layer: int = -1, label: float | None = None,
            estimator: str | None = None, seed: int = 0, attributions: bool = True, n_steps: int = 32,
            progress: bool = True) -> HeatmapResult:
    """The token-label heatmap of ``text`` under ``checkpoint``; the critic trains on ``dataset``'s ``split``.

    The text's states come through the same extraction path as the split's (one forward
    pass of the prompt); the split is loaded once, for both the extraction and the masks.
    """
    loaded = ck.load_checkpoint(checkpoint)
    task = ck.task_for(loaded, dataset)
    tok, maxlen = loaded.tokenizer, ck.max_length(loaded)
    example = make_example(task, text)
    prompt = task.prompt(example)
    mask = span_mask(tok, prompt, text_spans(task, example, prompt), maxlen)
    if not mask.any():
        raise UserError(f"text {text[:40]!r} tokenises to nothing inside the prompt; give a non-empty text")
    ids = prompt_ids(tok, [prompt], maxlen)[0]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    z_text = forward_states(loaded.model, [ids], layer, pad)[0].numpy()[mask]
    examples = load_split(task, split, data_dir=data_dir, max_samples=max_samples, seed=seed)
    states = extract(loaded, task.name, split, layer, data_dir=data_dir, max_samples=max_samples, seed=seed,
                     progress=progress, examples=examples)  # prompt rows come first; generated rows are ignored
    masks = [span_mask(tok, p, text_spans(task, e, p), maxlen) for e, p in ((e, task.prompt(e)) for e in examples)]
    z_pairs, y_pairs = token_label_pairs(states, masks, states.labels)
    rows_spec, row_names, value = _rows(task, loaded, prompt, label)
    pmi_fn, critic_results = _critics(task, z_pairs, y_pairs, rows_spec, estimator, seed)
    attr, info = None, []
    if attributions:
        targets = (_class_targets(task, tok) if task.kind == "classification"
                   else _digit_targets(task, tok, value, rows_spec))
        attr, info = _attributions(loaded.model, tok, ids, mask, targets, pad, n_steps)
    meta = {"checkpoint": str(ck.checkpoint_path(loaded)), "method": ck.method_name(loaded), "dataset": task.name,
            "split": split, "max_samples": max_samples, "layer": layer, "n_pairs": int(len(y_pairs)),
            "n_examples": len(examples), "prompt": prompt, "seed": seed}
    tokens = [tok.decode([i]) for i, m in zip(ids, mask) if m]
    return HeatmapResult(text, tokens, row_names, pmi_fn(z_text), attr, critic_results, meta, info)


def _predicted_value(loaded: Any, task: Any, prompt: str) -> float:
    gen = ck.generated_ids(loaded, [prompt])[0]
    value = task.parse(loaded.tokenizer.decode(gen, skip_special_tokens=True))
    if value is None:
        raise UserError("the model's output for this text does not parse as a number; pass --label VALUE")
    return float(value)


def _class_targets(task: Any, tok: Any) -> list[tuple[list[int], int]]:
    """Per class: no prefix, and the first token of its completion (e.g. " positive")."""
    return [([], tok(task.completion(c), add_special_tokens=False)["input_ids"][0]) for c in range(len(task.labels))]


def _digit_targets(task: Any, tok: Any, value: float, rows_spec: Any) -> list[tuple[list[int], int]]:
    """Per digit row: the completion tokens before the digit and the token that carries it."""
    completion = task.completion(value)
    shift = len(completion) - len(task.target_text(value))
    enc = tok(completion, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for i, _ in rows_spec:
        at = i + shift
        j = next(j for j, (a, b) in enumerate(enc["offset_mapping"]) if a <= at < b)
        out.append((list(enc["input_ids"][:j]), enc["input_ids"][j]))
    return out


def _attributions(model, tok, ids, mask, targets, pad, n_steps):
    positions = [i for i, m in enumerate(mask) if m]
    rows, info = [], []
    for prefix, target in targets:
        a = integrated_gradients(model, list(ids) + prefix, target, positions, baseline_id=pad, n_steps=n_steps)
        rows.append(a.scores)
        info.append({"target_token": tok.decode([target]), "logprob": a.logprob,
                     "baseline_logprob": a.baseline_logprob, "delta": a.delta})
    return np.stack(rows), info
