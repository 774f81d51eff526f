"""Any model as --model: a transformers folder, a registered name, a hub id (offline: redirected to a
local folder, or failing), and the one-line errors for what is none of these."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.states import checkpoints as ck
from mi_toolkit.states.extract import ExtractOptions, extract, extract_texts
from predgen_common.errors import UserError

from fixtures import tiny_lm, write_sst2

HUB_ID = "someorg/tiny-llama-copy"
QUIET = ExtractOptions(progress=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A save_pretrained folder of the tiny Llama (model + tokenizer), and small SST-2 data."""
    root = tmp_path_factory.mktemp("plain")
    model, tok = tiny_lm()
    model.save_pretrained(root / "tiny")
    tok.save_pretrained(root / "tiny")
    write_sst2(root / "data", n=12)
    return root


def test_kinds_are_told_apart_without_loading_weights(folder, tmp_path):
    assert ck.describe(folder / "tiny").kind == "transformers-folder"
    assert ck.describe("tiny-llama").kind == "registered"
    assert ck.describe(HUB_ID).kind == "hub-id"
    info = ck.describe(folder / "tiny")
    assert info.method == "base" and info.task is None and not ck.generates(info)
    assert ck.task_for(info, "sst2").name == "sst2"
    with pytest.raises(UserError, match="not trained on a task; pass --dataset"):
        ck.task_for(info, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither a checkpoint .* nor a transformers model"):
        ck.describe(tmp_path / "empty")


def test_a_folder_reads_the_prompt_states_as_the_task_formats_them(folder):
    from predgen_core.tasks import TASKS

    data = str(folder / "data")
    hs = extract(folder / "tiny", "sst2", "train", data_dir=data, options=QUIET)
    task = TASKS.get("sst2")
    examples = task.load("train", data_dir=data)
    model, tok = tiny_lm()
    ref = extract_texts(model, tok, [task.prompt(e) for e in examples], folder / "ref", progress=False)
    assert hs.used == "prompt" and hs.manifest["meta"]["method"] == "base"
    for a, b in zip(hs.iter_full(), ref.iter_full()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(hs.labels, [e.label for e in examples])
    by_name = extract("tiny-llama", "sst2", "train", data_dir=data, options=QUIET)  # the registered name
    np.testing.assert_allclose(by_name.pooled("last"), hs.pooled("last"), atol=1e-5)


def test_a_hub_id_goes_through_the_hub_code_path(folder, monkeypatch):
    """Offline, the hub call is redirected to the local folder: the id reaches transformers' own loader."""
    import transformers

    asked = []
    for cls in (transformers.AutoConfig, transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        real = cls.from_pretrained.__func__

        def redirect(klass, name, *args, _real=real, **kwargs):
            asked.append(str(name))
            return _real(klass, str(folder / "tiny") if str(name) == HUB_ID else name, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(redirect))
    hs = extract(HUB_ID, "sst2", "validation", data_dir=str(folder / "data"), options=QUIET)
    assert asked.count(HUB_ID) >= 3 and hs.manifest["meta"]["checkpoint"] == HUB_ID  # config, model, tokenizer
    assert hs.manifest["meta"]["architecture"]["auto_class"] == "AutoModelForCausalLM"
    local = extract(folder / "tiny", "sst2", "validation", data_dir=str(folder / "data"), options=QUIET)
    np.testing.assert_allclose(hs.pooled("mean"), local.pooled("mean"), atol=1e-5)


def test_bad_models_and_layers_are_one_line_exit_2(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = CliRunner()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hi")
    data = str(folder / "data")
    cases = [
        (["--model", "nobody/no-such-model"], "hub is offline"),
        (["--model", str(tmp_path / "junk")], "neither a checkpoint"),
        (["--model", str(tmp_path / "missing" / "deeper")], "does not exist"),
        (["--model", "tiny-llama", "--layers", "0,9"], "layer 9 is out of range for a model with 2 layers"),
        (["--model", "tiny-llama", "--layers", "first"], "not 'all' or a comma-separated list"),
    ]
    for args, message in cases:
        out = runner.invoke(app, ["layer-sweep", *args, "--dataset", "sst2", "--data-dir", data,
                                  "--output", str(tmp_path / "x.html")])
        assert out.exit_code == 2, (args, out.output)
        assert message in out.output and len(out.output.strip().splitlines()) == 1, out.output


@pytest.mark.slow
def test_the_dpi_reports_within_model_part_reads_a_plain_model(folder):
    from mi_toolkit.measures.dpi import dpi_for
    from mi_toolkit.measures.setting import Setting

    setting = Setting.from_references([str(folder / "tiny")], "sst2", data_dir=str(folder / "data"), max_samples=12,
                                      progress=False)
    rep = dpi_for(setting)
    within = rep.to_dict()["within_model"]["base"]
    assert {"pooled:first", "pooled:mean", "pooled:last"} <= set(within)
    assert all(r["n_eval"] == 12 for r in within.values() if r.get("n_eval") is not None)
