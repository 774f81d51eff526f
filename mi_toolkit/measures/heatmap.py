"""Token-label heatmaps (the paper's Figure 3 and Figures 8-13): PVI cells, grouped by sentence.

Main view: each cell is the pointwise V-information (PVI, Ethayarajh et al. 2022) in nats of
input token ``i``'s state about the gold label ``y``: ``log q(y | z_i) - log p(y)``, ``q`` a
probe fitted on (token state, label) pairs of a dataset split, split by sentence
(:mod:`mi_toolkit.measures.pvi`). Rows are the label classes; for a binary label only the
second class's row is shown (the first is determined by it: ``log(1 - q) - log(1 - p)``).
Regression: one row per digit of the (given or predicted) value.

Second view, for generative checkpoints (generator, predgen): the pointwise information of
the model's *generated* label with each input token, ``i(y_hat; z_i) = log q'(y_hat | z_i) -
log p'(y_hat)``, ``q'`` the same kind of probe fitted on (input token state, the label the
model generated for that sentence) pairs and ``y_hat`` the label the model generates for the
text. This is the paper's "MI between the predicted token and an input token", in its
pointwise form with the input token represented by its state.

Beside them go captum LayerIntegratedGradients attributions of each row's label-token log-probability.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from predgen_common.errors import UserError
from predgen_core.methods.reading import forward_states, prompt_ids
from predgen_core.tasks import Example

from mi_toolkit.measures.attribution import integrated_gradients
from mi_toolkit.measures.controls import token_selectivity
from mi_toolkit.measures.pvi import GroupedProbe
from mi_toolkit.measures.setting import Setting
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import HiddenStates


@dataclass
class HeatmapResult:
    """``pvi`` ``(R, T)`` nats (gold label); ``attributions`` ``(R, T)`` or None; ``rows`` R labels;
    ``tokens`` T strings; ``probes`` the probes' held-out results; ``generated`` ``(1, T)`` the
    generated-label view (None for non-generative checkpoints) with ``generated_label``; ``meta``."""

    text: str
    tokens: list[str]
    rows: list[str]
    pvi: np.ndarray
    attributions: np.ndarray | None
    probes: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    attribution_info: list[dict[str, float]] = field(default_factory=list)
    generated: np.ndarray | None = None
    generated_label: str | None = None
    attribution_rows: list[str] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)  # the control task beside the gold-label probe

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("pvi", "attributions", "generated"):
            val = getattr(self, key)
            d[key] = None if val is None else np.asarray(val).tolist()
            if val is not None and not np.isfinite(np.asarray(val, dtype=float)).all():  # JSON writes these null
                d[f"{key}_reason"] = ("null cells do not exist: the probe gave that label probability 0 from the "
                                      "token (log 0 = -inf), or the value is undefined (NaN)")
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


def token_label_pairs(states: HiddenStates, masks: Sequence[np.ndarray], labels: Sequence[Any]):
    """``(Z (P, d), y (P,), groups (P,))``: every text-token state of every example with its example's
    label and the example's index (its sentence); examples whose label is None are skipped."""
    zs, ys, gs = [], [], []
    for i, (z, m, y) in enumerate(zip(states.iter_full(), masks, labels)):
        if y is None:
            continue
        sel = np.asarray(z[: len(m)])[m[: len(z)]]
        zs.append(sel)
        ys.append(np.full(len(sel), y))
        gs.append(np.full(len(sel), i))
    return np.concatenate(zs).astype(np.float32), np.concatenate(ys), np.concatenate(gs)


def pair_token_ids(states: HiddenStates, masks: Sequence[np.ndarray], labels: Sequence[Any]) -> np.ndarray:
    """``(P,)`` the token id of every pair of :func:`token_label_pairs` (same order, same skips)."""
    out = [np.asarray(ids[: len(m)])[m[: len(ids)]]
           for ids, m, y in zip(states.iter_token_ids(), masks, labels) if y is not None]
    return np.concatenate(out)


def control_task(task: Any, states: HiddenStates, masks: Sequence[np.ndarray], z: np.ndarray, y: np.ndarray,
                 groups: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Hewitt & Liang's control task for the gold-label token probe: each token id gets one random
    label drawn from the label distribution; the same grouped probe reads it on the same pairs, and
    the selectivity (real - control) has a paired sentence-bootstrap interval. Classification only."""
    if task.kind != "classification":
        return []
    ids = pair_token_ids(states, masks, states.labels)
    out = token_selectivity(z, y.astype(np.int64), ids, groups, len(task.labels), seed=seed)
    out.pop("control_labels")
    return [out]


def digit_rows(task: Any, value: float) -> list[tuple[int, str]]:
    """(character index, digit) of the rendered regression value, e.g. 3.80 -> [(0,'3'), (2,'8'), (3,'0')]."""
    return [(i, ch) for i, ch in enumerate(task.target_text(value)) if ch.isdigit()]


def _probes(task: Any, z: np.ndarray, y: np.ndarray, groups: np.ndarray, rows_spec: Any, seed: int):
    """Fit the grouped probe(s); return ``pvi(Z_text) -> (R, T)`` and their held-out results."""
    if task.kind == "classification":
        probe = GroupedProbe(len(task.labels), seed=seed).fit(z, y.astype(np.int64), groups)
        return (lambda zt: probe.pvi(zt)[:, rows_spec].T), [probe.held_out.to_dict()]
    fitted = []
    rendered = [task.target_text(v) for v in y]
    for pos, _ in rows_spec:
        digits = np.array([int(r[pos]) if len(r) > pos and r[pos].isdigit() else -1 for r in rendered])
        keep = digits >= 0
        fitted.append(GroupedProbe(10, seed=seed).fit(z[keep], digits[keep], groups[keep]))

    def pvi(zt):
        return np.stack([p.pvi(zt)[:, int(ch)] for (_, ch), p in zip(rows_spec, fitted)])

    return pvi, [p.held_out.to_dict() for p in fitted]


def _rows(task: Any, loaded: Any, prompt: str, label: float | None) -> tuple[Any, list[str], float | None]:
    """``(rows_spec, row names, value)``: the classes, or the digits of the (given or predicted) value."""
    if task.kind == "classification":
        # a binary label's first row is determined by the second (log(1-q) - log(1-p)): show one
        classes = [len(task.labels) - 1] if len(task.labels) == 2 else list(range(len(task.labels)))
        return classes, [task.labels[c] for c in classes], None
    value = label if label is not None else _predicted_value(loaded, task, prompt)
    spec = digit_rows(task, value)
    return spec, [f"'{ch}' (char {i + 1} of {task.target_text(value)})" for i, ch in spec], value


def _text_states(loaded: Any, task: Any, text: str, layer: int) -> tuple[str, list[int], np.ndarray, np.ndarray]:
    """``(prompt, ids, mask (n,), z_text (T, d))``: the text's own tokens' states, one forward pass."""
    tok, maxlen = loaded.tokenizer, ck.max_length(loaded)
    example = make_example(task, text)
    prompt = task.prompt(example)
    mask = span_mask(tok, prompt, text_spans(task, example, prompt), maxlen)
    if not mask.any():
        raise UserError(f"text {text[:40]!r} tokenises to nothing inside the prompt; give a non-empty text")
    ids = prompt_ids(tok, [prompt], maxlen)[0]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    return prompt, ids, mask, forward_states(loaded.model, [ids], layer, pad)[0].numpy()[mask]


def generated_labels(loaded: Any, task: Any, states: HiddenStates) -> list[Any]:
    """The label each example's generated tokens parse to (None where they do not parse)."""
    out = []
    for ids, n in zip(states.iter_token_ids(), states.n_prompt()):
        value = task.parse(loaded.tokenizer.decode(list(ids[int(n):]), skip_special_tokens=True))
        out.append(value)
    return out


def _generated_view(loaded: Any, task: Any, states: HiddenStates, masks: list, prompt: str, z_text: np.ndarray,
                    seed: int) -> tuple[np.ndarray | None, str | None, dict | None]:
    """``(cells (1, T), generated label, probe result)`` for generative classification checkpoints."""
    if task.kind != "classification" or states.used != "prompt+generated":
        return None, None, None
    labels = generated_labels(loaded, task, states)
    if len({v for v in labels if v is not None}) < 2:
        return None, None, None   # one label (or none parsed) for every sentence: nothing to probe
    z, y, groups = token_label_pairs(states, masks, labels)
    yhat = task.parse(loaded.tokenizer.decode(ck.generated_ids(loaded, [prompt])[0], skip_special_tokens=True))
    if yhat is None:
        return None, None, None
    probe = GroupedProbe(len(task.labels), seed=seed).fit(z, y.astype(np.int64), groups)
    return probe.pvi(z_text)[:, int(yhat)][None, :], task.labels[int(yhat)], {**probe.held_out.to_dict(),
                                                                                "view": "generated label"}


@dataclass(frozen=True)
class HeatmapOptions:
    """What a heatmap reads besides its :class:`~mi_toolkit.measures.setting.Setting`: ``label`` (regression: the
    value whose digits form the rows; None: the model's prediction), ``attributions`` (captum
    LayerIntegratedGradients beside the cells, ``n_steps`` steps) and ``controls`` (the control task,
    :func:`control_task`, and the token probe's selectivity)."""

    label: float | None = None
    attributions: bool = True
    n_steps: int = 32
    controls: bool = False


def heatmap(setting: Setting, text: str, options: HeatmapOptions = HeatmapOptions()) -> HeatmapResult:
    """The token-label heatmap of ``text`` under the one model of ``setting`` at its one layer.

    The probes fit on the setting's one pool (:meth:`Setting.draw_pool`: ``n_fit`` examples of ``fit_split``
    that the LM was not trained on, with ``disjoint``), split by sentence. A heatmap reads no evaluation pool
    (the text is what it reads): ``setting.eval_split`` must be None. ``dataset`` None: the checkpoint's task.
    """
    if setting.eval_split is not None:
        raise UserError(f"a heatmap reads one pool, the probes' ({setting.fit_split!r}), and no evaluation pool; "
                        f"build its Setting with eval_split=None, not {setting.eval_split!r}")
    model = setting.only()
    if setting.dataset is None:  # the checkpoint's task names it (in the states' cache key too)
        setting = replace(setting, dataset=setting.task_.name)
    examples, pool, _, warnings = setting.draw_pool(split_flag="--split")  # before any weights load
    task = setting.task_
    loaded = ck.load_checkpoint(model)
    states = setting.states(examples, loaded, max_samples=setting.n_fit)
    tok, maxlen = loaded.tokenizer, ck.max_length(loaded)
    prompt, ids, mask, z_text = _text_states(loaded, task, text, setting.layer)
    masks = [span_mask(tok, p, text_spans(task, e, p), maxlen) for e, p in ((e, task.prompt(e)) for e in examples)]
    z_pairs, y_pairs, groups = token_label_pairs(states, masks, states.labels)
    rows_spec, row_names, value = _rows(task, loaded, prompt, options.label)
    pvi_fn, probe_results = _probes(task, z_pairs, y_pairs, groups, rows_spec, setting.seed)
    gen, gen_label, gen_probe = _generated_view(loaded, task, states, masks, prompt, z_text, setting.seed)
    ctrl = control_task(task, states, masks, z_pairs, y_pairs, groups, setting.seed) if options.controls else []
    attr, info = None, []
    if options.attributions:
        targets = (_class_targets(task, tok, rows_spec) if task.kind == "classification"
                   else _digit_targets(task, tok, value, rows_spec))
        attr, info = _attributions(loaded.model, tok, ids, mask, targets, tok.pad_token_id or 0, options.n_steps)
    meta = {"checkpoint": str(ck.checkpoint_path(loaded)), "method": ck.method_name(loaded), "dataset": task.name,
            "split": setting.fit_split, "max_samples": setting.n_fit, "layer": setting.layer,
            "n_pairs": int(len(y_pairs)), "n_examples": len(examples), "prompt": prompt, "seed": setting.seed,
            "fit_pool": pool, "warnings": warnings, "setting": setting.to_dict()}
    tokens = [tok.decode([i]) for i, m in zip(ids, mask) if m]
    return HeatmapResult(text, tokens, row_names, pvi_fn(z_text), attr, probe_results + ([gen_probe] if gen_probe else []),
                         meta, info, gen, gen_label, row_names, ctrl)


def _predicted_value(loaded: Any, task: Any, prompt: str) -> float:
    gen = ck.generated_ids(loaded, [prompt])[0]
    value = task.parse(loaded.tokenizer.decode(gen, skip_special_tokens=True))
    if value is None:
        raise UserError("the model's output for this text does not parse as a number; pass --label VALUE")
    return float(value)


def _class_targets(task: Any, tok: Any, classes: Sequence[int]) -> list[tuple[list[int], int]]:
    """Per shown class: no prefix, and the first token of its completion (e.g. " positive")."""
    return [([], tok(task.completion(c), add_special_tokens=False)["input_ids"][0]) for c in classes]


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
