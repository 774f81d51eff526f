"""Token-label heatmaps: text spans, digit rows, the end-to-end result and a self-contained page."""
from __future__ import annotations

import types

import numpy as np
import pytest

from mi_toolkit.measures.heatmap import (HeatmapOptions, _digit_targets, digit_rows, heatmap, make_example,
                                         span_mask, text_spans)
from mi_toolkit.measures.setting import Setting
from mi_toolkit.reports.heatmap import heatmap_html
from predgen_common.errors import UserError
from predgen_core.tasks import TASKS

from fixtures import tiny_lm, write_sst2


def _probes(loaded, data, n_fit=None, dataset="sst2"):
    """The heatmap's Setting: its probes' pool of ``n_fit`` train sentences, no evaluation pool."""
    return Setting([loaded], dataset, fit_split="train", eval_split=None, n_fit=n_fit, data_dir=str(data),
                   progress=False)


def _masked(task_name: str, text: str, max_length: int | None = None):
    """``(mask, kept text)``: the prompt tokens the heatmap reads for ``text``, and their decoding."""
    tok = tiny_lm()[1]
    task = TASKS.get(task_name)
    ex = make_example(task, text)
    prompt = task.prompt(ex)
    mask = span_mask(tok, prompt, text_spans(task, ex, prompt), max_length)
    return mask, tok.decode([i for i, m in zip(tok(prompt)["input_ids"], mask) if m])


def test_text_tokens_are_located_inside_the_prompt():
    mask, kept = _masked("sst2", "a funny and pretty film")
    assert kept.strip() == "a funny and pretty film"
    # left truncation (as extraction does) keeps the mask aligned with the kept tokens
    short, _ = _masked("sst2", "a funny and pretty film", 10)
    assert len(short) == 10 and short.sum() == mask[-10:].sum()


def test_bad_texts():
    task = TASKS.get("sst2")
    with pytest.raises(UserError, match="empty"):
        make_example(task, "  ")
    with pytest.raises(UserError, match=r"2 texts .* '\|\|\|'"):
        make_example(TASKS.get("stsb"), "only one sentence")
    ex = make_example(TASKS.get("stsb"), "a cat sits ||| a cat is sitting")
    assert ex.fields == {"sentence1": "a cat sits", "sentence2": "a cat is sitting"}


def test_regression_rows_are_the_digits_and_their_tokens():
    tok = tiny_lm()[1]
    task = TASKS.get("stsb")
    rows = digit_rows(task, 3.8)
    assert rows == [(0, "3"), (2, "8"), (3, "0")]
    targets = _digit_targets(task, tok, 3.8, rows)
    assert [tok.decode([t]).strip() for _, t in targets] == ["3", "8", "0"]
    assert [len(p) for p, _ in targets] == sorted(len(p) for p, _ in targets)  # growing prefixes


def test_heatmap_end_to_end_on_a_tiny_model(tmp_path):
    model, tok = tiny_lm()
    loaded = types.SimpleNamespace(path=tmp_path / "ckpt", model=model.eval(), tokenizer=tok, task=TASKS.get("sst2"),
                                   method="generator", manifest={}, pooling="last", generates=True,
                                   generate_targets=lambda prompts, batch_size=16: [[11, tok.eos_token_id]] * len(prompts))
    data = write_sst2(tmp_path / "data")
    res = heatmap(_probes(loaded, data, 80), "a funny film", HeatmapOptions(n_steps=8, controls=True))
    # the control task (a random label per token type) is read on the same pairs, with a paired interval
    (ctrl,) = res.controls
    assert ctrl["kind"] == "control task" and ctrl["n_pairs"] == res.meta["n_pairs"] and ctrl["n_sentences"] == 80
    assert ctrl["ci_low"] <= ctrl["selectivity"] <= ctrl["ci_high"] and "control" in ctrl["verdict"]
    assert abs(ctrl["selectivity"] - (ctrl["real"]["mi"] - ctrl["control"]["mi"])) < 1e-6
    # binary label: one row (the other is its complement), PVI cells from a sentence-grouped probe
    assert res.rows == ["positive"] and [t.strip() for t in res.tokens] == ["a", "funny", "film"]
    assert res.pvi.shape == (1, 3) and np.isfinite(res.pvi).all()
    assert res.attributions.shape == (1, 3) and len(res.attribution_info) == 1
    assert res.meta["n_examples"] == 80 and res.meta["n_pairs"] >= 80 * 3
    assert res.probes[0]["n_sentences"] == 80 and res.probes[0]["n_pairs"] == res.meta["n_pairs"]
    # "funny" only ever occurs in positive examples: its state points to positive
    funny = res.tokens.index(" funny")
    assert res.pvi[0, funny] > 0
    page = heatmap_html(res)
    assert "Plotly" in page and "<script src=" not in page and "funny" in page and "PVI" in page
    assert "Control task" in page and "selectivity" in page
    assert res.meta["setting"]["n_fit"] == 80 and res.meta["setting"]["eval_split"] is None
    with pytest.raises(UserError, match="stsb.*regression"):
        heatmap(_probes(loaded, data, dataset="stsb"), "a funny film")
    with pytest.raises(UserError, match="reads one pool.*eval_split=None"):
        heatmap(Setting([loaded], "sst2", data_dir=str(data)), "a funny film")


def test_multiple_choice_text_is_split_into_question_and_options():
    _, kept = _masked("piqa", "open a jar ||| twist the lid ||| hit it with a fish")
    assert "open a jar" in kept and "fish" in kept and "Solution" not in kept and "Goal" not in kept


def test_generated_label_view_on_a_tiny_generative_model(tmp_path, monkeypatch):
    import mi_toolkit.measures.heatmap as hm

    # the random tiny model decodes gibberish: let it "generate" each sentence's gold label
    monkeypatch.setattr(hm, "generated_labels", lambda loaded, task, states: [int(v) for v in states.labels])
    model, tok = tiny_lm()
    ids = {w: tok(f" {w}", add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for w in ("positive", "negative")}
    loaded = types.SimpleNamespace(path=tmp_path / "ckpt", model=model.eval(), tokenizer=tok, task=TASKS.get("sst2"),
                                   method="generator", manifest={}, pooling="last", generates=True,
                                   generate_targets=lambda prompts, batch_size=16: [
                                       ids["positive" if "funny" in p else "negative"] for p in prompts])
    data = write_sst2(tmp_path / "data", n=40)
    res = heatmap(_probes(loaded, data, 40), "a funny film", HeatmapOptions(attributions=False))
    assert res.generated_label == "positive" and res.generated.shape == (1, 3)
    assert res.probes[-1]["view"] == "generated label" and res.probes[-1]["n_sentences"] == 40
    assert res.generated[0, res.tokens.index(" funny")] > 0
    assert "generated" in heatmap_html(res)
