"""Any transformers architecture as --model: decoder-only, encoder and encoder-decoder folders (tiny random
models saved offline with the SmolLM2 tokenizer beside them) load through the auto class that fits, read
states independent of padding, record what was read, and refuse what cannot be read in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import ExtractOptions, extract, extract_texts
from predgen_common.errors import UserError
from predgen_core.models import load_base_model, model_identity

from fixtures import tiny_lm, write_sst2

SMALL = dict(max_position_embeddings=128)
QUIET = ExtractOptions(progress=False)


def _configs(vocab: int) -> dict:
    """name -> (model class, config): tiny (hidden 32, 2 layers), the tokenizer's vocabulary."""
    import transformers as t

    bert_like = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, **SMALL)
    t5 = dict(vocab_size=vocab, d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16)
    return {
        "gpt2": (t.GPT2LMHeadModel, t.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=128)),
        "qwen2": (t.Qwen2ForCausalLM, t.Qwen2Config(vocab_size=vocab, hidden_size=32, intermediate_size=64,
                                                   num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                                                   **SMALL)),
        "bert": (t.BertModel, t.BertConfig(**bert_like)),
        "distilbert": (t.DistilBertModel, t.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2,
                                                             hidden_dim=64, **SMALL)),
        "electra": (t.ElectraModel, t.ElectraConfig(embedding_size=32, **bert_like)),
        "deberta-v2": (t.DebertaV2Model, t.DebertaV2Config(**bert_like)),
        "modernbert": (t.ModernBertModel, t.ModernBertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                                                             num_attention_heads=2, intermediate_size=64,
                                                             pad_token_id=0, **SMALL)),
        "roberta": (t.RobertaModel, t.RobertaConfig(**{**bert_like, "max_position_embeddings": 130}, pad_token_id=0)),
        "t5": (t.T5ForConditionalGeneration, t.T5Config(**t5)),
        "t5-encoder": (t.T5EncoderModel, t.T5Config(**t5)),
        "bart": (t.BartForConditionalGeneration, t.BartConfig(
            vocab_size=vocab, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, **SMALL)),
    }


KINDS = {"gpt2": "decoder", "qwen2": "decoder", "bert": "encoder", "distilbert": "encoder", "electra": "encoder",
         "deberta-v2": "encoder", "modernbert": "encoder",
         "roberta": "encoder", "t5": "encoder-decoder", "t5-encoder": "encoder", "bart": "encoder-decoder"}
POOLING = {"decoder": "last", "encoder": "first", "encoder-decoder": "mean"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """One save_pretrained folder per architecture (seeded random weights + the SmolLM2 tokenizer), and data."""
    root = tmp_path_factory.mktemp("archs")
    tok = tiny_lm()[1]
    for name, (cls, config) in _configs(len(tok)).items():
        assert config.vocab_size == len(tok)
        torch.manual_seed(0)
        cls(config).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    write_sst2(root / "data", n=16)
    return root


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_architecture_loads_through_the_class_that_fits(root, name):
    info = ck.describe(root / name)
    arch = info.architecture
    assert arch["kind"] == KINDS[name] and info.kind == "transformers-folder"
    expected_pooling = "mean" if name == "t5-encoder" else POOLING[KINDS[name]]
    assert info.pooling == arch["pooling"] == expected_pooling
    model, tok = load_base_model(str(root / name))
    assert model.architecture["auto_class"] == ("T5EncoderModel" if name == "t5-encoder" else
                                                "AutoModelForCausalLM" if KINDS[name] == "decoder" else "AutoModel")
    assert tok.padding_side == ("left" if KINDS[name] == "decoder" else "right")
    hs = extract(root / name, "sst2", "validation", data_dir=str(root / "data"), options=QUIET)
    assert hs.manifest["meta"]["architecture"]["kind"] == KINDS[name]
    assert hs.manifest["meta"]["architecture"]["pooling"] == expected_pooling
    assert hs.pooled("first").shape == (16, 32) and np.isfinite(hs.pooled("mean")).all()


@pytest.mark.parametrize("name", ["bert", "distilbert", "deberta-v2", "modernbert", "t5", "bart", "t5:decoder",
                                  "bart:decoder"])
def test_states_do_not_depend_on_the_padding_side(root, name):
    """Left-padded rows give the states of right-padded ones (encoders use absolute positions)."""
    from predgen_core.methods.reading import forward_layers

    folder, _, stack = name.partition(":")
    model, tok = load_base_model(str(root / folder) + (f":{stack}" if stack else ""))
    rows = [tok("a funny film and more")["input_ids"], tok("dull")["input_ids"]]
    right = forward_layers(model, rows, [0, 1, -1], tok.pad_token_id, "right")
    left = forward_layers(model, rows, [0, 1, -1], tok.pad_token_id, "left")
    alone = forward_layers(model, rows[1:], [0, 1, -1], tok.pad_token_id, "right")
    for a, b in zip(right, left):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(right[1], alone[0], atol=1e-5, rtol=1e-4)
    assert right[0].shape == (3, len(rows[0]), 32)


def test_the_encoder_reads_the_model_s_own_states(root):
    """The wrapper changes nothing: BERT's own output_hidden_states, and T5's decoder after its start token."""
    import transformers

    model, tok = load_base_model(str(root / "bert"))
    ids = torch.tensor([tok("a funny film")["input_ids"]])
    own = transformers.BertModel.from_pretrained(root / "bert")(input_ids=ids, output_hidden_states=True)
    ours = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    torch.testing.assert_close(ours.hidden_states[-1], own.hidden_states[-1])
    t5 = transformers.T5Model.from_pretrained(root / "t5")
    dec, _ = load_base_model(str(root / "t5") + ":decoder")
    start = torch.zeros_like(ids[:, :1])
    own = t5(input_ids=ids, decoder_input_ids=torch.cat([start, ids], 1), output_hidden_states=True)
    got = dec(input_ids=ids, attention_mask=torch.ones_like(ids)).hidden_states
    torch.testing.assert_close(got[-1], own.decoder_hidden_states[-1][:, 1:])
    assert dec.config.num_hidden_layers == 2 and dec.architecture["stack"] == "decoder"


def test_the_stack_is_part_of_the_cache_key(root):
    data = str(root / "data")
    enc = extract(root / "t5", "sst2", "validation", data_dir=data, options=QUIET)
    dec = extract(f"{root / 't5'}:decoder", "sst2", "validation", data_dir=data, options=QUIET)
    assert enc.path != dec.path and dec.manifest["meta"]["architecture"]["stack"] == "decoder"
    assert not np.allclose(enc.pooled("mean"), dec.pooled("mean"))
    assert model_identity(str(root / "t5")) != model_identity(f"{root / 't5'}:decoder")
    assert ck.describe(f"{root / 't5'}:decoder").pooling == "last"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_layer_sweep_and_estimate_run_on_every_architecture(root, name, tmp_path):
    runner = CliRunner()
    data = str(root / "data")
    sweep = runner.invoke(app, ["layer-sweep", "--model", str(root / name), "--dataset", "sst2", "--data-dir", data,
                                "--max-samples", "16", "--output", str(tmp_path / "l.html"),
                                "--json", str(tmp_path / "l.json")])
    assert sweep.exit_code == 0, sweep.output
    result = json.loads((tmp_path / "l.json").read_text())
    assert result["layers"] == [0, 1, 2]
    assert result["pooling"] == ("mean" if name == "t5-encoder" else POOLING[KINDS[name]])  # the architecture's
    est = runner.invoke(app, ["estimate", "--model", str(root / name), "--dataset", "sst2", "--data-dir", data,
                              "--max-samples", "16", "--json", str(tmp_path / "e.json")])
    assert est.exit_code == 0, est.output
    assert json.loads((tmp_path / "e.json").read_text())


def _one_line_exit_2(args: list[str], message: str) -> None:
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 2, (args, out.output)
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.output


def test_bad_models_are_one_line_exit_2(root, tmp_path):
    data = str(root / "data")
    common = ["--dataset", "sst2", "--data-dir", data, "--max-samples", "10", "--output", str(tmp_path / "x.html")]
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "config.json").write_text(json.dumps({"model_type": "no-such-type", "hidden_size": 8}))
    vision = tmp_path / "vision"
    vision.mkdir()
    import transformers

    transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                           image_size=8, patch_size=4).save_pretrained(vision)
    tiny_lm()[1].save_pretrained(vision)
    no_tok = tmp_path / "no-tokenizer"
    no_tok.mkdir()
    (no_tok / "config.json").write_text((root / "bert" / "config.json").read_text())
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text((root / "bert" / "config.json").read_text())
    tiny_lm()[1].save_pretrained(no_weights)
    cases = [
        (no_weights, "holds a 'bert' encoder model that AutoModel could not read"),
        (unknown, "model_type 'no-such-type', which transformers"),
        (vision, "'vit' model (ViTModel), which reads no token ids"),
        (no_tok, "holds a 'bert' model but no tokenizer"),
        (f"{root / 'bert'}:decoder", "'bert' encoder model: it has no decoder stack"),
    ]
    for model, message in cases:
        _one_line_exit_2(["layer-sweep", "--model", str(model), *common], message)
    _one_line_exit_2(["layer-sweep", "--model", f"{root / 't5'}:decoder", "--layers", "0,5", *common],
                     "layer 5 is out of range for a model with 2 layers")


def test_an_encoder_has_no_generated_token_states(root):
    with pytest.raises(UserError, match="'bert' encoder model: it writes no tokens"):
        extract(root / "bert", "sst2", "validation", data_dir=str(root / "data"),
                options=ExtractOptions(generated=True, progress=False))
    with pytest.raises(UserError, match="out of range for the encoder of a 'distilbert' model with 2 layers"):
        extract(root / "distilbert", "sst2", "validation", 7, data_dir=str(root / "data"), options=QUIET)


def test_a_cut_encoder_row_keeps_its_leading_special_token():
    from predgen_core.methods.reading import prompt_ids_cut

    tok = tiny_lm()[1]
    text = tok.decode([1]) + " one two three four five six seven"
    kept, cut = prompt_ids_cut(tok, [text], 4, keep_first_special=True)
    plain, _ = prompt_ids_cut(tok, [text], 4)
    assert cut == 1 and kept[0][0] == 1 and len(kept[0]) == 4 and kept[0][1:] == plain[0][1:]
    assert plain[0][0] != 1
