"""Hidden-state extraction on a tiny random Llama: shapes, padding, resume, bad input."""
from __future__ import annotations


import numpy as np
import pytest

from mi_toolkit.states import extract as ex
from mi_toolkit.states.extract import ExtractConfig, HiddenStates, extract_texts
from predgen_common.errors import UserError

from fixtures import tiny_lm



def tokenizer():
    return tiny_lm()[1]


TEXTS = ["a funny movie", "the plot is pretty dull and far too long for its own good", "ok",
         "one of the best films of the year", "not good", "I laughed, I cried, I left happy", "meh"]


@pytest.fixture(scope="module")
def model():
    return tiny_lm()[0].eval()


def test_shapes_pooling_and_manifest(model, tmp_path):
    hs = extract_texts(model, tokenizer(), TEXTS, tmp_path / "s", labels=[1, 0, 1, 1, 0, 1, 0],
                       config=ExtractConfig(batch_size=3, shard_size=3), progress=False)
    lens = [len(tokenizer()(t)["input_ids"]) for t in TEXTS]
    assert len(hs) == 7 and hs.d == model.config.hidden_size and hs.used == "prompt"
    np.testing.assert_array_equal(hs.lengths(), lens)
    np.testing.assert_array_equal(hs.labels, [1, 0, 1, 1, 0, 1, 0])
    full = list(hs.iter_full())
    assert [z.shape for z in full] == [(n, hs.d) for n in lens]
    np.testing.assert_array_equal(hs.full(4), full[4])
    for kind, fn in (("first", lambda z: z[0]), ("mean", lambda z: z.mean(0)), ("last", lambda z: z[-1])):
        np.testing.assert_allclose(hs.pooled(kind), np.stack([fn(z) for z in full]), atol=1e-6)
    assert len(hs.manifest["shards"]) == 3
    ids = list(hs.iter_token_ids())
    assert ids[0].tolist() == tokenizer()(TEXTS[0])["input_ids"]


def test_states_do_not_depend_on_padding_or_batching(model, tmp_path):
    right = extract_texts(model, tokenizer(), TEXTS, tmp_path / "r", config=ExtractConfig(batch_size=7), progress=False)
    left = extract_texts(model, tokenizer(), TEXTS, tmp_path / "l",
                         config=ExtractConfig(batch_size=7, padding_side="left"), progress=False)
    alone = extract_texts(model, tokenizer(), TEXTS, tmp_path / "a", config=ExtractConfig(batch_size=1), progress=False)
    for r, l, a in zip(right.iter_full(), left.iter_full(), alone.iter_full()):
        np.testing.assert_allclose(r, a, atol=1e-5)
        np.testing.assert_allclose(l, a, atol=1e-5)
    # and they are the model's own states for an unpadded sequence
    import torch

    enc = tokenizer()(TEXTS[1], return_tensors="pt")
    with torch.no_grad():
        ref = model(**enc, output_hidden_states=True).hidden_states[-1][0].numpy()
    np.testing.assert_allclose(alone.full(1), ref, atol=1e-5)


def test_generated_tokens_follow_the_prompt(model, tmp_path):
    conts = [[11, 12], [13], [14, 15, 16], [17], [18], [19], [20]]
    hs = extract_texts(model, tokenizer(), TEXTS, tmp_path / "g", progress=False,
                       options=ex.TextsOptions(continuations=conts))
    assert hs.used == "prompt+generated"
    n_prompt = hs.n_prompt()
    np.testing.assert_array_equal(hs.lengths() - n_prompt, [len(c) for c in conts])
    plain = extract_texts(model, tokenizer(), TEXTS, tmp_path / "p", progress=False)
    # causal model: the prompt part of Z is unchanged, and pooled states cover the prompt only
    np.testing.assert_allclose(hs.full(2)[: n_prompt[2]], plain.full(2), atol=1e-5)
    np.testing.assert_allclose(hs.pooled("last"), plain.pooled("last"), atol=1e-5)
    assert list(hs.iter_token_ids())[2][-3:].tolist() == [14, 15, 16]


def test_resume_after_a_kill_recomputes_only_missing_shards(model, tmp_path, monkeypatch):
    cfg = ExtractConfig(batch_size=2, shard_size=2)
    real_write, calls = ex.write_shard, []

    def dying_write(out_dir, name, *args):
        if name == "shard-00002":
            raise KeyboardInterrupt
        real_write(out_dir, name, *args)

    monkeypatch.setattr(ex, "write_shard", dying_write)
    with pytest.raises(KeyboardInterrupt):
        extract_texts(model, tokenizer(), TEXTS, tmp_path / "k", config=cfg, progress=False)
    with pytest.raises(UserError, match="incomplete"):
        HiddenStates(tmp_path / "k")
    assert not list((tmp_path / "k").glob(".shard-00002*"))  # nothing half-written left

    def counting_write(out_dir, name, *args):
        calls.append(name)
        real_write(out_dir, name, *args)

    monkeypatch.setattr(ex, "write_shard", counting_write)
    hs = extract_texts(model, tokenizer(), TEXTS, tmp_path / "k", config=cfg, progress=False)
    assert calls == ["shard-00002", "shard-00003"]
    clean = extract_texts(model, tokenizer(), TEXTS, tmp_path / "c", config=cfg, progress=False)
    for a, b in zip(hs.iter_full(), clean.iter_full()):
        np.testing.assert_array_equal(a, b)
    calls.clear()
    extract_texts(model, tokenizer(), TEXTS, tmp_path / "k", config=cfg, progress=False)
    assert calls == []  # complete: served from disk


def test_changed_inputs_start_afresh(model, tmp_path):
    extract_texts(model, tokenizer(), TEXTS, tmp_path / "x", progress=False)
    hs = extract_texts(model, tokenizer(), TEXTS[:3], tmp_path / "x", progress=False)
    assert len(hs) == 3


def test_bad_input(model, tmp_path):
    with pytest.raises(UserError, match="layer 3 is out of range .* 2 layers"):
        extract_texts(model, tokenizer(), TEXTS, tmp_path / "b", config=ExtractConfig(layer=3), progress=False)
    with pytest.raises(UserError, match="tokenises to nothing"):
        extract_texts(model, tokenizer(), ["fine", ""], tmp_path / "e", progress=False)
    with pytest.raises(UserError, match="empty"):
        extract_texts(model, tokenizer(), [], tmp_path / "z", progress=False)
    hs = extract_texts(model, tokenizer(), TEXTS, tmp_path / "m", config=ExtractConfig(layer=-3), progress=False)
    assert hs.manifest["layer"] == -3  # -3 = the embeddings of a 2-layer model


def test_one_decoding_pass_gives_the_two_pass_tokens_and_states(model, tmp_path):
    """Generated tokens and their states from one KV-cached pass (left padding, per-row positions) agree
    with decoding first and then a second forward pass over prompt + tokens."""
    from predgen_core.methods.reading import decode_states, generate_ids, prompt_ids

    tok = tokenizer()
    rows = prompt_ids(tok, TEXTS)
    # an EOS id that one row writes early, so rows stop at different steps (ragged continuations)
    eos = decode_states(model, rows, [-1], tok.pad_token_id, 4, None)[1][0][1]
    real_eos, tok.eos_token_id = tok.eos_token_id, eos
    try:
        two = generate_ids(model, tok, TEXTS, 4, batch_size=3)
        two_hs = extract_texts(model, tok, TEXTS, tmp_path / "two", options=ex.TextsOptions(continuations=two),
                               config=ExtractConfig(batch_size=3, layers=(0, 1, -1)), progress=False)
    finally:
        tok.eos_token_id = real_eos
    one_hs = extract_texts(model, tok, TEXTS, tmp_path / "one", options=ex.TextsOptions(generate=ex.Generation(4, eos)),
                           config=ExtractConfig(batch_size=3, layers=(0, 1, -1)), progress=False)
    assert len({len(c) for c in two}) > 1  # the test covers rows that stop early
    assert [t.tolist() for t in one_hs.iter_token_ids()] == [r + c for r, c in zip(rows, two)]
    assert one_hs.used == "prompt+generated"
    np.testing.assert_array_equal(one_hs.n_prompt(), [len(r) for r in rows])
    for layer in (0, 1, -1):
        for a, b in zip(one_hs.at(layer).iter_full(), two_hs.at(layer).iter_full()):
            np.testing.assert_allclose(a, b, atol=1e-4)


def test_many_layers_from_one_pass_equal_each_layer_alone(model, tmp_path):
    multi = extract_texts(model, tokenizer(), TEXTS, tmp_path / "m", config=ExtractConfig(layers=(0, 1, 2)),
                          progress=False)
    pooled_only = extract_texts(model, tokenizer(), TEXTS, tmp_path / "p",
                                config=ExtractConfig(layers=(0, 1, 2), keep_tokens=False, sort_by_length=False),
                                progress=False)
    assert multi.layers == [0, 1, 2] and multi.layer == 0
    for layer in (0, 1, 2):
        alone = extract_texts(model, tokenizer(), TEXTS, tmp_path / f"a{layer}", config=ExtractConfig(layer=layer),
                              progress=False)
        for a, b in zip(multi.at(layer).iter_full(), alone.iter_full()):
            np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(pooled_only.at(layer).pooled("mean"), alone.pooled("mean"), atol=1e-5)
    np.testing.assert_array_equal(multi.at(-1).pooled("last"), multi.at(2).pooled("last"))  # -1 = the last layer
    with pytest.raises(UserError, match="pooled states only"):
        next(pooled_only.iter_full())
    with pytest.raises(UserError, match="layer 5 was not extracted"):
        multi.at(5)
