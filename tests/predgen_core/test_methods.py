"""Method modules on the tiny Llama: layouts, decoding, scheduled sampling, loss alignment."""
from __future__ import annotations

import pytest
import torch

from predgen_core.methods import METHODS
from predgen_core.methods.collate import PromptCollator, TargetCollator, position_ids
from predgen_core.methods.heads import PooledHead, pool_hidden
from predgen_core.methods.modules import GeneratorModule, PredGenModule, PredictorModule
from predgen_core.methods.sampling import GoldTargets, greedy_decode, mix_targets
from predgen_core.peft_methods import apply_peft


def _items(tok, prompts, targets=None, labels=None):
    items = []
    for i, p in enumerate(prompts):
        it = {"prompt_ids": tok(p)["input_ids"], "label": (labels or [0] * len(prompts))[i]}
        if targets is not None:
            it["target_ids"] = tok(targets[i], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        items.append(it)
    return items


PROMPTS = ["Review: a gorgeous, witty film\nSentiment:", "Review: dull\nSentiment:", "x"]
TARGETS = [" positive", " negative", " positive"]


def _gen_module(lm, tok, cls=GeneratorModule, kind="classification", head=None, **kw):
    return cls(lm, head, kind, eos_id=tok.eos_token_id, parse=lambda s: s,
               decode_text=lambda ids: tok.decode(ids, skip_special_tokens=True), **kw)


def test_registry_lists_three_methods():
    assert METHODS.list() == ["predictor", "generator", "predgen"]
    assert METHODS.get("predgen").generative and not METHODS.get("predictor").generative


def test_pool_hidden_handles_left_and_right_padding():
    h = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    assert pool_hidden(h, right, "last").squeeze(-1).tolist() == [2.0, 5.0]
    assert pool_hidden(h, right, "first").squeeze(-1).tolist() == [0.0, 4.0]
    assert pool_hidden(h, left, "last").squeeze(-1).tolist() == [3.0, 7.0]
    assert pool_hidden(h, left, "first").squeeze(-1).tolist() == [1.0, 6.0]
    assert pool_hidden(h, left, "mean").squeeze(-1).tolist() == [2.0, 6.5]
    with pytest.raises(ValueError):
        pool_hidden(h, torch.zeros(2, 4), "last")


def test_target_collator_layout(tiny):
    _, tok = tiny
    batch = TargetCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS, TARGETS, [1, 0, 1]))
    m = batch["target_ids"].shape[1]
    n = batch["input_ids"].shape[1] - m
    # every target starts at column n; the prompt sits flush left of it
    for i, it in enumerate(_items(tok, PROMPTS, TARGETS)):
        t = it["target_ids"]
        assert batch["input_ids"][i, n : n + len(t)].tolist() == t
        assert batch["input_ids"][i, n - len(it["prompt_ids"]) : n].tolist() == it["prompt_ids"]
        assert batch["attention_mask"][i].sum() == len(t) + len(it["prompt_ids"])
    assert batch["labels"].tolist() == [1, 0, 1]
    right = PromptCollator(tok.pad_token_id, "regression")([{"prompt_ids": [5, 6], "label": 2.5}, {"prompt_ids": [7], "label": 1}])
    assert right["attention_mask"].tolist() == [[1, 1], [1, 0]] and right["labels"].dtype == torch.float32


def test_greedy_decode_matches_generate_on_unpadded_prompts(tiny):
    lm, tok = tiny
    batch = TargetCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS))
    dec = greedy_decode(lm, batch["input_ids"], batch["attention_mask"], 5, eos_id=None, return_hidden=True)
    for i, p in enumerate(PROMPTS):
        ids = torch.tensor([tok(p)["input_ids"]])
        ref = lm.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=5, do_sample=False,
                          eos_token_id=None, pad_token_id=tok.pad_token_id)[0, ids.shape[1]:]
        assert dec.tokens[i].tolist() == ref.tolist()
        full = torch.cat([ids, ref[None]], 1)
        states = lm(full, output_hidden_states=True).hidden_states[-1][0, ids.shape[1]:]
        torch.testing.assert_close(dec.hidden[i], states, atol=1e-4, rtol=1e-4)


def test_scheduled_sampling_mixes_gold_and_own_tokens(tiny):
    lm, tok = tiny
    batch = TargetCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS, [" a b c d", " e", " f g"]))
    gold, gmask = batch["target_ids"], batch["target_mask"]
    m = gold.shape[1]
    n = batch["input_ids"].shape[1] - m
    prompt = (batch["input_ids"][:, :n], batch["attention_mask"][:, :n])
    none = greedy_decode(lm, *prompt, m, gold=GoldTargets(gold, gmask, torch.zeros_like(gmask)))
    assert torch.equal(none.tokens, gold)
    use = torch.tensor([[True, False, True, True, False], [False, True, True, True, True], [True] * 5])[:, :m]
    dec = greedy_decode(lm, *prompt, m, gold=GoldTargets(gold, gmask, use))
    mixed = mix_targets(batch["input_ids"], n, dec.tokens, gmask)
    logits = lm(mixed, attention_mask=batch["attention_mask"], position_ids=position_ids(batch["attention_mask"])).logits
    for b in range(3):
        for t in range(m):
            if not gmask[b, t]:
                continue
            if use[b, t]:  # the model's own greedy token given the mixed prefix
                assert dec.tokens[b, t] == logits[b, n + t - 1].argmax()
            else:
                assert dec.tokens[b, t] == gold[b, t]
    free = greedy_decode(lm, *prompt, m, eos_id=None)
    seq = greedy_decode(lm, *prompt, m, gold=GoldTargets(gold, gmask, torch.ones_like(gmask)))
    assert torch.equal(seq.tokens[gmask], free.tokens[gmask])  # sequence level, p=1: free-running


def test_writer_loss_matches_per_example_hf_loss(tiny):
    lm, tok = tiny
    items = _items(tok, PROMPTS, TARGETS)
    batch = TargetCollator(tok.pad_token_id, "classification")(items)
    module = _gen_module(lm, tok)
    got = module(batch["input_ids"], batch["attention_mask"], batch["target_ids"], batch["target_mask"])["writer"]
    total, count = 0.0, 0
    for it in items:
        ids = torch.tensor([it["prompt_ids"] + it["target_ids"]])
        labels = ids.clone()
        labels[0, : len(it["prompt_ids"])] = -100  # prompt masked
        k = len(it["target_ids"])
        total += lm(ids, labels=labels).loss.item() * k
        count += k
    assert got.item() == pytest.approx(total / count, rel=1e-4)


def test_predgen_p0_writer_equals_generator_and_components(tiny):
    lm, tok = tiny
    lm = apply_peft(lm, "lora", r=4)
    batch = TargetCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS, TARGETS, [1, 0, 1]))
    head = PooledHead(lm.config.hidden_size, 2)
    pg = _gen_module(lm, tok, PredGenModule, head=head).train()
    torch.manual_seed(0)
    parts = pg(**batch, sampling_p=0.0)
    head.eval(), lm.eval()
    ref = _gen_module(lm, tok)(batch["input_ids"], batch["attention_mask"], batch["target_ids"], batch["target_mask"])
    pg.eval()
    assert set(parts) == {"writer", "director", "sampled"} and parts["sampled"].item() == 0.0
    assert pg(**batch, sampling_p=0.0)["writer"].item() == pytest.approx(ref["writer"].item(), rel=1e-5)
    from predgen_core.methods.losses import wdal

    loss = wdal(parts["writer"], parts["director"])
    loss.backward()
    assert head.proj.weight.grad is not None and head.proj.weight.grad.abs().sum() > 0
    lora_grads = [p.grad for n, p in lm.named_parameters() if "lora_" in n]
    assert lora_grads and all(g is not None for g in lora_grads)
    assert all(p.grad is None for n, p in lm.named_parameters() if not p.requires_grad)
    assert pg(**batch, sampling_p=1.0)["sampled"].item() == 1.0


def test_predgen_regression_uses_ordered_penalty_and_numeric_adapter(tiny):
    lm, tok = tiny
    items = _items(tok, PROMPTS, [" 3.80", " 0.25", " 5.00"], [3.8, 0.25, 5.0])
    batch = TargetCollator(tok.pad_token_id, "regression")(items)
    head = PooledHead(lm.config.hidden_size, 1)
    head.set_target_stats(3.0, 2.0)
    pg = _gen_module(lm, tok, PredGenModule, kind="regression", head=head).eval()
    parts = pg(**batch, sampling_p=0.5)
    assert set(parts) == {"writer", "director", "adapter_mse", "sampled"}
    # L_D sums alpha_i * CE_i (alpha >= 1) over ~5 target tokens: larger than the mean CE L_W
    assert parts["director"].item() > parts["writer"].item()
    assert batch["labels"].dtype == torch.float32
    pred = pg.predict(TargetCollator(tok.pad_token_id, "regression")(_items(tok, PROMPTS)))
    assert len(pred.values) == 3 and all(isinstance(v, float) for v in pred.values)


def test_predictor_head_and_predict(tiny):
    lm, tok = tiny
    lm = apply_peft(lm, "lora", r=4)
    module = PredictorModule(lm, PooledHead(lm.config.hidden_size, 2), "classification")
    batch = PromptCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS, labels=[1, 0, 1]))
    loss = module(**batch)["head"]
    assert loss.requires_grad and torch.isfinite(loss)
    module.eval()
    assert all(v in (0, 1) for v in module.predict(batch).values)
    # right padding must not change a row's prediction: compare with the row alone
    alone = PromptCollator(tok.pad_token_id, "classification")(_items(tok, PROMPTS[1:2], labels=[0]))
    torch.testing.assert_close(module._head_out(alone["input_ids"], alone["attention_mask"])[0],
                               module._head_out(batch["input_ids"], batch["attention_mask"])[1], atol=1e-5, rtol=1e-5)


def test_head_gets_its_own_learning_rate(tiny):
    from transformers import TrainingArguments

    from predgen_core.methods.trainers import PredictorTrainer

    lm, tok = tiny
    lm = apply_peft(lm, "lora", r=2)
    module = PredictorModule(lm, PooledHead(lm.config.hidden_size, 2), "classification")
    args = TrainingArguments(output_dir="unused", learning_rate=1e-4, report_to=[], use_cpu=True)
    opt = PredictorTrainer(model=module, args=args, head_lr_scale=10.0).create_optimizer()
    head_ids = {id(p) for p in module.head.parameters()}
    lrs = {pg["lr"] for pg in opt.param_groups if any(id(p) in head_ids for p in pg["params"])}
    rest = {pg["lr"] for pg in opt.param_groups if not any(id(p) in head_ids for p in pg["params"])}
    assert len(lrs) == 1 and lrs.pop() == pytest.approx(1e-3) and rest == {1e-4}
    n_trainable = sum(p.requires_grad for p in module.parameters())
    assert sum(len(pg["params"]) for pg in opt.param_groups) == n_trainable
